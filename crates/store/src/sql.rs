//! A small builder for queries whose shape depends on filters.
//!
//! sqlx's own `QueryBuilder` emits `?` placeholders under the Any driver, which PostgreSQL
//! refuses; this one numbers `$1, $2, …`, which both databases accept.

use sqlx::any::{Any, AnyArguments};
use sqlx::query::Query;

#[derive(Clone, Debug)]
pub(crate) enum Bind {
    Int(i64),
    OptInt(Option<i64>),
    Text(String),
    OptText(Option<String>),
    Flag(bool),
    Float(f64),
}

impl From<f64> for Bind {
    fn from(v: f64) -> Self {
        Bind::Float(v)
    }
}

impl From<i64> for Bind {
    fn from(v: i64) -> Self {
        Bind::Int(v)
    }
}
impl From<Option<i64>> for Bind {
    fn from(v: Option<i64>) -> Self {
        Bind::OptInt(v)
    }
}
impl From<String> for Bind {
    fn from(v: String) -> Self {
        Bind::Text(v)
    }
}
impl From<&str> for Bind {
    fn from(v: &str) -> Self {
        Bind::Text(v.to_owned())
    }
}
impl From<Option<String>> for Bind {
    fn from(v: Option<String>) -> Self {
        Bind::OptText(v)
    }
}
impl From<bool> for Bind {
    fn from(v: bool) -> Self {
        Bind::Flag(v)
    }
}

#[derive(Default, Debug)]
pub(crate) struct SqlBuilder {
    sql: String,
    binds: Vec<Bind>,
}

impl SqlBuilder {
    pub fn new(start: &str) -> Self {
        Self {
            sql: start.to_owned(),
            binds: Vec::new(),
        }
    }

    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends a placeholder for `value`.
    pub fn bind(&mut self, value: impl Into<Bind>) -> &mut Self {
        self.binds.push(value.into());
        self.sql.push('$');
        self.sql.push_str(&self.binds.len().to_string());
        self
    }

    /// Appends `(…, …)` with one placeholder per value; `(NULL)` when empty so `IN ()` stays
    /// valid SQL and matches nothing.
    pub fn bind_list<T: Into<Bind> + Clone>(&mut self, values: &[T]) -> &mut Self {
        self.sql.push('(');
        if values.is_empty() {
            self.sql.push_str("NULL");
        }
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.sql.push_str(", ");
            }
            self.bind(v.clone());
        }
        self.sql.push(')');
        self
    }

    #[cfg(test)]
    pub fn sql(&self) -> &str {
        &self.sql
    }

    pub fn build(&self) -> Query<'_, Any, AnyArguments> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(self.sql.as_str()));
        for b in &self.binds {
            q = match b {
                Bind::Int(v) => q.bind(*v),
                Bind::OptInt(v) => q.bind(*v),
                Bind::Text(v) => q.bind(v.as_str()),
                Bind::OptText(v) => q.bind(v.as_deref()),
                Bind::Flag(v) => q.bind(*v),
                Bind::Float(v) => q.bind(*v),
            };
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_placeholders_in_order() {
        let mut b = SqlBuilder::new("SELECT 1 WHERE a = ");
        b.bind(1i64)
            .push(" AND b IN ")
            .bind_list(&[2i64, 3])
            .push(" AND c IN ")
            .bind_list::<i64>(&[]);
        assert_eq!(
            b.sql(),
            "SELECT 1 WHERE a = $1 AND b IN ($2, $3) AND c IN (NULL)"
        );
    }
}
