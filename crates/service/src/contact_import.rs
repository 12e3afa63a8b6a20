//! Importing contacts from a CSV file (Chatwoot's `POST …/contacts/import`): each row finds its
//! contact by identifier, email or phone and updates it, or creates one. Rows are written in
//! transactions of `CHUNK` rows, each row in its own savepoint, so a row the database refuses
//! is reported and the rest of the file still lands.

use serde_json::Value;
use throughline_core::contact_csv::{ImportRow, Key, RowError};
use throughline_core::validate::FieldError;
use throughline_store::contacts::{self, ContactChanges, ContactKey, NewContact};
use throughline_store::scope::AccountScope;
use throughline_store::{Store, StoreError, Tx};

/// Rows per write transaction: long enough to amortise the commit, short enough not to hold
/// the writer from live traffic for long.
const CHUNK: usize = 250;

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    /// Rows read (blank rows are not counted).
    pub total_rows: usize,
    pub created: usize,
    pub updated: usize,
    /// The rows not imported, in file order, each with its row number and the field at fault.
    pub failed: Vec<RowError>,
}

enum Outcome {
    Created,
    Updated,
}

/// Imports the rows `contact_csv::read` gave.
pub async fn import(
    store: &Store,
    scope: &AccountScope,
    rows: Vec<Result<ImportRow, RowError>>,
) -> Result<ImportReport, StoreError> {
    let mut report = ImportReport {
        total_rows: rows.len(),
        ..Default::default()
    };
    for chunk in rows.chunks(CHUNK) {
        let mut tx = store.begin().await?;
        for row in chunk {
            let row = match row {
                Ok(row) => row,
                Err(e) => {
                    report.failed.push(e.clone());
                    continue;
                }
            };
            tx.savepoint("contact_import_row").await?;
            match import_row(&mut tx, scope, row).await {
                Ok(outcome) => {
                    tx.release("contact_import_row").await?;
                    match outcome {
                        Outcome::Created => report.created += 1,
                        Outcome::Updated => report.updated += 1,
                    }
                }
                Err(RowFailure::Refused(error)) => {
                    tx.roll_back_to("contact_import_row").await?;
                    report.failed.push(RowError {
                        row: row.row,
                        error,
                    });
                }
                Err(RowFailure::Store(e)) => return Err(e),
            }
        }
        tx.commit().await?;
    }
    report.failed.sort_by_key(|e| e.row);
    Ok(report)
}

enum RowFailure {
    /// This row cannot be imported; the others can.
    Refused(FieldError),
    /// The database failed: the import stops (what was committed stays).
    Store(StoreError),
}

impl From<StoreError> for RowFailure {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { field } => Self::Refused(FieldError::new(
                &field,
                "taken",
                format!("{field} belongs to another contact"),
            )),
            other => Self::Store(other),
        }
    }
}

fn field_of(key: Key<'_>) -> &'static str {
    match key {
        Key::Identifier(_) => "identifier",
        Key::Email(_) => "email",
        Key::Phone(_) => "phone_number",
    }
}

async fn import_row(
    tx: &mut Tx,
    scope: &AccountScope,
    row: &ImportRow,
) -> Result<Outcome, RowFailure> {
    // Every key must lead to the same contact, or to none: a row whose identifier is one
    // person's and whose email is another's would merge two people by a spreadsheet.
    let mut found: Option<(Key<'_>, i64)> = None;
    for key in row.find_order() {
        let lookup = match key {
            Key::Identifier(v) => ContactKey::Identifier(v),
            Key::Email(v) => ContactKey::Email(v),
            Key::Phone(v) => ContactKey::Phone(v),
        };
        let Some(contact) = contacts::find_by(tx.conn(), scope, lookup).await? else {
            continue;
        };
        match found {
            Some((first, id)) if id != contact.id => {
                return Err(RowFailure::Refused(FieldError::new(
                    field_of(key),
                    "conflict",
                    format!(
                        "{} is contact #{}'s but {} is contact #{id}'s",
                        field_of(key),
                        contact.id,
                        field_of(first)
                    ),
                )));
            }
            Some(_) => {}
            None => found = Some((key, contact.id)),
        }
    }
    match found {
        Some((_, id)) => {
            let changes = ContactChanges {
                name: row.name.clone(),
                email: row.email.clone().map(Some),
                phone_number: row.phone_number.clone().map(Some),
                identifier: row.identifier.clone().map(Some),
                custom_attributes: (!row.custom_attributes.is_empty())
                    .then(|| row.custom_attributes.clone()),
                additional_attributes: (!row.additional_attributes.is_empty())
                    .then(|| row.additional_attributes.clone()),
                ..Default::default()
            };
            contacts::update(tx, scope, id, changes).await?;
            Ok(Outcome::Updated)
        }
        None => {
            let new = NewContact {
                name: row.name.clone().unwrap_or_default(),
                email: row.email.clone(),
                phone_number: row.phone_number.clone(),
                identifier: row.identifier.clone(),
                custom_attributes: Value::Object(row.custom_attributes.clone()),
                additional_attributes: Value::Object(row.additional_attributes.clone()),
                ..Default::default()
            };
            contacts::create(tx, scope, new).await?;
            Ok(Outcome::Created)
        }
    }
}
