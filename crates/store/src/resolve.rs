//! Identity resolution: the contact an arriving sender belongs to.
//!
//! The rules live in `throughline_core::linking`; this module gathers the candidates (contacts
//! that share an address with the sender, by proven identity addresses or verified contact
//! fields), applies the decision, and records merge suggestions for agents.

use serde_json::{Value, json};
use throughline_core::identity::AddressKind;
use throughline_core::linking::{self, Candidate, Decision, Evidence, Reason, Sender};
use throughline_core::model::{ChannelType, Contact, Identity, Inbox};

use crate::contacts::{self, ContactChanges, NewContact, NewIdentity};
use crate::db::Tx;
use crate::error::Result;
use crate::rows::RowExt;
use crate::scope::AccountScope;
use crate::{Conn, suggestions};

/// Contact fields a visitor typed without proof; they are shown and usable for replies but
/// never link another sender to this contact.
pub const UNVERIFIED_FIELDS: &str = "unverified_fields";

/// A sender arriving through an inbox.
#[derive(Clone, Debug)]
pub struct Arriving<'a> {
    pub inbox: &'a Inbox,
    /// The provider's id; a random one is made when absent.
    pub source_id: Option<String>,
    pub name: Option<String>,
    /// Normalised.
    pub email: Option<String>,
    /// E.164: a number that parsed, which may link the sender to a contact.
    pub phone: Option<String>,
    /// A number Chatwoot's rule accepts but that does not parse
    /// (`throughline_core::identity::ContactPhone::AsGiven`, a bridge's `+123456`): stored on
    /// a new contact (or one without a phone) as given, never compared with anyone's address
    /// and never an identity's address. Ignored when `phone` is given.
    pub phone_as_given: Option<String>,
    /// The business's own id for the person.
    pub external_id: Option<String>,
    pub evidence: Evidence,
    pub hmac_verified: bool,
    pub custom_attributes: Option<Value>,
    pub avatar_url: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Resolved {
    pub contact: Contact,
    pub identity: Identity,
}

/// Finds or creates the contact and identity for `arriving`.
pub async fn sender(tx: &mut Tx, scope: &AccountScope, arriving: Arriving<'_>) -> Result<Resolved> {
    let known = match &arriving.source_id {
        Some(source) => {
            match contacts::identity_by_source(tx.conn(), scope, arriving.inbox.id, source).await {
                Ok(identity) => Some(identity),
                Err(crate::StoreError::NotFound) => None,
                Err(e) => return Err(e),
            }
        }
        None => None,
    };
    if let Some(identity) = known {
        let contact = contacts::get(tx.conn(), scope, identity.contact_id).await?;
        return Ok(Resolved { contact, identity });
    }
    let mut addresses = Vec::new();
    if let Some(e) = &arriving.email {
        addresses.push((AddressKind::Email, e.clone()));
    }
    if let Some(p) = &arriving.phone {
        addresses.push((AddressKind::Phone, p.clone()));
    }
    let proven = arriving.evidence == Evidence::Proven;
    let found = lookup(tx.conn(), scope, &arriving).await?;
    let decision = linking::decide(
        &Sender {
            addresses,
            external_id: arriving.external_id.clone(),
            evidence: arriving.evidence,
        },
        &found.candidates,
    );
    let contact = match decision {
        Decision::Link { contact_id, .. } => {
            let contact = contacts::get(tx.conn(), scope, contact_id).await?;
            fill_blanks(tx, scope, contact, &arriving, &found.taken).await?
        }
        Decision::New { suggestions: list } => {
            let contact = create_contact(tx, scope, &arriving, &found.taken).await?;
            for (candidate, reason) in list {
                suggestions::suggest(tx, scope, contact.id, candidate, reason, None).await?;
            }
            suggest_similar(tx, scope, &contact).await?;
            contact
        }
    };
    // The identity's address is the channel's own id when it has one (email inbox: the
    // email), else the most specific address the sender proved.
    let kind = arriving.inbox.channel_type.address_kind();
    let address = match kind {
        AddressKind::Email => arriving.email.clone().map(|e| (kind, e)),
        AddressKind::Phone | AddressKind::WhatsApp => arriving.phone.clone().map(|p| (kind, p)),
        _ => None,
    }
    .or_else(|| arriving.phone.clone().map(|p| (AddressKind::Phone, p)))
    .or_else(|| arriving.email.clone().map(|e| (AddressKind::Email, e)));
    let identity = contacts::create_identity(
        tx,
        scope,
        NewIdentity {
            contact_id: contact.id,
            inbox: arriving.inbox,
            source_id: arriving.source_id.clone(),
            address_proven: proven && address.is_some(),
            address,
            hmac_verified: arriving.hmac_verified,
        },
    )
    .await?;
    Ok(Resolved { contact, identity })
}

/// What the account already knows about the sender's addresses.
struct Lookup {
    /// Contacts that share an address through a proven identity or a verified contact field.
    candidates: Vec<Candidate>,
    /// Contact columns (`email`, `phone_number`, `identifier`) where some contact already holds
    /// the sender's value: unique columns, so the sender cannot take them.
    taken: Vec<&'static str>,
}

/// Contacts of the account that share the sender's email, phone or external id, through a
/// proven identity or a contact field nobody flagged as unverified.
async fn lookup(conn: &mut Conn, scope: &AccountScope, arriving: &Arriving<'_>) -> Result<Lookup> {
    let mut found = Lookup {
        candidates: Vec::new(),
        taken: Vec::new(),
    };
    let mut add = |contact_id: i64, kind: AddressKind, external_id: Option<String>| match found
        .candidates
        .iter_mut()
        .find(|c| c.contact_id == contact_id)
    {
        Some(c) => {
            if !c.shared.contains(&kind) {
                c.shared.push(kind);
            }
        }
        None => found.candidates.push(Candidate {
            contact_id,
            shared: vec![kind],
            external_id,
        }),
    };
    let mut taken = Vec::new();
    let fields = [
        ("email", AddressKind::Email, arriving.email.as_deref()),
        (
            "phone_number",
            AddressKind::Phone,
            arriving.phone.as_deref(),
        ),
        (
            "identifier",
            AddressKind::External,
            arriving.external_id.as_deref(),
        ),
    ];
    for (column, kind, value) in fields {
        let Some(value) = value else { continue };
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT id, identifier, additional_attributes FROM contacts \
             WHERE account_id = $1 AND {column} = $2"
        )))
        .bind(scope.account_id())
        .bind(value)
        .fetch_all(&mut *conn)
        .await?;
        if !rows.is_empty() {
            taken.push(column);
        }
        for row in rows {
            let attrs: Value = row.json("additional_attributes")?;
            if !unverified_fields(&attrs).contains(&column) {
                add(row.int("id")?, kind, row.opt_text("identifier")?);
            }
        }
        // Identities carry emails and phones (WhatsApp ids are phones too), never CRM ids.
        let (first_kind, second_kind) = match kind {
            AddressKind::Email => ("email", "email"),
            AddressKind::Phone => ("phone", "whatsapp"),
            _ => continue,
        };
        let rows = sqlx::query(
            "SELECT ci.contact_id, c.identifier FROM contact_inboxes ci \
             JOIN contacts c ON c.id = ci.contact_id \
             WHERE ci.account_id = $1 AND ci.address_kind IN ($2, $3) AND ci.address = $4 \
               AND ci.address_proven = $5",
        )
        .bind(scope.account_id())
        .bind(first_kind)
        .bind(second_kind)
        .bind(value)
        .bind(true)
        .fetch_all(&mut *conn)
        .await?;
        for row in rows {
            add(row.int("contact_id")?, kind, row.opt_text("identifier")?);
        }
        // A From header proves nothing, but a contact known only as an email sender has no
        // session anywhere: replies to it reach that mailbox alone. A sender whose email the
        // business itself vouches for (HMAC, API token) may therefore join it. Never a contact
        // that also holds an unproven chat identity — someone's browser could read its
        // conversations.
        if kind == AddressKind::Email && arriving.evidence == Evidence::Proven {
            let rows = sqlx::query(
                "SELECT ci.contact_id, c.identifier FROM contact_inboxes ci \
                 JOIN contacts c ON c.id = ci.contact_id \
                 JOIN inboxes i ON i.id = ci.inbox_id \
                 WHERE ci.account_id = $1 AND ci.address_kind = 'email' AND ci.address = $2 \
                   AND i.channel_type = $3 \
                   AND NOT EXISTS (SELECT 1 FROM contact_inboxes o \
                     JOIN inboxes oi ON oi.id = o.inbox_id \
                     WHERE o.contact_id = ci.contact_id AND oi.channel_type <> $3 \
                       AND o.address_proven = $4)",
            )
            .bind(scope.account_id())
            .bind(value)
            .bind(ChannelType::Email.as_str())
            .bind(false)
            .fetch_all(&mut *conn)
            .await?;
            for row in rows {
                add(row.int("contact_id")?, kind, row.opt_text("identifier")?);
            }
        }
    }
    // A number kept as given is never compared for linking; whether another contact already
    // holds it only decides that the unique column cannot take it.
    if arriving.phone.is_none()
        && let Some(as_given) = &arriving.phone_as_given
    {
        let holder: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM contacts WHERE account_id = $1 AND phone_number = $2 LIMIT 1",
        )
        .bind(scope.account_id())
        .bind(as_given)
        .fetch_optional(&mut *conn)
        .await?;
        if holder.is_some() {
            taken.push("phone_number");
        }
    }
    found.taken = taken;
    Ok(found)
}

/// The contact columns listed as typed without proof in a contact's additional attributes.
fn unverified_fields(additional_attributes: &Value) -> Vec<&str> {
    additional_attributes
        .get(UNVERIFIED_FIELDS)
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Keeps `unverified_fields` true after contact columns changed: a column someone set without
/// proof (`unproven`) is listed, one set with proof or cleared is not.
pub(crate) fn reflag(additional_attributes: &mut Value, changed: &[(&str, bool)], unproven: bool) {
    let before: Vec<String> = unverified_fields(additional_attributes)
        .into_iter()
        .map(str::to_owned)
        .collect();
    let mut after = before.clone();
    for (column, now_set) in changed {
        after.retain(|f| f != column);
        if unproven && *now_set {
            after.push((*column).to_owned());
        }
    }
    if after == before {
        return;
    }
    if let Value::Object(map) = additional_attributes {
        if after.is_empty() {
            map.remove(UNVERIFIED_FIELDS);
        } else {
            map.insert(UNVERIFIED_FIELDS.into(), json!(after));
        }
    }
}

/// Suggests contacts with the same name whose email differs only by dots or a `+tag`.
async fn suggest_similar(tx: &mut Tx, scope: &AccountScope, contact: &Contact) -> Result<()> {
    let (Some(email), false) = (&contact.email, contact.name.trim().is_empty()) else {
        return Ok(());
    };
    let rows = sqlx::query(
        "SELECT id, email FROM contacts WHERE account_id = $1 AND id <> $2 \
           AND LOWER(name) = LOWER($3) AND email IS NOT NULL LIMIT 20",
    )
    .bind(scope.account_id())
    .bind(contact.id)
    .bind(contact.name.trim())
    .fetch_all(tx.conn())
    .await?;
    let mut similar = Vec::new();
    for row in rows {
        if linking::similar_emails(email, &row.text("email")?) {
            similar.push(row.int("id")?);
        }
    }
    for other in similar {
        suggestions::suggest(tx, scope, contact.id, other, Reason::SimilarEmail, None).await?;
    }
    Ok(())
}

/// A new contact for the sender. Addresses that another contact already holds stay in
/// `claimed_*` attributes (the unique columns keep one owner per address); addresses nobody
/// proved are flagged so they never link anyone.
async fn create_contact(
    tx: &mut Tx,
    scope: &AccountScope,
    arriving: &Arriving<'_>,
    taken: &[&str],
) -> Result<Contact> {
    let mut additional = serde_json::Map::new();
    let mut unverified = Vec::new();
    let mut keep = |field: &str, value: &Option<String>| -> Option<String> {
        let value = value.clone()?;
        if taken.contains(&field) {
            additional.insert(format!("claimed_{field}"), json!(value));
            return None;
        }
        if arriving.evidence != Evidence::Proven {
            unverified.push(json!(field));
        }
        Some(value)
    };
    let email = keep("email", &arriving.email);
    let phone_number = keep("phone_number", &stored_phone(arriving));
    let identifier = keep("identifier", &arriving.external_id);
    if !unverified.is_empty() {
        additional.insert(UNVERIFIED_FIELDS.into(), Value::Array(unverified));
    }
    contacts::create(
        tx,
        scope,
        NewContact {
            name: arriving.name.clone().unwrap_or_default(),
            email,
            phone_number,
            identifier,
            avatar_url: arriving.avatar_url.clone(),
            blocked: false,
            custom_attributes: arriving
                .custom_attributes
                .clone()
                .unwrap_or_else(|| json!({})),
            additional_attributes: Value::Object(additional),
        },
    )
    .await
}

/// A linked contact takes the sender's proven addresses and name where it has none.
async fn fill_blanks(
    tx: &mut Tx,
    scope: &AccountScope,
    contact: Contact,
    arriving: &Arriving<'_>,
    taken: &[&str],
) -> Result<Contact> {
    let mut changes = ContactChanges::default();
    if contact.email.is_none()
        && !taken.contains(&"email")
        && let Some(e) = &arriving.email
    {
        changes.email = Some(Some(e.clone()));
    }
    if contact.phone_number.is_none()
        && !taken.contains(&"phone_number")
        && let Some(p) = stored_phone(arriving)
    {
        changes.phone_number = Some(Some(p));
    }
    if contact.name.is_empty()
        && let Some(n) = &arriving.name
    {
        changes.name = Some(n.clone());
    }
    if changes.email.is_none() && changes.phone_number.is_none() && changes.name.is_none() {
        return Ok(contact);
    }
    contacts::update(tx, scope, contact.id, changes).await
}

/// The number a contact created or completed from `arriving` holds: the parsed one, else the
/// one kept as given.
fn stored_phone(arriving: &Arriving<'_>) -> Option<String> {
    arriving
        .phone
        .clone()
        .or_else(|| arriving.phone_as_given.clone())
}
