//! Compiling Chatwoot filter conditions (parsed and validated in core) to SQL.
//!
//! JSON attributes are read with each database's own JSON functions, the one place besides the
//! migrations and the outbox horizon where the dialects differ. Numeric casts are guarded, so a
//! custom attribute holding text never turns a filter into a database error.

use std::collections::HashMap;

use throughline_core::conversation::{Priority, Status};
use throughline_core::filter::{
    AttrType, AttributeCatalog, Choices, Condition, Join, Operator, Values,
};
use throughline_core::model::AttributeModel;

use crate::clock::now_ms;
use crate::error::Result;
use crate::scope::AccountScope;
use crate::sql::SqlBuilder;
use crate::{Conn, attributes};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Conversations,
    Contacts,
}

/// Where an attribute lives.
enum Source {
    Column(&'static str),
    /// Milliseconds column compared in seconds.
    TimeColumn(&'static str),
    Additional(&'static str),
    Custom(String),
    Labels,
}

fn standard(target: Target, key: &str) -> Option<(AttrType, Source)> {
    use AttrType::*;
    Some(match (target, key) {
        (Target::Conversations, "status") => (Enum, Source::Column("status")),
        (Target::Conversations, "priority") => (Enum, Source::Column("priority")),
        (Target::Conversations, "assignee_id") => (Integer, Source::Column("assignee_id")),
        (Target::Conversations, "inbox_id") => (Integer, Source::Column("inbox_id")),
        (Target::Conversations, "team_id") => (Integer, Source::Column("team_id")),
        (Target::Conversations, "contact_id") => (Integer, Source::Column("contact_id")),
        (Target::Conversations, "id" | "display_id") => (Integer, Source::Column("display_id")),
        (Target::Conversations, "waiting_since") => (Time, Source::TimeColumn("waiting_since")),
        (Target::Conversations, "browser_language") => {
            (Enum, Source::Additional("browser_language"))
        }
        (Target::Conversations, "conversation_language") => {
            (Enum, Source::Additional("conversation_language"))
        }
        (Target::Conversations, "country_code") => (Enum, Source::Additional("country_code")),
        (Target::Conversations, "referer") => (Text, Source::Additional("referer")),
        (Target::Contacts, "name") => (Text, Source::Column("name")),
        (Target::Contacts, "email") => (Text, Source::Column("email")),
        (Target::Contacts, "phone_number") => (Text, Source::Column("phone_number")),
        (Target::Contacts, "identifier") => (Text, Source::Column("identifier")),
        (Target::Contacts, "blocked") => (Flag, Source::Column("blocked")),
        (Target::Contacts, "country_code") => (Enum, Source::Additional("country_code")),
        (Target::Contacts, "city") => (Text, Source::Additional("city")),
        (Target::Contacts, "company") => (Text, Source::Additional("company_name")),
        (_, "labels") => (Labels, Source::Labels),
        (_, "created_at") => (Time, Source::TimeColumn("created_at")),
        (_, "last_activity_at") => (Time, Source::TimeColumn("last_activity_at")),
        _ => return None,
    })
}

/// A conversation's status filter also takes Chatwoot's `all`.
const ALL_STATUSES: &str = "all";

/// The values a standard enum attribute takes.
fn standard_choices(target: Target, key: &str) -> Choices {
    match (target, key) {
        (Target::Conversations, "status") => Choices::OneOf(
            Status::ALL
                .iter()
                .map(|s| s.as_str())
                .chain([ALL_STATUSES])
                .map(str::to_owned)
                .collect(),
        ),
        (Target::Conversations, "priority") => Choices::OneOf(
            [
                Priority::Low,
                Priority::Medium,
                Priority::High,
                Priority::Urgent,
            ]
            .iter()
            .map(|p| p.as_str().to_owned())
            .collect(),
        ),
        (_, "country_code") => Choices::CountryCode,
        (_, "browser_language" | "conversation_language") => Choices::Language,
        _ => Choices::Any,
    }
}

/// The attributes a filter on `target` may use, including the account's custom attributes.
pub struct Catalog {
    target: Target,
    custom: HashMap<String, (AttrType, Choices)>,
}

impl AttributeCatalog for Catalog {
    fn standard(&self, key: &str) -> Option<AttrType> {
        standard(self.target, key).map(|(t, _)| t)
    }

    fn custom(&self, key: &str) -> Option<AttrType> {
        self.custom.get(key).map(|(t, _)| *t)
    }

    fn choices(&self, key: &str, custom: bool) -> Choices {
        if custom {
            self.custom
                .get(key)
                .map(|(_, c)| c.clone())
                .unwrap_or(Choices::Any)
        } else {
            standard_choices(self.target, key)
        }
    }
}

pub async fn catalog(conn: &mut Conn, scope: &AccountScope, target: Target) -> Result<Catalog> {
    let model = match target {
        Target::Conversations => AttributeModel::ConversationAttribute,
        Target::Contacts => AttributeModel::ContactAttribute,
    };
    let custom = custom_types(conn, scope, Some(model)).await?;
    Ok(Catalog { target, custom })
}

/// The account's custom attributes (of one model, or of both — a key defined on both keeps
/// the conversation's) with the type and values filters compare them by.
pub async fn custom_types(
    conn: &mut Conn,
    scope: &AccountScope,
    model: Option<AttributeModel>,
) -> Result<HashMap<String, (AttrType, Choices)>> {
    let mut defs = attributes::list(conn, scope, model).await?;
    // Contacts' first, so that conversations' overwrite them below.
    defs.sort_by_key(|d| d.attribute_model == AttributeModel::ConversationAttribute);
    Ok(defs
        .into_iter()
        .map(|d| {
            let t = match d.attribute_display_type.as_str() {
                "number" | "currency" | "percent" => AttrType::Number,
                "checkbox" => AttrType::Flag,
                "list" => AttrType::Enum,
                _ => AttrType::Text,
            };
            // A list attribute takes the values it defines.
            let listed: Vec<String> = d
                .attribute_values
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let choices = if listed.is_empty() {
                Choices::Any
            } else {
                Choices::OneOf(listed)
            };
            (d.attribute_key, (t, choices))
        })
        .collect())
}

pub(crate) fn is_postgres(conn: &Conn) -> bool {
    conn.backend_name().eq_ignore_ascii_case("postgresql")
}

/// A JSON attribute as text: `json_extract` on SQLite, `->>` on PostgreSQL.
fn json_text(q: &mut SqlBuilder, pg: bool, column: &str, key: &str) {
    if pg {
        q.push(&format!("({column}::jsonb ->> "))
            .bind(key.to_owned())
            .push(")");
    } else {
        q.push(&format!("CAST(json_extract({column}, "))
            .bind(format!("$.{key}"))
            .push(") AS TEXT)");
    }
}

fn push_expr(q: &mut SqlBuilder, pg: bool, source: &Source, numeric: bool) {
    let (column, key) = match source {
        Source::Column(c) | Source::TimeColumn(c) => {
            q.push(c);
            return;
        }
        Source::Additional(k) => ("additional_attributes", (*k).to_owned()),
        Source::Custom(k) => ("custom_attributes", k.clone()),
        Source::Labels => return,
    };
    if !numeric {
        json_text(q, pg, column, &key);
    } else if pg {
        // Text that is not a number reads as NULL instead of failing the cast.
        q.push("(CASE WHEN ");
        json_text(q, pg, column, &key);
        q.push(" ~ '^-?[0-9]+(\\.[0-9]+)?$' THEN CAST(");
        json_text(q, pg, column, &key);
        q.push(" AS DOUBLE PRECISION) END)");
    } else {
        q.push("CAST(");
        json_text(q, pg, column, &key);
        q.push(" AS REAL)");
    }
}

/// Appends ` AND (<conditions>)` for a list of valid conditions.
pub(crate) fn push_conditions(
    q: &mut SqlBuilder,
    conn: &Conn,
    scope: &AccountScope,
    target: Target,
    conditions: &[Condition],
) {
    if conditions.is_empty() {
        return;
    }
    let pg = is_postgres(conn);
    q.push(" AND (");
    for (i, c) in conditions.iter().enumerate() {
        if i > 0 {
            q.push(match conditions[i - 1].join {
                Join::And => " AND ",
                Join::Or => " OR ",
            });
        }
        q.push("(");
        push_condition(q, pg, scope, target, c);
        q.push(")");
    }
    q.push(")");
}

fn push_condition(
    q: &mut SqlBuilder,
    pg: bool,
    scope: &AccountScope,
    target: Target,
    c: &Condition,
) {
    let source = if c.custom {
        Source::Custom(c.attribute_key.clone())
    } else {
        match standard(target, &c.attribute_key) {
            Some((_, s)) => s,
            None => {
                q.push("1 = 0");
                return;
            }
        }
    };
    if let Source::Labels = source {
        push_labels(q, scope, target, c);
        return;
    }
    let numeric = matches!(c.attr_type, AttrType::Number | AttrType::Integer);
    match (c.operator, &c.values) {
        (Operator::EqualTo | Operator::NotEqualTo, values) => {
            let negate = c.operator == Operator::NotEqualTo;
            if let Values::Texts(texts) = values
                && matches!(source, Source::Column("status"))
                && texts.iter().any(|t| t == ALL_STATUSES)
            {
                // Every status: everything, or (not equal) nothing.
                q.push(if negate { "1 = 0" } else { "1 = 1" });
                return;
            }
            if negate {
                q.push("(");
                push_expr(q, pg, &source, numeric);
                q.push(" IS NULL OR ");
            }
            push_expr(q, pg, &source, numeric);
            q.push(if negate { " NOT IN " } else { " IN " });
            match (values, &source) {
                (Values::Flags(flags), Source::Column(_)) => {
                    q.bind_list(flags);
                }
                (Values::Flags(flags), _) => {
                    // A JSON attribute may hold the flag as true/false or 1/0.
                    let forms: Vec<String> = flags
                        .iter()
                        .flat_map(|f| if *f { ["true", "1"] } else { ["false", "0"] })
                        .map(str::to_owned)
                        .collect();
                    q.bind_list(&forms);
                }
                (Values::Integers(ints), _) => {
                    q.bind_list(ints);
                }
                (Values::Numbers(numbers), _) => {
                    q.bind_list(numbers);
                }
                (Values::Texts(texts), Source::Column("phone_number"))
                    if target == Target::Contacts =>
                {
                    // Chatwoot compares `+` and the value's digits (bridges send no `+`).
                    let phones: Vec<String> = texts
                        .iter()
                        .map(|t| throughline_core::filter::chatwoot_phone_value(t))
                        .collect();
                    q.bind_list(&phones);
                }
                (Values::Texts(texts), _) => {
                    q.bind_list(texts);
                }
                (Values::None | Values::Time(_) | Values::Days(_), _) => {
                    // Core never pairs equal_to with these; match nothing rather than guess.
                    q.push("(NULL)");
                }
            }
            if negate {
                q.push(")");
            }
        }
        (
            Operator::Contains | Operator::DoesNotContain | Operator::StartsWith,
            Values::Texts(texts),
        ) => {
            let negate = c.operator == Operator::DoesNotContain;
            q.push("(");
            if negate {
                push_expr(q, pg, &source, false);
                q.push(" IS NULL OR (");
            }
            for (i, t) in texts.iter().enumerate() {
                if i > 0 {
                    q.push(if negate { " AND " } else { " OR " });
                }
                let escaped = crate::like_escape(&t.to_lowercase());
                let pattern = if c.operator == Operator::StartsWith {
                    format!("{escaped}%")
                } else {
                    format!("%{escaped}%")
                };
                q.push("LOWER(");
                push_expr(q, pg, &source, false);
                q.push(if negate { ") NOT LIKE " } else { ") LIKE " })
                    .bind(pattern)
                    .push(" ESCAPE '\\'");
            }
            if negate {
                q.push(")");
            }
            q.push(")");
        }
        (Operator::IsPresent | Operator::IsNotPresent, _) => {
            let present = c.operator == Operator::IsPresent;
            if numeric || matches!(source, Source::TimeColumn(_)) || c.attr_type == AttrType::Flag {
                push_expr(q, pg, &source, numeric);
                q.push(if present { " IS NOT NULL" } else { " IS NULL" });
            } else {
                q.push(if present { "(" } else { "NOT (" });
                push_expr(q, pg, &source, false);
                q.push(" IS NOT NULL AND ");
                push_expr(q, pg, &source, false);
                q.push(" <> '')");
            }
        }
        (Operator::IsGreaterThan | Operator::IsLessThan, values) => {
            let cmp = if c.operator == Operator::IsGreaterThan {
                " > "
            } else {
                " < "
            };
            match values {
                Values::Time(secs) => {
                    push_expr(q, pg, &source, false);
                    q.push(cmp).bind(secs.saturating_mul(1000));
                }
                Values::Integers(ints) if !ints.is_empty() => {
                    push_expr(q, pg, &source, true);
                    q.push(cmp).bind(ints[0]);
                }
                Values::Numbers(numbers) if !numbers.is_empty() => {
                    push_expr(q, pg, &source, true);
                    q.push(cmp).bind(numbers[0]);
                }
                _ => {
                    q.push("1 = 0");
                }
            }
        }
        (Operator::DaysBefore, Values::Days(days)) => {
            push_expr(q, pg, &source, false);
            q.push(" < ")
                .bind(now_ms().saturating_sub(i64::from(*days).saturating_mul(86_400_000)));
        }
        // Core pairs every operator with its kind of values; anything else matches nothing.
        (Operator::Contains | Operator::DoesNotContain | Operator::StartsWith, _)
        | (Operator::DaysBefore, _) => {
            q.push("1 = 0");
        }
    }
}

fn push_labels(q: &mut SqlBuilder, scope: &AccountScope, target: Target, c: &Condition) {
    let (table, column) = match target {
        Target::Conversations => ("conversation_labels", "conversation_id"),
        Target::Contacts => ("contact_labels", "contact_id"),
    };
    let texts: Vec<String> = match &c.values {
        Values::Texts(t) => t.iter().map(|s| s.to_lowercase()).collect(),
        _ => Vec::new(),
    };
    let negate = matches!(c.operator, Operator::NotEqualTo | Operator::IsNotPresent);
    q.push(if negate { "id NOT IN " } else { "id IN " });
    q.push(&format!(
        "(SELECT {column} FROM {table} WHERE account_id = "
    ))
    .bind(scope.account_id());
    if matches!(c.operator, Operator::EqualTo | Operator::NotEqualTo) {
        q.push(" AND label IN ").bind_list(&texts);
    }
    q.push(")");
}
