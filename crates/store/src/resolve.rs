//! Identity resolution: the contact an arriving sender belongs to.
//!
//! The rules live in `throughline_core::linking`; this module gathers the candidates (contacts
//! that share an address with the sender, by proven identity addresses or verified contact
//! fields), applies the decision, and records merge suggestions for agents.

use serde_json::{Value, json};
use throughline_core::identity::AddressKind;
use throughline_core::linking::{self, Candidate, Decision, Evidence, Reason, Sender};
use throughline_core::model::{Contact, Identity, Inbox};

use crate::contacts::{self, ContactChanges, ContactKey, NewContact, NewIdentity};
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
    /// E.164.
    pub phone: Option<String>,
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
    /// Why the sender was linked to an existing contact, when it was.
    pub linked: Option<Reason>,
    /// An identity that already existed for (inbox, source_id).
    pub existing: bool,
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
        return Ok(Resolved {
            contact,
            identity,
            linked: None,
            existing: true,
        });
    }
    let mut addresses = Vec::new();
    if let Some(e) = &arriving.email {
        addresses.push((AddressKind::Email, e.clone()));
    }
    if let Some(p) = &arriving.phone {
        addresses.push((AddressKind::Phone, p.clone()));
    }
    let proven = arriving.evidence == Evidence::Proven;
    let candidates = candidates(tx.conn(), scope, &arriving).await?;
    let decision = linking::decide(
        &Sender {
            addresses,
            external_id: arriving.external_id.clone(),
            evidence: arriving.evidence,
        },
        &candidates,
    );
    let (contact, linked) = match decision {
        Decision::Link { contact_id, reason } => {
            let contact = contacts::get(tx.conn(), scope, contact_id).await?;
            (
                fill_blanks(tx, scope, contact, &arriving).await?,
                Some(reason),
            )
        }
        Decision::New { suggestions: list } => {
            let contact = create_contact(tx, scope, &arriving).await?;
            for (candidate, reason) in list {
                suggestions::suggest(tx, scope, contact.id, candidate, reason, None).await?;
            }
            (contact, None)
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
    Ok(Resolved {
        contact,
        identity,
        linked,
        existing: false,
    })
}

/// Contacts of the account that share the sender's email, phone or external id, through a
/// proven identity or a contact field nobody flagged as unverified.
async fn candidates(
    conn: &mut Conn,
    scope: &AccountScope,
    arriving: &Arriving<'_>,
) -> Result<Vec<Candidate>> {
    let mut found: Vec<Candidate> = Vec::new();
    let mut add = |contact_id: i64, kind: AddressKind, external_id: Option<String>| match found
        .iter_mut()
        .find(|c| c.contact_id == contact_id)
    {
        Some(c) => {
            if !c.shared.contains(&kind) {
                c.shared.push(kind);
            }
        }
        None => found.push(Candidate {
            contact_id,
            shared: vec![kind],
            external_id,
        }),
    };
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
        for row in rows {
            let attrs: Value = row.json("additional_attributes")?;
            let unverified = attrs
                .get(UNVERIFIED_FIELDS)
                .and_then(Value::as_array)
                .is_some_and(|l| l.iter().any(|f| f.as_str() == Some(column)));
            if !unverified {
                add(row.int("id")?, kind, row.opt_text("identifier")?);
            }
        }
        if kind == AddressKind::External {
            continue;
        }
        let kinds: &[&str] = match kind {
            AddressKind::Email => &["email"],
            _ => &["phone", "whatsapp"],
        };
        for k in kinds {
            let rows = sqlx::query(
                "SELECT ci.contact_id, c.identifier FROM contact_inboxes ci \
                 JOIN contacts c ON c.id = ci.contact_id \
                 WHERE ci.account_id = $1 AND ci.address_kind = $2 AND ci.address = $3 \
                   AND ci.address_proven = $4",
            )
            .bind(scope.account_id())
            .bind(*k)
            .bind(value)
            .bind(true)
            .fetch_all(&mut *conn)
            .await?;
            for row in rows {
                add(row.int("contact_id")?, kind, row.opt_text("identifier")?);
            }
        }
    }
    Ok(found)
}

/// A new contact for the sender. Addresses that another contact already holds stay in
/// `claimed_*` attributes (the unique columns keep one owner per address); addresses nobody
/// proved are flagged so they never link anyone.
async fn create_contact(
    tx: &mut Tx,
    scope: &AccountScope,
    arriving: &Arriving<'_>,
) -> Result<Contact> {
    let mut additional = serde_json::Map::new();
    let mut unverified = Vec::new();
    let mut keep = |field: &str, value: &Option<String>, taken: bool| -> Option<String> {
        let value = value.clone()?;
        if taken {
            additional.insert(format!("claimed_{field}"), json!(value));
            return None;
        }
        if arriving.evidence != Evidence::Proven {
            unverified.push(json!(field));
        }
        Some(value)
    };
    let email = keep(
        "email",
        &arriving.email,
        is_taken(tx, scope, arriving.email.as_deref().map(ContactKey::Email)).await?,
    );
    let phone_number = keep(
        "phone_number",
        &arriving.phone,
        is_taken(tx, scope, arriving.phone.as_deref().map(ContactKey::Phone)).await?,
    );
    let identifier = keep(
        "identifier",
        &arriving.external_id,
        is_taken(
            tx,
            scope,
            arriving.external_id.as_deref().map(ContactKey::Identifier),
        )
        .await?,
    );
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

/// Whether another contact of the account already holds this unique address.
async fn is_taken(tx: &mut Tx, scope: &AccountScope, key: Option<ContactKey<'_>>) -> Result<bool> {
    match key {
        Some(key) => Ok(contacts::find_by(tx.conn(), scope, key).await?.is_some()),
        None => Ok(false),
    }
}

/// A linked contact takes the sender's proven addresses and name where it has none.
async fn fill_blanks(
    tx: &mut Tx,
    scope: &AccountScope,
    contact: Contact,
    arriving: &Arriving<'_>,
) -> Result<Contact> {
    let mut changes = ContactChanges::default();
    if contact.email.is_none()
        && let Some(e) = &arriving.email
        && !is_taken(tx, scope, Some(ContactKey::Email(e))).await?
    {
        changes.email = Some(Some(e.clone()));
    }
    if contact.phone_number.is_none()
        && let Some(p) = &arriving.phone
        && !is_taken(tx, scope, Some(ContactKey::Phone(p))).await?
    {
        changes.phone_number = Some(Some(p.clone()));
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
