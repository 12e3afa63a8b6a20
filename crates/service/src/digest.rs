//! The notification digest: an agent who has not read their notifications for a while gets one
//! email listing them, in their language, through the system mail — at most one per
//! [`Digest::interval_ms`], only for the kinds they chose (Chatwoot's email flags), never for what
//! they already read in the app, never to a deactivated agent.
//!
//! Each agent's lines are claimed (marked mailed) before the mail goes out, in one transaction
//! with their digest time, so two processes never mail the same notification; a mail the relay
//! refuses gives its lines back for the next pass.

use throughline_channels::email::Mailbox;
use throughline_core::notification::{flags, plain_excerpt};
use throughline_core::system_mail::{DigestLine, digest};
use throughline_store::{Store, StoreError, accounts, notification_settings, notifications};

use crate::system_mail::SystemMail;

/// When and how much the digest mails.
#[derive(Clone, Debug)]
pub struct Digest {
    pub mail: SystemMail,
    /// The app's address, for the link in the letter.
    pub public_url: String,
    /// A notification waits this long unread (ms) before it is mailed: an agent at work reads it
    /// in the app first.
    pub grace_ms: i64,
    /// One digest per agent per this many ms.
    pub interval_ms: i64,
}

/// Lines one letter lists; the rest wait for the next digest.
const MAX_LINES: i64 = 20;
/// Agents one pass mails.
const PER_PASS: i64 = 50;

/// What a pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    pub sent: usize,
    pub failed: usize,
}

/// Mails every agent whose digest is due at `now`.
pub async fn run_once(store: &Store, d: &Digest, now: i64) -> Result<Pass, StoreError> {
    let cutoff = now - d.grace_ms;
    let due = {
        let mut conn = store.read().await?;
        notification_settings::digest_due(&mut conn, cutoff, now - d.interval_ms, PER_PASS).await?
    };
    let mut pass = Pass::default();
    for (account_id, user_id) in due {
        match one(store, d, account_id, user_id, cutoff, now).await? {
            Some(true) => pass.sent += 1,
            Some(false) => pass.failed += 1,
            None => {}
        }
    }
    Ok(pass)
}

/// `Some(sent)` when a letter was due, `None` when nothing the agent chose was left to mail.
async fn one(
    store: &Store,
    d: &Digest,
    account_id: i64,
    user_id: i64,
    cutoff: i64,
    now: i64,
) -> Result<Option<bool>, StoreError> {
    let mut tx = store.begin().await?;
    let settings = notification_settings::get(tx.conn(), account_id, user_id).await?;
    let pending =
        notifications::undigested(tx.conn(), account_id, user_id, cutoff, MAX_LINES).await?;
    let ids: Vec<i64> = pending.iter().map(|n| n.id).collect();
    let wanted: Vec<DigestLine> = pending
        .iter()
        .filter(|n| settings.email_flags.contains(&flags::email(n.kind)))
        .map(|n| DigestLine {
            kind: n.kind,
            display_id: n.conversation.display_id,
            excerpt: n
                .message
                .as_ref()
                .and_then(|m| m.content.as_deref())
                .map(|c| plain_excerpt(c, 15))
                .unwrap_or_default(),
        })
        .collect();
    // Lines of kinds the agent did not choose are passed over for good, like mailed ones.
    notifications::set_emailed(tx.conn(), &ids, Some(now)).await?;
    if wanted.is_empty() {
        tx.commit().await?;
        return Ok(None);
    }
    notification_settings::digest_sent(tx.conn(), account_id, user_id, Some(now)).await?;
    let user = accounts::get_user_unscoped(tx.conn(), user_id).await?;
    let account = accounts::get_account(tx.conn(), account_id).await?;
    tx.commit().await?;

    let locale = user.locale.as_deref().unwrap_or(&account.locale);
    let link = format!(
        "{}/app/accounts/{account_id}/conversations",
        d.public_url.trim_end_matches('/')
    );
    let letter = digest(
        Some(locale),
        user.available_name(),
        &account.name,
        &wanted,
        &link,
    );
    let to = Mailbox {
        address: user.email.clone(),
        name: Some(user.available_name().to_owned()),
    };
    match d.mail.send(to, &letter).await {
        Ok(()) => Ok(Some(true)),
        Err(e) => {
            tracing::warn!(error = %e, account_id, user_id, "the notification digest was not sent");
            let mut tx = store.begin().await?;
            notifications::set_emailed(tx.conn(), &ids, None).await?;
            notification_settings::digest_sent(
                tx.conn(),
                account_id,
                user_id,
                settings.last_digest_at,
            )
            .await?;
            tx.commit().await?;
            Ok(Some(false))
        }
    }
}
