//! Custom attribute definitions.

use serde_json::Value;
use throughline_core::model::{AttributeModel, CustomAttributeDefinition};

use crate::Conn;
use crate::clock::now_ms;
use crate::error::{Result, StoreError};
use crate::rows::RowExt;
use crate::scope::AccountScope;

const COLUMNS: &str = "id, account_id, attribute_model, attribute_key, attribute_display_name, \
     attribute_display_type, attribute_description, attribute_values, default_value, \
     regex_pattern, regex_cue, created_at, updated_at";

fn definition(row: &sqlx::any::AnyRow) -> Result<CustomAttributeDefinition> {
    Ok(CustomAttributeDefinition {
        id: row.int("id")?,
        account_id: row.int("account_id")?,
        attribute_model: row.parsed("attribute_model", AttributeModel::parse)?,
        attribute_key: row.text("attribute_key")?,
        attribute_display_name: row.text("attribute_display_name")?,
        attribute_display_type: row.text("attribute_display_type")?,
        attribute_description: row.opt_text("attribute_description")?,
        attribute_values: row.json("attribute_values")?,
        default_value: row.opt_text("default_value")?,
        regex_pattern: row.opt_text("regex_pattern")?,
        regex_cue: row.opt_text("regex_cue")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

/// The fields of a definition, all validated by the caller.
#[derive(Clone, Debug)]
pub struct DefinitionFields {
    pub attribute_model: AttributeModel,
    pub attribute_key: String,
    pub attribute_display_name: String,
    pub attribute_display_type: String,
    pub attribute_description: Option<String>,
    pub attribute_values: Value,
    pub default_value: Option<String>,
    pub regex_pattern: Option<String>,
    pub regex_cue: Option<String>,
}

impl From<CustomAttributeDefinition> for DefinitionFields {
    fn from(d: CustomAttributeDefinition) -> Self {
        Self {
            attribute_model: d.attribute_model,
            attribute_key: d.attribute_key,
            attribute_display_name: d.attribute_display_name,
            attribute_display_type: d.attribute_display_type,
            attribute_description: d.attribute_description,
            attribute_values: d.attribute_values,
            default_value: d.default_value,
            regex_pattern: d.regex_pattern,
            regex_cue: d.regex_cue,
        }
    }
}

pub async fn list(
    conn: &mut Conn,
    scope: &AccountScope,
    model: Option<AttributeModel>,
) -> Result<Vec<CustomAttributeDefinition>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM custom_attribute_definitions WHERE account_id = $1 \
         AND ($2 IS NULL OR attribute_model = $2) ORDER BY id"
    )))
    .bind(scope.account_id())
    .bind(model.map(AttributeModel::as_str))
    .fetch_all(conn)
    .await?;
    rows.iter().map(definition).collect()
}

pub async fn get(
    conn: &mut Conn,
    scope: &AccountScope,
    id: i64,
) -> Result<CustomAttributeDefinition> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM custom_attribute_definitions WHERE account_id = $1 AND id = $2"
    )))
    .bind(scope.account_id())
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    definition(&row)
}

pub async fn create(
    conn: &mut Conn,
    scope: &AccountScope,
    f: DefinitionFields,
) -> Result<CustomAttributeDefinition> {
    let now = now_ms();
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO custom_attribute_definitions (account_id, attribute_model, attribute_key, \
           attribute_display_name, attribute_display_type, attribute_description, \
           attribute_values, default_value, regex_pattern, regex_cue, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING {COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(f.attribute_model.as_str())
    .bind(f.attribute_key)
    .bind(f.attribute_display_name)
    .bind(f.attribute_display_type)
    .bind(f.attribute_description)
    .bind(f.attribute_values.to_string())
    .bind(f.default_value)
    .bind(f.regex_pattern)
    .bind(f.regex_cue)
    .bind(now)
    .fetch_one(conn)
    .await?;
    definition(&row)
}

pub async fn update(
    conn: &mut Conn,
    scope: &AccountScope,
    id: i64,
    f: DefinitionFields,
) -> Result<CustomAttributeDefinition> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE custom_attribute_definitions SET attribute_model = $3, attribute_key = $4, \
           attribute_display_name = $5, attribute_display_type = $6, attribute_description = $7, \
           attribute_values = $8, default_value = $9, regex_pattern = $10, regex_cue = $11, \
           updated_at = $12 WHERE account_id = $1 AND id = $2 RETURNING {COLUMNS}"
    )))
    .bind(scope.account_id())
    .bind(id)
    .bind(f.attribute_model.as_str())
    .bind(f.attribute_key)
    .bind(f.attribute_display_name)
    .bind(f.attribute_display_type)
    .bind(f.attribute_description)
    .bind(f.attribute_values.to_string())
    .bind(f.default_value)
    .bind(f.regex_pattern)
    .bind(f.regex_cue)
    .bind(now_ms())
    .fetch_optional(conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    definition(&row)
}

pub async fn delete(conn: &mut Conn, scope: &AccountScope, id: i64) -> Result<()> {
    let done =
        sqlx::query("DELETE FROM custom_attribute_definitions WHERE account_id = $1 AND id = $2")
            .bind(scope.account_id())
            .bind(id)
            .execute(conn)
            .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
