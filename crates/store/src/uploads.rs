//! Files uploaded for the help center (Chatwoot's `POST …/upload`): portal logos and images in
//! articles. The bytes live in the blob store under `blob_key`; the row names them, their type
//! and who uploaded them. Each upload has a random `token`: its public URL carries it, and only
//! a request with the right token reads the file ([`by_id_for_serving`] is the one unscoped
//! read, and its caller compares the token).

use crate::Conn;
use crate::clock::now_ms;
use crate::error::{Result, StoreError};
use crate::rows::RowExt;
use crate::scope::AccountScope;

const COLUMNS: &str =
    "id, account_id, blob_key, token, file_name, content_type, byte_size, uploaded_by, created_at";

/// An uploaded file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upload {
    pub id: i64,
    pub account_id: i64,
    pub blob_key: String,
    /// Random and unguessable: the credential of the public URL.
    pub token: String,
    /// Safe in a URL path (letters, digits, `.`, `-`, `_`).
    pub file_name: String,
    pub content_type: String,
    pub byte_size: i64,
    pub uploaded_by: Option<i64>,
    pub created_at: i64,
}

/// A file already stored in the blob store, with its checked name and type.
#[derive(Clone, Debug)]
pub struct NewUpload<'a> {
    pub blob_key: &'a str,
    pub file_name: &'a str,
    pub content_type: &'a str,
    pub byte_size: i64,
}

fn upload(row: &sqlx::any::AnyRow) -> Result<Upload> {
    Ok(Upload {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        blob_key: row.text("blob_key")?,
        token: row.text("token")?,
        file_name: row.text("file_name")?,
        content_type: row.text("content_type")?,
        byte_size: row.int("byte_size")?,
        uploaded_by: row.opt_int("uploaded_by")?,
        created_at: row.int("created_at")?,
    })
}

/// Records an upload of the scope's account, by the scope's user, with a fresh token.
pub async fn create(conn: &mut Conn, scope: &AccountScope, new: &NewUpload<'_>) -> Result<Upload> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO uploads (account_id, blob_key, token, file_name, content_type, byte_size, \
           uploaded_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(new.blob_key)
    .bind(crate::crypto_token())
    .bind(new.file_name)
    .bind(new.content_type)
    .bind(new.byte_size)
    .bind(scope.user_id())
    .bind(now_ms())
    .fetch_one(conn)
    .await?;
    upload(&row)
}

/// The account's upload `id`; another account's is not found.
pub async fn get(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<Upload> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM uploads WHERE account_id = $1 AND id = $2"
    )))
    .bind(scope.account_id())
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    upload(&row)
}

/// The upload `id` of whichever account, for serving its public URL: the caller must compare
/// the URL's token with [`Upload::token`] before answering anything of it.
pub async fn by_id_for_serving(conn: &mut Conn, id: i64) -> Result<Upload> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM uploads WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    upload(&row)
}
