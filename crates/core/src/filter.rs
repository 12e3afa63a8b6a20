//! Chatwoot's filter language for conversations and contacts:
//! `{"payload": [{"attribute_key", "filter_operator", "values", "query_operator"}]}`.
//!
//! Parsing and validation live here; the store turns a valid filter into SQL. Conditions join
//! left to right with each condition's `query_operator` (AND binds tighter than OR, as in SQL
//! and as Chatwoot builds it).

use serde_json::Value;

use crate::validate::FieldError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    EqualTo,
    NotEqualTo,
    Contains,
    DoesNotContain,
    IsPresent,
    IsNotPresent,
    IsGreaterThan,
    IsLessThan,
    /// Older than N days (`values: [N]`).
    DaysBefore,
    StartsWith,
}

impl Operator {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "equal_to" => Self::EqualTo,
            "not_equal_to" => Self::NotEqualTo,
            "contains" => Self::Contains,
            "does_not_contain" => Self::DoesNotContain,
            "is_present" => Self::IsPresent,
            "is_not_present" => Self::IsNotPresent,
            "is_greater_than" => Self::IsGreaterThan,
            "is_less_than" => Self::IsLessThan,
            "days_before" => Self::DaysBefore,
            "starts_with" => Self::StartsWith,
            _ => return None,
        })
    }

    /// Operators that take no value.
    pub fn is_unary(self) -> bool {
        matches!(self, Self::IsPresent | Self::IsNotPresent)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Join {
    And,
    Or,
}

/// What kind of value an attribute holds, which decides the operators it accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttrType {
    Text,
    /// Text compared exactly (status, priority, language codes).
    Enum,
    Number,
    /// A time; values are dates (`2024-05-01`) or Unix seconds.
    Time,
    Flag,
    /// Labels: equal_to means "has any of".
    Labels,
}

impl AttrType {
    fn allows(self, op: Operator) -> bool {
        use Operator::*;
        match self {
            AttrType::Text => matches!(
                op,
                EqualTo
                    | NotEqualTo
                    | Contains
                    | DoesNotContain
                    | IsPresent
                    | IsNotPresent
                    | StartsWith
            ),
            AttrType::Enum | AttrType::Labels => {
                matches!(op, EqualTo | NotEqualTo | IsPresent | IsNotPresent)
            }
            AttrType::Number => matches!(
                op,
                EqualTo | NotEqualTo | IsGreaterThan | IsLessThan | IsPresent | IsNotPresent
            ),
            AttrType::Time => matches!(
                op,
                IsGreaterThan | IsLessThan | DaysBefore | IsPresent | IsNotPresent
            ),
            AttrType::Flag => matches!(op, EqualTo | NotEqualTo),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub attribute_key: String,
    pub attr_type: AttrType,
    /// True for a custom attribute (stored in the record's custom_attributes).
    pub custom: bool,
    pub operator: Operator,
    pub values: Vec<Value>,
    /// How this condition joins the next one.
    pub join: Join,
}

/// Resolves an attribute key to its type, or `None` when the model has no such attribute.
pub trait AttributeCatalog {
    fn standard(&self, key: &str) -> Option<AttrType>;
    fn custom(&self, key: &str) -> Option<AttrType>;
}

pub fn parse(body: &Value, catalog: &dyn AttributeCatalog) -> Result<Vec<Condition>, FieldError> {
    let items = body
        .get("payload")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            FieldError::new("payload", "invalid", "payload must be a list of conditions")
        })?;
    if items.is_empty() || items.len() > 30 {
        return Err(FieldError::new(
            "payload",
            "invalid",
            "give between 1 and 30 conditions",
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| parse_one(i, item, catalog))
        .collect()
}

fn parse_one(
    i: usize,
    item: &Value,
    catalog: &dyn AttributeCatalog,
) -> Result<Condition, FieldError> {
    let field = |name: &str| format!("payload[{i}].{name}");
    let key = item
        .get("attribute_key")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            FieldError::new(
                &field("attribute_key"),
                "blank",
                "attribute_key is required",
            )
        })?;
    let (attr_type, custom) = match catalog.standard(key) {
        Some(t) => (t, false),
        None => match catalog.custom(key) {
            Some(t) => (t, true),
            None => {
                return Err(FieldError::new(
                    &field("attribute_key"),
                    "unknown",
                    format!("unknown attribute `{key}`"),
                ));
            }
        },
    };
    let op_name = item
        .get("filter_operator")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let operator = Operator::parse(op_name).ok_or_else(|| {
        FieldError::new(
            &field("filter_operator"),
            "unknown",
            format!("unknown operator `{op_name}`"),
        )
    })?;
    if !attr_type.allows(operator) {
        return Err(FieldError::new(
            &field("filter_operator"),
            "not_allowed",
            format!("`{op_name}` does not apply to `{key}`"),
        ));
    }
    let values: Vec<Value> = match item.get("values") {
        Some(Value::Array(v)) => v.clone(),
        Some(Value::Null) | None => Vec::new(),
        Some(single) => vec![single.clone()],
    };
    if !operator.is_unary() && values.is_empty() {
        return Err(FieldError::new(
            &field("values"),
            "blank",
            format!("`{op_name}` needs a value"),
        ));
    }
    if values.len() > 100
        || values
            .iter()
            .any(|v| !(v.is_string() || v.is_number() || v.is_boolean()))
    {
        return Err(FieldError::new(
            &field("values"),
            "invalid",
            "values must be up to 100 strings, numbers or booleans",
        ));
    }
    let join = match item
        .get("query_operator")
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
    {
        Some(ref s) if s == "or" => Join::Or,
        Some(ref s) if s == "and" => Join::And,
        None => Join::And,
        Some(other) => {
            return Err(FieldError::new(
                &field("query_operator"),
                "invalid",
                format!("query_operator must be and or or, not `{other}`"),
            ));
        }
    };
    Ok(Condition {
        attribute_key: key.to_owned(),
        attr_type,
        custom,
        operator,
        values,
        join,
    })
}

/// Unix seconds for a time value: a number of seconds or a `YYYY-MM-DD` date (UTC midnight).
pub fn time_value(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => {
            if let Ok(n) = s.trim().parse::<i64>() {
                return Some(n);
            }
            chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|dt| dt.and_utc().timestamp())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Catalog;
    impl AttributeCatalog for Catalog {
        fn standard(&self, key: &str) -> Option<AttrType> {
            match key {
                "status" => Some(AttrType::Enum),
                "name" => Some(AttrType::Text),
                "created_at" => Some(AttrType::Time),
                _ => None,
            }
        }
        fn custom(&self, key: &str) -> Option<AttrType> {
            (key == "plan").then_some(AttrType::Text)
        }
    }

    #[test]
    fn parses_chatwoot_payloads() {
        let body = json!({"payload": [
            {"attribute_key": "status", "filter_operator": "equal_to", "values": ["open", "pending"], "query_operator": "OR"},
            {"attribute_key": "plan", "filter_operator": "contains", "values": ["pro"]},
        ]});
        let c = parse(&body, &Catalog).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].join, Join::Or);
        assert!(!c[0].custom);
        assert!(c[1].custom);
        assert_eq!(c[1].join, Join::And);
    }

    #[test]
    fn refuses_what_it_cannot_answer_precisely() {
        let cases = [
            (json!({}), "payload"),
            (json!({"payload": []}), "payload"),
            (
                json!({"payload": [{"attribute_key": "nope", "filter_operator": "equal_to", "values": [1]}]}),
                "payload[0].attribute_key",
            ),
            (
                json!({"payload": [{"attribute_key": "status", "filter_operator": "like", "values": [1]}]}),
                "payload[0].filter_operator",
            ),
            (
                json!({"payload": [{"attribute_key": "status", "filter_operator": "contains", "values": ["o"]}]}),
                "payload[0].filter_operator",
            ),
            (
                json!({"payload": [{"attribute_key": "name", "filter_operator": "equal_to", "values": []}]}),
                "payload[0].values",
            ),
            (
                json!({"payload": [{"attribute_key": "name", "filter_operator": "equal_to", "values": [{"a": 1}]}]}),
                "payload[0].values",
            ),
            (
                json!({"payload": [{"attribute_key": "name", "filter_operator": "equal_to", "values": ["x"], "query_operator": "xor"}]}),
                "payload[0].query_operator",
            ),
        ];
        for (body, field) in cases {
            let err = parse(&body, &Catalog).unwrap_err();
            assert_eq!(err.field, field, "{body}");
        }
    }

    #[test]
    fn time_values() {
        assert_eq!(time_value(&json!(1_700_000_000)), Some(1_700_000_000));
        assert_eq!(time_value(&json!("2024-05-01")), Some(1_714_521_600));
        assert_eq!(time_value(&json!("yesterday")), None);
    }
}
