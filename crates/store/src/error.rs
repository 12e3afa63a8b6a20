use thiserror::Error;

/// What can go wrong in the store, in terms the callers can act on. sqlx never leaks out.
#[derive(Debug, Clone, Error)]
pub enum StoreError {
    #[error("record not found")]
    NotFound,
    /// A unique constraint refused the write; `field` names the column that collided.
    #[error("{field} has already been taken")]
    Conflict { field: String },
    /// A referenced record does not exist (foreign key), or data violates a check. Carries the
    /// database's words, for the log only: they name constraints and must not reach a client.
    #[error("invalid reference: {0}")]
    InvalidReference(String),
    /// A domain rule refused the change (a status transition, a merge); the text is for people.
    #[error("{0}")]
    Refused(String),
    /// The database cannot be reached or is busy: worth a retry, answered with 503.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Other(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A lookup whose "not found" is an answer, not a failure: `NotFound` becomes `None`, and
/// every other error (the database down, corrupt data) stays an error.
pub trait Found<T> {
    fn found(self) -> Result<Option<T>>;
}

impl<T> Found<T> for Result<T> {
    fn found(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        use sqlx::Error as E;
        match err {
            E::RowNotFound => StoreError::NotFound,
            E::PoolTimedOut | E::PoolClosed | E::Io(_) | E::Tls(_) => {
                StoreError::Unavailable(err.to_string())
            }
            E::ColumnDecode { .. } | E::Decode(_) | E::ColumnNotFound(_) => {
                StoreError::Corrupt(err.to_string())
            }
            E::Database(db) => {
                use sqlx::error::ErrorKind;
                match db.kind() {
                    ErrorKind::UniqueViolation => StoreError::Conflict {
                        field: conflicting_field(db.constraint(), db.message()),
                    },
                    ErrorKind::ForeignKeyViolation
                    | ErrorKind::NotNullViolation
                    | ErrorKind::CheckViolation => {
                        StoreError::InvalidReference(db.message().to_owned())
                    }
                    // PostgreSQL cannot hold the NUL character in text (SQLite can): input
                    // that brings one is refused, whichever entry let it through.
                    _ if db.code().as_deref() == Some("22021") => {
                        StoreError::Refused("text cannot contain the NUL character (U+0000)".into())
                    }
                    _ if is_busy(db.code().as_deref(), db.message()) => {
                        StoreError::Unavailable(db.message().to_owned())
                    }
                    _ => StoreError::Other(db.message().to_owned()),
                }
            }
            other => StoreError::Other(other.to_string()),
        }
    }
}

/// Unique indexes are named `uq_<table>__<field>`; PostgreSQL reports the index name, SQLite
/// lists the columns (`UNIQUE constraint failed: contacts.account_id, contacts.email`) with the
/// meaningful one last.
fn conflicting_field(constraint: Option<&str>, message: &str) -> String {
    if let Some(field) = constraint.and_then(|c| c.split_once("__")).map(|(_, f)| f) {
        return field.to_owned();
    }
    message
        .rsplit(['.', ' '])
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or("record")
        .to_owned()
}

/// SQLite's SQLITE_BUSY/LOCKED (codes 5, 6) and PostgreSQL's shutdown/connection classes
/// (57P*, 08*) are transient.
fn is_busy(code: Option<&str>, message: &str) -> bool {
    match code {
        Some("5" | "6" | "517" | "261") => true,
        Some(c) if c.starts_with("57P") || c.starts_with("08") => true,
        // Deadlock and serialisation failures: the transaction was rolled back and the same
        // request will succeed when retried.
        Some("40P01" | "40001") => true,
        _ => message.contains("database is locked"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_field_from_either_backend() {
        assert_eq!(conflicting_field(Some("uq_contacts__email"), "x"), "email");
        assert_eq!(
            conflicting_field(
                None,
                "UNIQUE constraint failed: contacts.account_id, contacts.email"
            ),
            "email"
        );
        assert_eq!(
            conflicting_field(None, "UNIQUE constraint failed: users.email"),
            "email"
        );
    }
}
