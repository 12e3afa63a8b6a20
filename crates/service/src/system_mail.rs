//! System mail: what Throughline itself sends its users (invitations, password resets), through
//! the instance's SMTP relay (the `smtp_*` settings), not through any inbox. Without a relay
//! nothing is sent and callers say so (the invitation link is shown to the administrator).

use throughline_channels::email::Mailbox;
use throughline_channels::email::compose::{OutgoingEmail, compose};
use throughline_channels::email::send::{SmtpSettings, send_raw};
use throughline_core::system_mail::Letter;

/// The instance's relay and the address its mail comes from.
#[derive(Clone, Debug)]
pub struct SystemMail {
    pub smtp: SmtpSettings,
    pub from: Mailbox,
}

#[derive(Debug, thiserror::Error)]
pub enum SystemMailError {
    #[error("the message could not be written: {0}")]
    Compose(String),
    #[error("the mail server refused or could not be reached: {0}")]
    Send(String),
}

impl SystemMail {
    /// Sends one letter to one person, waiting for the relay's answer.
    pub async fn send(&self, to: Mailbox, letter: &Letter) -> Result<(), SystemMailError> {
        let domain = self
            .from
            .address
            .rsplit_once('@')
            .map_or("throughline.invalid", |(_, d)| d);
        let email = OutgoingEmail {
            from: self.from.clone(),
            to: vec![to.clone()],
            subject: letter.subject.clone(),
            message_id: format!("<{}@{domain}>", throughline_core::crypto::random_token(24)),
            text_body: letter.text.clone(),
            ..Default::default()
        };
        let raw = compose(&email).map_err(|e| SystemMailError::Compose(e.to_string()))?;
        send_raw(&self.smtp, &self.from.address, &[to.address], &raw)
            .await
            .map_err(|e| SystemMailError::Send(e.to_string()))?;
        Ok(())
    }
}
