//! Decoding rows of the Any driver into domain records.
//!
//! SQLite hands booleans back as integers and PostgreSQL as booleans; JSON is TEXT on both;
//! enums are TEXT. These helpers keep every record mapping one line per field.

use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::{Result, StoreError};

pub(crate) trait RowExt {
    fn int(&self, col: &str) -> Result<i64>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>>;
    fn text(&self, col: &str) -> Result<String>;
    fn opt_text(&self, col: &str) -> Result<Option<String>>;
    fn flag(&self, col: &str) -> Result<bool>;
    fn json(&self, col: &str) -> Result<Value>;
    fn parsed<T>(&self, col: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T>;
    fn opt_parsed<T>(&self, col: &str, parse: impl Fn(&str) -> Option<T>) -> Result<Option<T>>;
}

impl RowExt for AnyRow {
    fn int(&self, col: &str) -> Result<i64> {
        Ok(self.try_get::<i64, _>(col)?)
    }

    fn opt_int(&self, col: &str) -> Result<Option<i64>> {
        Ok(self.try_get::<Option<i64>, _>(col)?)
    }

    fn text(&self, col: &str) -> Result<String> {
        Ok(self.try_get::<String, _>(col)?)
    }

    fn opt_text(&self, col: &str) -> Result<Option<String>> {
        Ok(self.try_get::<Option<String>, _>(col)?)
    }

    fn flag(&self, col: &str) -> Result<bool> {
        if let Ok(b) = self.try_get::<bool, _>(col) {
            return Ok(b);
        }
        Ok(self.try_get::<i64, _>(col)? != 0)
    }

    fn json(&self, col: &str) -> Result<Value> {
        let raw = self.text(col)?;
        serde_json::from_str(&raw).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
    }

    fn parsed<T>(&self, col: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T> {
        let raw = self.text(col)?;
        parse(&raw).ok_or_else(|| StoreError::Corrupt(format!("{col}: unknown value `{raw}`")))
    }

    fn opt_parsed<T>(&self, col: &str, parse: impl Fn(&str) -> Option<T>) -> Result<Option<T>> {
        match self.opt_text(col)? {
            None => Ok(None),
            Some(raw) => parse(&raw)
                .map(Some)
                .ok_or_else(|| StoreError::Corrupt(format!("{col}: unknown value `{raw}`"))),
        }
    }
}
