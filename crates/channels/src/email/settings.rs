//! An email inbox's stored settings ([`EmailChannel`]) as SMTP and IMAP session settings.

use std::time::Duration;

use throughline_core::email::EmailChannel;

use crate::email::imap::ImapSettings;
use crate::email::send::{SmtpSettings, TlsMode};

/// Sessions an email inbox's settings describe.
pub trait EmailSessions {
    /// The relay an inbox sends through, when it has one.
    fn smtp_settings(&self, timeout: Duration) -> Option<SmtpSettings>;
    /// The mailbox an inbox fetches from, when it fetches by IMAP.
    fn imap_settings(&self, timeout: Duration) -> Option<ImapSettings>;
}

impl EmailSessions for EmailChannel {
    fn smtp_settings(&self, timeout: Duration) -> Option<SmtpSettings> {
        let c = &self.smtp;
        let host = c.address.clone()?;
        let tls = if c.enable_ssl_tls {
            TlsMode::Tls
        } else if c.enable_starttls_auto {
            TlsMode::StartTls
        } else {
            TlsMode::None
        };
        let default_port = match tls {
            TlsMode::Tls => 465,
            _ => 587,
        };
        let mut s = SmtpSettings::new(
            host,
            c.port
                .and_then(|p| u16::try_from(p).ok())
                .unwrap_or(default_port),
        );
        s.tls = tls;
        s.username = c.login.clone();
        s.password = c.password.clone();
        s.timeout = timeout;
        s.helo_name = c.domain.clone();
        Some(s)
    }

    fn imap_settings(&self, timeout: Duration) -> Option<ImapSettings> {
        let c = &self.imap;
        Some(ImapSettings {
            host: c.address.clone()?,
            port: c
                .port
                .and_then(|p| u16::try_from(p).ok())
                .unwrap_or(if c.enable_ssl { 993 } else { 143 }),
            tls: c.enable_ssl,
            username: c.login.clone()?,
            password: c.password.clone()?,
            mailbox: "INBOX".into(),
            timeout,
        })
    }
}
