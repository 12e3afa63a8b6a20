//! Contacts, their identities (Chatwoot's contact_inboxes), labels, notes, and merges.

use serde_json::{Value, json};
use throughline_core::event::EventKind;
use throughline_core::identity::AddressKind;
use throughline_core::model::{Contact, Identity, Inbox};
use throughline_core::views::webhook_body::changed;

use crate::accounts::merge_object;
use crate::clock::now_ms;
use crate::db::Tx;
use crate::error::{Result, StoreError};
use crate::labels::{self, Tagged};
use crate::records::{self, CONTACT_COLUMNS, IDENTITY_COLUMNS};
use crate::rows::RowExt;
use crate::scope::AccountScope;
use crate::sql::SqlBuilder;
use crate::{Conn, Store, events};

/// A contact to create; addresses already normalised by the caller.
#[derive(Clone, Debug, Default)]
pub struct NewContact {
    pub name: String,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub identifier: Option<String>,
    pub avatar_url: Option<String>,
    pub blocked: bool,
    pub custom_attributes: Value,
    pub additional_attributes: Value,
}

pub async fn create(tx: &mut Tx, scope: &AccountScope, new: NewContact) -> Result<Contact> {
    let now = now_ms();
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO contacts (account_id, name, email, phone_number, identifier, avatar_url, \
           blocked, custom_attributes, additional_attributes, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING {CONTACT_COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(&new.name)
    .bind(new.email.as_deref())
    .bind(new.phone_number.as_deref())
    .bind(new.identifier.as_deref())
    .bind(new.avatar_url.as_deref())
    .bind(new.blocked)
    .bind(object_or_empty(new.custom_attributes).to_string())
    .bind(object_or_empty(new.additional_attributes).to_string())
    .bind(now)
    .fetch_one(tx.conn())
    .await?;
    let contact = records::contact(&row)?;
    events::contact(tx, EventKind::ContactCreated, &contact, None).await?;
    Ok(contact)
}

fn object_or_empty(v: Value) -> Value {
    if v.is_object() { v } else { json!({}) }
}

pub async fn get(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<Contact> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {CONTACT_COLUMNS} FROM contacts WHERE account_id = $1 AND id = $2"
    )))
    .bind(scope.account_id())
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    records::contact(&row)
}

/// Finds a contact by one of its unique keys (normalised email, E.164 phone, identifier).
pub async fn find_by(
    conn: &mut Conn,
    scope: &AccountScope,
    key: ContactKey<'_>,
) -> Result<Option<Contact>> {
    let (column, value) = match key {
        ContactKey::Email(v) => ("email", v),
        ContactKey::Phone(v) => ("phone_number", v),
        ContactKey::Identifier(v) => ("identifier", v),
    };
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {CONTACT_COLUMNS} FROM contacts WHERE account_id = $1 AND {column} = $2"
    )))
    .bind(scope.account_id())
    .bind(value)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(records::contact).transpose()
}

#[derive(Clone, Copy, Debug)]
pub enum ContactKey<'a> {
    Email(&'a str),
    Phone(&'a str),
    Identifier(&'a str),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContactSort {
    Name,
    Email,
    Phone,
    LastActivity,
    CreatedAt,
}

impl ContactSort {
    /// Chatwoot's `sort` parameter: a field name, `-` in front for descending.
    pub fn parse(s: &str) -> Option<(Self, bool)> {
        let (desc, field) = match s.strip_prefix('-') {
            Some(f) => (true, f),
            None => (false, s),
        };
        let sort = match field {
            "name" => Self::Name,
            "email" => Self::Email,
            "phone_number" => Self::Phone,
            "last_activity_at" => Self::LastActivity,
            "created_at" => Self::CreatedAt,
            _ => return None,
        };
        Some((sort, desc))
    }

    fn column(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Email => "email",
            Self::Phone => "phone_number",
            Self::LastActivity => "last_activity_at",
            Self::CreatedAt => "created_at",
        }
    }
}

#[derive(Clone, Debug)]
pub struct ContactQuery {
    /// Matches name, email, phone or identifier (case-insensitive substring; diacritics
    /// optional on name and email from three characters).
    pub search: Option<String>,
    pub labels: Vec<String>,
    /// Only contacts with an identity in this inbox (who wrote through it, or were added to it).
    pub inbox_id: Option<i64>,
    pub sort: ContactSort,
    pub descending: bool,
    pub page: i64,
    pub per_page: i64,
    /// Conditions of Chatwoot's filter endpoint, already validated.
    pub conditions: Vec<throughline_core::filter::Condition>,
}

impl Default for ContactQuery {
    fn default() -> Self {
        Self {
            search: None,
            labels: Vec::new(),
            inbox_id: None,
            sort: ContactSort::LastActivity,
            descending: true,
            page: 1,
            per_page: 15,
            conditions: Vec::new(),
        }
    }
}

fn push_contact_conditions(
    q: &mut SqlBuilder,
    conn: &Conn,
    scope: &AccountScope,
    query: &ContactQuery,
) {
    q.push(" WHERE account_id = ").bind(scope.account_id());
    if let Some(search) = query
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let pattern = format!("%{}%", crate::like_escape(&search.to_lowercase()));
        // Name, email and phone through the trigram index (diacritics optional: "jose" finds
        // "José"), as the conversation search matches contacts.
        q.push(" AND (");
        crate::search::push_contact_match(q, conn, search);
        q.push(" OR LOWER(identifier) LIKE ")
            .bind(pattern)
            .push(" ESCAPE '\\'");
        // A number typed as people write it, "(11) 91234-5678" or "601 234 567", finds the
        // stored E.164 "+5511912345678" / "+48601234567".
        let digits: String = search.chars().filter(char::is_ascii_digit).collect();
        let looks_like_a_number = search
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c));
        if digits.len() >= 4 && looks_like_a_number {
            q.push(" OR phone_number LIKE ").bind(format!("%{digits}%"));
        }
        q.push(")");
    }
    if !query.labels.is_empty() {
        q.push(" AND id IN (SELECT contact_id FROM contact_labels WHERE label IN ")
            .bind_list(&query.labels)
            .push(")");
    }
    if let Some(inbox_id) = query.inbox_id {
        q.push(" AND id IN (SELECT contact_id FROM contact_inboxes WHERE inbox_id = ")
            .bind(inbox_id)
            .push(")");
    }
    crate::filters::push_conditions(
        q,
        conn,
        scope,
        crate::filters::Target::Contacts,
        &query.conditions,
    );
}

/// A page of contacts and the total that match.
pub async fn list(
    conn: &mut Conn,
    scope: &AccountScope,
    query: &ContactQuery,
) -> Result<(Vec<Contact>, i64)> {
    let mut count = SqlBuilder::new("SELECT COUNT(*) AS n FROM contacts");
    push_contact_conditions(&mut count, conn, scope, query);
    let total = count.build().fetch_one(&mut *conn).await?.int("n")?;

    let mut q = SqlBuilder::new(&format!("SELECT {CONTACT_COLUMNS} FROM contacts"));
    push_contact_conditions(&mut q, conn, scope, query);
    let direction = if query.descending { "DESC" } else { "ASC" };
    // Nulls last in both directions, on both databases.
    q.push(&format!(
        " ORDER BY ({col} IS NULL), {col} {direction}, id {direction} LIMIT ",
        col = query.sort.column()
    ))
    .bind(query.per_page)
    .push(" OFFSET ")
    .bind((query.page.max(1) - 1) * query.per_page);
    let rows = q.build().fetch_all(conn).await?;
    Ok((
        rows.iter().map(records::contact).collect::<Result<_>>()?,
        total,
    ))
}

#[derive(Clone, Debug, Default)]
pub struct ContactChanges {
    pub name: Option<String>,
    pub email: Option<Option<String>>,
    pub phone_number: Option<Option<String>>,
    pub identifier: Option<Option<String>>,
    pub avatar_url: Option<Option<String>>,
    pub blocked: Option<bool>,
    /// Merged key by key (a null value removes the key).
    pub custom_attributes: Option<serde_json::Map<String, Value>>,
    pub additional_attributes: Option<serde_json::Map<String, Value>>,
    pub last_activity_at: Option<i64>,
    /// The email, phone or identifier set here were typed by a visitor without proof: they
    /// are kept but flagged, so they never link another sender to this contact.
    pub unproven: bool,
}

pub async fn update(
    tx: &mut Tx,
    scope: &AccountScope,
    id: i64,
    c: ContactChanges,
) -> Result<Contact> {
    let before = get(tx.conn(), scope, id).await?;
    let mut after = before.clone();
    if let Some(v) = c.name {
        after.name = v;
    }
    if let Some(v) = c.email {
        after.email = v;
    }
    if let Some(v) = c.phone_number {
        after.phone_number = v;
    }
    if let Some(v) = c.identifier {
        after.identifier = v;
    }
    if let Some(v) = c.avatar_url {
        after.avatar_url = v;
    }
    if let Some(v) = c.blocked {
        after.blocked = v;
    }
    if let Some(patch) = c.custom_attributes {
        merge_object(&mut after.custom_attributes, patch);
    }
    if let Some(patch) = c.additional_attributes {
        merge_object(&mut after.additional_attributes, patch);
    }
    if let Some(v) = c.last_activity_at {
        after.last_activity_at = Some(v);
    }
    let changed_addresses: Vec<(&str, bool)> = [
        ("email", &before.email, &after.email),
        ("phone_number", &before.phone_number, &after.phone_number),
        ("identifier", &before.identifier, &after.identifier),
    ]
    .into_iter()
    .filter(|(_, old, new)| old != new)
    .map(|(column, _, new)| (column, new.is_some()))
    .collect();
    crate::resolve::reflag(
        &mut after.additional_attributes,
        &changed_addresses,
        c.unproven,
    );
    let diff = contact_diff(&before, &after);
    if diff.is_empty() && c.last_activity_at.is_none() {
        return Ok(before);
    }
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE contacts SET name = $3, email = $4, phone_number = $5, identifier = $6, \
           avatar_url = $7, blocked = $8, custom_attributes = $9, additional_attributes = $10, \
           last_activity_at = $11, updated_at = $12 \
         WHERE account_id = $1 AND id = $2 RETURNING {CONTACT_COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(id)
    .bind(&after.name)
    .bind(after.email.as_deref())
    .bind(after.phone_number.as_deref())
    .bind(after.identifier.as_deref())
    .bind(after.avatar_url.as_deref())
    .bind(after.blocked)
    .bind(after.custom_attributes.to_string())
    .bind(after.additional_attributes.to_string())
    .bind(after.last_activity_at)
    .bind(now_ms())
    .fetch_one(tx.conn())
    .await?;
    let contact = records::contact(&row)?;
    if !diff.is_empty() {
        let refs: Vec<(&str, Value, Value)> = diff
            .iter()
            .map(|(k, a, b)| (*k, a.clone(), b.clone()))
            .collect();
        events::contact(
            tx,
            EventKind::ContactUpdated,
            &contact,
            Some(changed(&refs)),
        )
        .await?;
    }
    Ok(contact)
}

fn contact_diff(a: &Contact, b: &Contact) -> Vec<(&'static str, Value, Value)> {
    let mut out = Vec::new();
    let mut cmp = |name: &'static str, x: Value, y: Value| {
        if x != y {
            out.push((name, x, y));
        }
    };
    cmp("name", json!(a.name), json!(b.name));
    cmp("email", json!(a.email), json!(b.email));
    cmp("phone_number", json!(a.phone_number), json!(b.phone_number));
    cmp("identifier", json!(a.identifier), json!(b.identifier));
    cmp("avatar_url", json!(a.avatar_url), json!(b.avatar_url));
    cmp("blocked", json!(a.blocked), json!(b.blocked));
    cmp(
        "custom_attributes",
        a.custom_attributes.clone(),
        b.custom_attributes.clone(),
    );
    cmp(
        "additional_attributes",
        a.additional_attributes.clone(),
        b.additional_attributes.clone(),
    );
    out
}

/// Deletes a contact with its identities, conversations and messages (as Chatwoot does).
pub async fn delete(tx: &mut Tx, scope: &AccountScope, id: i64) -> Result<()> {
    let contact = get(tx.conn(), scope, id).await?;
    let account = crate::render::account_ref(tx.conn(), scope.account_id()).await?;
    sqlx::query("DELETE FROM contacts WHERE account_id = $1 AND id = $2")
        .bind(scope.account_id())
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.emit(throughline_core::event::NewEvent {
        kind: EventKind::ContactDeleted,
        account_id: scope.account_id(),
        conversation_id: None,
        contact_id: Some(id),
        inbox_id: None,
        payload: json!({ "account": account, "id": contact.id, "name": contact.name }),
    })
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Labels

pub async fn labels_of(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<Vec<String>> {
    get(&mut *conn, scope, id).await?;
    labels::titles_of(conn, Tagged::Contact(id)).await
}

/// Adds labels (Chatwoot's POST contacts/{id}/labels replaces the set).
pub async fn set_labels(
    tx: &mut Tx,
    scope: &AccountScope,
    id: i64,
    titles: &[String],
) -> Result<Vec<String>> {
    get(tx.conn(), scope, id).await?;
    labels::replace(tx.conn(), scope.account_id(), Tagged::Contact(id), titles).await?;
    labels::titles_of(tx.conn(), Tagged::Contact(id)).await
}

// ---------------------------------------------------------------------------------------------
// Identities

pub async fn identities(
    conn: &mut Conn,
    store: &Store,
    scope: &AccountScope,
    contact_id: i64,
) -> Result<Vec<(Identity, Inbox)>> {
    get(&mut *conn, scope, contact_id).await?;
    let mut map = crate::render::identities_of(conn, store, &[contact_id]).await?;
    Ok(map.remove(&contact_id).unwrap_or_default())
}

pub async fn identity_by_source(
    conn: &mut Conn,
    scope: &AccountScope,
    inbox_id: i64,
    source_id: &str,
) -> Result<Identity> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {IDENTITY_COLUMNS} FROM contact_inboxes \
         WHERE account_id = $1 AND inbox_id = $2 AND source_id = $3"
    )))
    .bind(scope.account_id())
    .bind(inbox_id)
    .bind(source_id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    records::identity(&row)
}

pub async fn identity(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<Identity> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {IDENTITY_COLUMNS} FROM contact_inboxes WHERE account_id = $1 AND id = $2"
    )))
    .bind(scope.account_id())
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    records::identity(&row)
}

/// Identities of a contact in one inbox, newest first.
pub async fn identities_in_inbox(
    conn: &mut Conn,
    scope: &AccountScope,
    contact_id: i64,
    inbox_id: i64,
) -> Result<Vec<Identity>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {IDENTITY_COLUMNS} FROM contact_inboxes \
         WHERE account_id = $1 AND contact_id = $2 AND inbox_id = $3 ORDER BY id DESC"
    )))
    .bind(scope.account_id())
    .bind(contact_id)
    .bind(inbox_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(records::identity).collect()
}

pub struct NewIdentity<'a> {
    pub contact_id: i64,
    pub inbox: &'a Inbox,
    /// The provider's id for the sender; a random one is made when absent (API, widget).
    pub source_id: Option<String>,
    /// The normalised address, when the channel's id is one (email, phone…).
    pub address: Option<(AddressKind, String)>,
    pub hmac_verified: bool,
    /// Whether the address proves who this is (see `throughline_core::linking`).
    pub address_proven: bool,
}

pub async fn create_identity(
    tx: &mut Tx,
    scope: &AccountScope,
    new: NewIdentity<'_>,
) -> Result<Identity> {
    if new.inbox.account_id != scope.account_id() {
        return Err(StoreError::NotFound);
    }
    get(tx.conn(), scope, new.contact_id).await?;
    let source_id = new
        .source_id
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let (kind, address) = match new.address {
        Some((k, a)) => (Some(k), Some(a)),
        None => (
            Some(new.inbox.channel_type.address_kind()),
            Some(source_id.clone()),
        ),
    };
    let now = now_ms();
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO contact_inboxes (account_id, contact_id, inbox_id, source_id, address_kind, \
           address, hmac_verified, pubsub_token, created_at, updated_at, address_proven) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10) RETURNING {IDENTITY_COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(new.contact_id)
    .bind(new.inbox.id)
    .bind(source_id)
    .bind(kind.map(AddressKind::as_str))
    .bind(address)
    .bind(new.hmac_verified)
    .bind(crate::crypto_token())
    .bind(now)
    .bind(new.address_proven)
    .fetch_one(tx.conn())
    .await?;
    records::identity(&row)
}

pub async fn set_identity_verified(
    tx: &mut Tx,
    scope: &AccountScope,
    identity_id: i64,
    verified: bool,
) -> Result<()> {
    sqlx::query(
        "UPDATE contact_inboxes SET hmac_verified = $3, updated_at = $4 WHERE account_id = $1 AND id = $2",
    )
    .bind(scope.account_id())
    .bind(identity_id)
    .bind(verified)
    .bind(now_ms())
    .execute(tx.conn())
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Merge

/// Merges `mergee` into `base`: identities, conversations, notes and labels move to the base;
/// the base keeps its own values and takes the mergee's where it has none; custom attributes
/// are combined with the base winning. The mergee is deleted and a merge record keeps what it
/// was. Both contacts must belong to the scope's account.
pub async fn merge(
    tx: &mut Tx,
    scope: &AccountScope,
    base_id: i64,
    mergee_id: i64,
) -> Result<Contact> {
    if base_id == mergee_id {
        return Err(StoreError::Refused(
            "a contact cannot be merged into itself".into(),
        ));
    }
    let base = get(tx.conn(), scope, base_id).await?;
    let mergee = get(tx.conn(), scope, mergee_id).await?;
    let account_id = scope.account_id();

    for table in ["contact_inboxes", "conversations", "contact_notes"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE {table} SET contact_id = $1 WHERE account_id = $2 AND contact_id = $3"
        )))
        .bind(base_id)
        .bind(account_id)
        .bind(mergee_id)
        .execute(tx.conn())
        .await?;
    }
    let mut titles = labels::titles_of(tx.conn(), Tagged::Contact(base_id)).await?;
    for t in labels::titles_of(tx.conn(), Tagged::Contact(mergee_id)).await? {
        if !titles.contains(&t) {
            titles.push(t);
        }
    }
    labels::replace(tx.conn(), account_id, Tagged::Contact(base_id), &titles).await?;

    sqlx::query(
        "INSERT INTO contact_merges (account_id, base_contact_id, mergee_contact_id, \
           mergee_snapshot, merged_by_user_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(account_id)
    .bind(base_id)
    .bind(mergee_id)
    .bind(serde_json::to_string(&mergee).unwrap_or_default())
    .bind(scope.user_id())
    .bind(now_ms())
    .execute(tx.conn())
    .await?;
    // Unique keys move only after the mergee is gone.
    sqlx::query("DELETE FROM contacts WHERE account_id = $1 AND id = $2")
        .bind(account_id)
        .bind(mergee_id)
        .execute(tx.conn())
        .await?;

    let mut custom = mergee.custom_attributes.clone();
    if let Value::Object(base_attrs) = base.custom_attributes.clone() {
        merge_object(&mut custom, base_attrs);
    }
    let mut additional = mergee.additional_attributes.clone();
    if let Value::Object(base_attrs) = base.additional_attributes.clone() {
        merge_object(&mut additional, base_attrs);
    }
    let fill = |mine: &Option<String>, theirs: &Option<String>| -> Option<Option<String>> {
        if mine.is_none() && theirs.is_some() {
            Some(theirs.clone())
        } else {
            None
        }
    };
    let changes = ContactChanges {
        name: (base.name.trim().is_empty() && !mergee.name.trim().is_empty())
            .then(|| mergee.name.clone()),
        email: fill(&base.email, &mergee.email),
        phone_number: fill(&base.phone_number, &mergee.phone_number),
        identifier: fill(&base.identifier, &mergee.identifier),
        avatar_url: fill(&base.avatar_url, &mergee.avatar_url),
        custom_attributes: custom.as_object().cloned(),
        additional_attributes: additional.as_object().cloned(),
        last_activity_at: match (base.last_activity_at, mergee.last_activity_at) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        },
        ..Default::default()
    };
    let merged = update(tx, scope, base_id, changes).await?;
    let account = crate::render::account_ref(tx.conn(), account_id).await?;
    tx.emit(throughline_core::event::NewEvent {
        kind: EventKind::ContactMerged,
        account_id,
        conversation_id: None,
        contact_id: Some(base_id),
        inbox_id: None,
        payload: json!({
            "account": account,
            "base_contact_id": base_id,
            "mergee_contact_id": mergee_id,
        }),
    })
    .await?;
    Ok(merged)
}

/// Merge records of a contact, newest first: (mergee id, mergee as it was, merged by, when).
pub async fn merges_of(
    conn: &mut Conn,
    scope: &AccountScope,
    base_id: i64,
) -> Result<Vec<(i64, Value, Option<i64>, i64)>> {
    let rows = sqlx::query(
        "SELECT mergee_contact_id, mergee_snapshot, merged_by_user_id, created_at FROM contact_merges \
         WHERE account_id = $1 AND base_contact_id = $2 ORDER BY id DESC",
    )
    .bind(scope.account_id())
    .bind(base_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.int("mergee_contact_id")?,
                r.json("mergee_snapshot")?,
                r.opt_int("merged_by_user_id")?,
                r.int("created_at")?,
            ))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Notes

const NOTE_COLUMNS: &str = "id, account_id, contact_id, user_id, content, created_at, updated_at";

fn note(row: &sqlx::any::AnyRow) -> Result<throughline_core::model::ContactNote> {
    Ok(throughline_core::model::ContactNote {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        contact_id: row.int("contact_id")?,
        user_id: row.opt_int("user_id")?,
        content: row.text("content")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

pub async fn notes(
    conn: &mut Conn,
    scope: &AccountScope,
    contact_id: i64,
) -> Result<Vec<throughline_core::model::ContactNote>> {
    get(&mut *conn, scope, contact_id).await?;
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {NOTE_COLUMNS} FROM contact_notes WHERE account_id = $1 AND contact_id = $2 ORDER BY id DESC"
    )))
    .bind(scope.account_id())
    .bind(contact_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(note).collect()
}

pub async fn create_note(
    tx: &mut Tx,
    scope: &AccountScope,
    contact_id: i64,
    content: &str,
) -> Result<throughline_core::model::ContactNote> {
    get(tx.conn(), scope, contact_id).await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO contact_notes (account_id, contact_id, user_id, content, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING {NOTE_COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(contact_id)
    .bind(scope.user_id())
    .bind(content)
    .bind(now_ms())
    .fetch_one(tx.conn())
    .await?;
    note(&row)
}

pub async fn update_note(
    tx: &mut Tx,
    scope: &AccountScope,
    contact_id: i64,
    id: i64,
    content: &str,
) -> Result<throughline_core::model::ContactNote> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE contact_notes SET content = $4, updated_at = $5 \
         WHERE account_id = $1 AND contact_id = $2 AND id = $3 RETURNING {NOTE_COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(contact_id)
    .bind(id)
    .bind(content)
    .bind(now_ms())
    .fetch_optional(tx.conn())
    .await?
    .ok_or(StoreError::NotFound)?;
    note(&row)
}

pub async fn delete_note(
    tx: &mut Tx,
    scope: &AccountScope,
    contact_id: i64,
    id: i64,
) -> Result<()> {
    let done = sqlx::query(
        "DELETE FROM contact_notes WHERE account_id = $1 AND contact_id = $2 AND id = $3",
    )
    .bind(scope.account_id())
    .bind(contact_id)
    .bind(id)
    .execute(tx.conn())
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Export

/// Contacts after `after_id` in id order, at most `limit`, each with its labels: one page of an
/// export, read by key rather than by offset so a large account costs the same per page.
pub async fn export_page(
    conn: &mut Conn,
    scope: &AccountScope,
    labels: &[String],
    after_id: i64,
    limit: i64,
) -> Result<Vec<(Contact, Vec<String>)>> {
    let mut q = SqlBuilder::new(&format!(
        "SELECT {CONTACT_COLUMNS} FROM contacts WHERE account_id = "
    ));
    q.bind(scope.account_id()).push(" AND id > ").bind(after_id);
    if !labels.is_empty() {
        q.push(" AND id IN (SELECT contact_id FROM contact_labels WHERE label IN ")
            .bind_list(labels)
            .push(")");
    }
    q.push(" ORDER BY id LIMIT ").bind(limit);
    let contacts: Vec<Contact> = q
        .build()
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(records::contact)
        .collect::<Result<_>>()?;
    let Some(last) = contacts.last().map(|c| c.id) else {
        return Ok(Vec::new());
    };
    let first = contacts[0].id;
    let rows = sqlx::query(
        "SELECT contact_id, label FROM contact_labels WHERE contact_id >= $1 AND contact_id <= $2 \
         AND contact_id IN (SELECT id FROM contacts WHERE account_id = $3) ORDER BY label",
    )
    .bind(first)
    .bind(last)
    .bind(scope.account_id())
    .fetch_all(conn)
    .await?;
    let mut by_contact: std::collections::HashMap<i64, Vec<String>> = Default::default();
    for r in &rows {
        by_contact
            .entry(r.int("contact_id")?)
            .or_default()
            .push(r.text("label")?);
    }
    Ok(contacts
        .into_iter()
        .map(|c| {
            let labels = by_contact.remove(&c.id).unwrap_or_default();
            (c, labels)
        })
        .collect())
}
