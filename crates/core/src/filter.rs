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
    /// Text compared exactly (status, priority, language codes), from the values the
    /// catalogue knows ([`AttributeCatalog::choices`]).
    Enum,
    /// Whole numbers: record ids.
    Integer,
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
            AttrType::Number | AttrType::Integer => matches!(
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
    pub values: Values,
    /// How this condition joins the next one.
    pub join: Join,
}

/// A condition's values, each checked against its attribute's type and operator: what reaches
/// the store is exactly what it compares, never a string it must guess about.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    /// `is_present` / `is_not_present`.
    None,
    /// Text, enum and label values.
    Texts(Vec<String>),
    Integers(Vec<i64>),
    Numbers(Vec<f64>),
    Flags(Vec<bool>),
    /// One moment, in Unix seconds (`is_greater_than` / `is_less_than` on a time).
    Time(i64),
    /// `days_before`: a whole number of days.
    Days(u32),
}

/// The largest `days_before` accepted (about 270 years).
pub const MAX_DAYS: u32 = 100_000;

/// Longest text value accepted.
const MAX_TEXT: usize = 1_000;

/// Which values an enum attribute takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Choices {
    /// Any non-blank text (a list attribute without defined values).
    Any,
    /// Exactly one of these.
    OneOf(Vec<String>),
    /// An ISO 3166 alpha-2 country code (`BR`).
    CountryCode,
    /// A language tag (`en`, `pt-BR`, `pt_BR`).
    Language,
}

impl Choices {
    fn accepts(&self, s: &str) -> bool {
        match self {
            Choices::Any => !s.trim().is_empty(),
            Choices::OneOf(values) => values.iter().any(|v| v == s),
            Choices::CountryCode => s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic()),
            Choices::Language => is_language_tag(s),
        }
    }

    fn describe(&self) -> String {
        match self {
            Choices::Any => "non-blank text".into(),
            Choices::OneOf(values) => format!("one of {}", values.join(", ")),
            Choices::CountryCode => "a two-letter country code".into(),
            Choices::Language => "a language code such as en or pt-BR".into(),
        }
    }
}

fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split(['-', '_']);
    let primary = parts.next().unwrap_or_default();
    (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Resolves an attribute key to its type, or `None` when the model has no such attribute.
pub trait AttributeCatalog {
    fn standard(&self, key: &str) -> Option<AttrType>;
    fn custom(&self, key: &str) -> Option<AttrType>;
    /// The values an [`AttrType::Enum`] attribute takes (`custom`: a custom attribute).
    fn choices(&self, _key: &str, _custom: bool) -> Choices {
        Choices::Any
    }
}

pub fn parse(body: &Value, catalog: &dyn AttributeCatalog) -> Result<Vec<Condition>, FieldError> {
    let items = body
        .get("payload")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            FieldError::new("payload", "invalid", "payload must be a list of conditions")
        })?;
    if items.is_empty() {
        return Err(FieldError::new(
            "payload",
            "invalid",
            "give between 1 and 30 conditions",
        ));
    }
    parse_items(items, "payload", catalog)
}

/// Conditions given as a list under `field` (errors name `field[i].…`); at most 30.
pub fn parse_items(
    items: &[Value],
    field: &str,
    catalog: &dyn AttributeCatalog,
) -> Result<Vec<Condition>, FieldError> {
    if items.len() > 30 {
        return Err(FieldError::new(
            field,
            "invalid",
            "give between 1 and 30 conditions",
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| parse_one(field, i, item, catalog))
        .collect()
}

fn parse_one(
    list: &str,
    i: usize,
    item: &Value,
    catalog: &dyn AttributeCatalog,
) -> Result<Condition, FieldError> {
    let field = |name: &str| format!("{list}[{i}].{name}");
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
            // Chatwoot's FilterHelper: neither standard nor defined is InvalidAttribute, a
            // 422 (WAHA defines its keys before it filters on them).
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
    let raw: Vec<Value> = match item.get("values") {
        Some(Value::Array(v)) => v.clone(),
        Some(Value::Null) | None => Vec::new(),
        Some(single) => vec![single.clone()],
    };
    let choices = if attr_type == AttrType::Enum {
        catalog.choices(key, custom)
    } else {
        Choices::Any
    };
    let values = typed_values(attr_type, operator, &choices, &raw).map_err(|what| {
        FieldError::new(
            &field("values"),
            if raw.is_empty() { "blank" } else { "invalid" },
            format!("{list}[{i}] ({key} {op_name}): {what}"),
        )
    })?;
    let join = parse_join(&field("query_operator"), item)?;
    Ok(Condition {
        attribute_key: key.to_owned(),
        attr_type,
        custom,
        operator,
        values,
        join,
    })
}

fn parse_join(field: &str, item: &Value) -> Result<Join, FieldError> {
    Ok(
        match item
            .get("query_operator")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
        {
            Some(ref s) if s == "or" => Join::Or,
            Some(ref s) if s == "and" => Join::And,
            None => Join::And,
            Some(other) => {
                return Err(FieldError::new(
                    field,
                    "invalid",
                    format!("query_operator must be and or or, not `{other}`"),
                ));
            }
        },
    )
}

/// Checks `raw` for an attribute of type `t` under `op`; the error says what was expected.
fn typed_values(
    t: AttrType,
    op: Operator,
    choices: &Choices,
    raw: &[Value],
) -> Result<Values, String> {
    if op.is_unary() {
        return Ok(Values::None);
    }
    let single = matches!(
        op,
        Operator::IsGreaterThan | Operator::IsLessThan | Operator::DaysBefore
    );
    if single && raw.len() != 1 {
        return Err(format!("needs exactly one value, not {}", raw.len()));
    }
    if raw.is_empty() {
        return Err("needs a value".into());
    }
    if raw.len() > 100 {
        return Err("takes at most 100 values".into());
    }
    fn each<T>(
        raw: &[Value],
        expected: &str,
        read: impl Fn(&Value) -> Option<T>,
    ) -> Result<Vec<T>, String> {
        raw.iter()
            .map(|v| read(v).ok_or_else(|| format!("expected {expected}, not {}", shown(v))))
            .collect()
    }
    if op == Operator::DaysBefore {
        let expected = format!("a whole number of days from 0 to {MAX_DAYS}");
        return each(raw, &expected, days_value).map(|d| Values::Days(d[0]));
    }
    Ok(match t {
        AttrType::Time => {
            let expected = "an ISO 8601 date (2024-05-01), date-time or Unix seconds";
            Values::Time(each(raw, expected, time_value)?[0])
        }
        AttrType::Integer => Values::Integers(each(raw, "a whole number", integer_value)?),
        AttrType::Number => Values::Numbers(each(raw, "a number", number_value)?),
        AttrType::Flag => Values::Flags(each(raw, "true or false", flag_value)?),
        AttrType::Enum => Values::Texts(each(raw, &choices.describe(), |v| {
            v.as_str().filter(|s| choices.accepts(s)).map(str::to_owned)
        })?),
        AttrType::Text => {
            let expected = format!("non-blank text of at most {MAX_TEXT} characters");
            Values::Texts(each(raw, &expected, |v| match v {
                Value::String(s) => text_value(s),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })?)
        }
        AttrType::Labels => {
            let expected = "a label name";
            Values::Texts(each(raw, expected, |v| v.as_str().and_then(text_value))?)
        }
    })
}

/// A value as the error message quotes it (cut short).
fn shown(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

fn text_value(s: &str) -> Option<String> {
    let ok =
        !s.trim().is_empty() && s.chars().count() <= MAX_TEXT && !s.chars().any(char::is_control);
    ok.then(|| s.to_owned())
}

/// Digits only, with an optional leading minus: what a whole number looks like as text.
fn is_integer_text(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A contact's `phone_number` as Chatwoot's contact filter compares it: a `+` and the value
/// without its own `+` (`"+#{current_val&.delete('+')}"` in app/services/contacts/
/// filter_service.rb), so `5511987654321` and `+5511987654321` find the same contact — bridges
/// (Evolution API) send the digits alone.
pub fn chatwoot_phone_value(value: &str) -> String {
    format!("+{}", value.trim().replace('+', ""))
}

/// A whole number, as a JSON integer or its digits in a string.
pub fn integer_value(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) if is_integer_text(s) => s.parse().ok(),
        _ => None,
    }
}

/// A finite number, as JSON or as plain decimal text (`12`, `-3.5`; no exponents, no `NaN`).
pub fn number_value(v: &Value) -> Option<f64> {
    let n = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => {
            let (whole, fraction) = s.split_once('.').unwrap_or((s, "0"));
            if !is_integer_text(whole) || !is_integer_text(fraction) || fraction.starts_with('-') {
                return None;
            }
            s.parse().ok()?
        }
        _ => return None,
    };
    n.is_finite().then_some(n)
}

/// `days_before`'s value: a whole number of days from 0 to [`MAX_DAYS`].
pub fn days_value(v: &Value) -> Option<u32> {
    let days = match v {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()?
        }
        _ => return None,
    };
    u32::try_from(days).ok().filter(|d| *d <= MAX_DAYS)
}

/// A flag: JSON `true`/`false` or the words.
pub fn flag_value(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" => Some(true),
        Value::String(s) if s == "false" => Some(false),
        _ => None,
    }
}

/// `YYYY-MM-DD` exactly (chrono alone would take unpadded fields and signed years).
fn is_date_shape(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
}

/// Unix seconds for a time value: an ISO 8601 date (`2024-05-01`, UTC midnight), an RFC 3339
/// date-time (`2024-05-01T10:00:00Z`), or a JSON integer of seconds.
pub fn time_value(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => {
            if is_date_shape(s) {
                return chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .ok()
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .map(|dt| dt.and_utc().timestamp());
            }
            chrono::DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|dt| dt.timestamp())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    struct Catalog;
    impl AttributeCatalog for Catalog {
        fn standard(&self, key: &str) -> Option<AttrType> {
            match key {
                "status" => Some(AttrType::Enum),
                "country_code" => Some(AttrType::Enum),
                "browser_language" => Some(AttrType::Enum),
                "name" => Some(AttrType::Text),
                "created_at" => Some(AttrType::Time),
                "assignee_id" => Some(AttrType::Integer),
                "blocked" => Some(AttrType::Flag),
                "labels" => Some(AttrType::Labels),
                _ => None,
            }
        }
        fn custom(&self, key: &str) -> Option<AttrType> {
            match key {
                "plan" => Some(AttrType::Text),
                "order_total" => Some(AttrType::Number),
                "tier" => Some(AttrType::Enum),
                _ => None,
            }
        }
        fn choices(&self, key: &str, custom: bool) -> Choices {
            match (key, custom) {
                ("status", false) => {
                    Choices::OneOf(["open", "resolved", "pending"].map(String::from).to_vec())
                }
                ("country_code", false) => Choices::CountryCode,
                ("browser_language", false) => Choices::Language,
                ("tier", true) => Choices::OneOf(vec!["gold".into(), "silver".into()]),
                _ => Choices::Any,
            }
        }
    }

    fn one(attr: &str, op: &str, values: Value) -> Result<Values, FieldError> {
        let body =
            json!({"payload": [{"attribute_key": attr, "filter_operator": op, "values": values}]});
        parse(&body, &Catalog).map(|c| c[0].values.clone())
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
    fn phone_values_compare_as_chatwoot_does() {
        assert_eq!(chatwoot_phone_value("5511987654321"), "+5511987654321");
        assert_eq!(chatwoot_phone_value("+5511987654321"), "+5511987654321");
        assert_eq!(chatwoot_phone_value(" 123456 "), "+123456");
    }

    #[test]
    fn time_values() {
        assert_eq!(time_value(&json!(1_700_000_000)), Some(1_700_000_000));
        assert_eq!(time_value(&json!("2024-05-01")), Some(1_714_521_600));
        assert_eq!(
            time_value(&json!("2024-05-01T01:00:00Z")),
            Some(1_714_525_200)
        );
        for bad in [
            json!("yesterday"),
            json!("2024-5-1"),
            json!("+024-05-01"),
            json!("2024-02-30"),
            json!(" 2024-05-01"),
            json!("1700000000"),
            json!(1.5),
            json!(true),
        ] {
            assert_eq!(time_value(&bad), None, "{bad}");
        }
    }

    #[test]
    fn values_are_typed_by_attribute_and_operator() {
        assert_eq!(
            one("created_at", "days_before", json!(["3"])),
            Ok(Values::Days(3))
        );
        assert_eq!(
            one("created_at", "days_before", json!([0])),
            Ok(Values::Days(0))
        );
        assert_eq!(
            one("created_at", "is_greater_than", json!(["2024-05-01"])),
            Ok(Values::Time(1_714_521_600))
        );
        assert_eq!(
            one("assignee_id", "equal_to", json!([1, "2"])),
            Ok(Values::Integers(vec![1, 2]))
        );
        assert_eq!(
            one("order_total", "is_less_than", json!(["12.50"])),
            Ok(Values::Numbers(vec![12.5]))
        );
        assert_eq!(
            one("blocked", "equal_to", json!([true, "false"])),
            Ok(Values::Flags(vec![true, false]))
        );
        assert_eq!(
            one("status", "equal_to", json!(["open"])),
            Ok(Values::Texts(vec!["open".into()]))
        );
        assert_eq!(
            one("country_code", "equal_to", json!(["BR"])),
            Ok(Values::Texts(vec!["BR".into()]))
        );
        assert_eq!(
            one("browser_language", "equal_to", json!(["pt-BR"])),
            Ok(Values::Texts(vec!["pt-BR".into()]))
        );
        assert_eq!(
            one("tier", "equal_to", json!(["gold"])),
            Ok(Values::Texts(vec!["gold".into()]))
        );
        assert_eq!(
            one("name", "contains", json!([5511])),
            Ok(Values::Texts(vec!["5511".into()]))
        );
        assert_eq!(one("name", "is_present", json!([])), Ok(Values::None));
    }

    #[test]
    fn loose_values_are_refused_naming_the_condition() {
        let cases = [
            (
                "created_at",
                "days_before",
                json!(["1; DROP TABLE contacts"]),
            ),
            ("created_at", "days_before", json!(["-1"])),
            ("created_at", "days_before", json!([-1])),
            ("created_at", "days_before", json!(["2.5"])),
            ("created_at", "days_before", json!([2.5])),
            ("created_at", "days_before", json!([MAX_DAYS + 1])),
            ("created_at", "days_before", json!(["3", "4"])),
            ("created_at", "days_before", json!([true])),
            ("created_at", "is_greater_than", json!(["last tuesday"])),
            (
                "created_at",
                "is_greater_than",
                json!(["2024-05-01", "2024-06-01"]),
            ),
            ("assignee_id", "equal_to", json!(["1 OR 1=1"])),
            ("assignee_id", "equal_to", json!([1.5])),
            ("assignee_id", "equal_to", json!(["1e3"])),
            ("order_total", "is_greater_than", json!(["NaN"])),
            ("order_total", "is_greater_than", json!(["inf"])),
            ("order_total", "is_greater_than", json!(["1e9"])),
            ("order_total", "is_greater_than", json!([" 12"])),
            ("order_total", "equal_to", json!([true])),
            ("blocked", "equal_to", json!(["yes"])),
            ("blocked", "equal_to", json!([1])),
            ("status", "equal_to", json!(["opened"])),
            ("status", "equal_to", json!([1])),
            ("country_code", "equal_to", json!(["Brazil"])),
            ("browser_language", "equal_to", json!(["en'--"])),
            ("tier", "equal_to", json!(["platinum"])),
            ("name", "contains", json!([""])),
            ("name", "contains", json!(["   "])),
            ("name", "equal_to", json!([true])),
            ("name", "equal_to", json!(["a\u{0}b"])),
            ("labels", "equal_to", json!([7])),
        ];
        for (attr, op, values) in cases {
            let err = one(attr, op, values.clone()).unwrap_err();
            assert_eq!(err.field, "payload[0].values", "{attr} {op} {values}");
            assert_eq!(err.code, "invalid", "{attr} {op} {values}");
            assert!(
                err.message.contains(&format!("({attr} {op})")),
                "names the condition: {}",
                err.message
            );
        }
        let err = one(
            "created_at",
            "days_before",
            json!(["1; DROP TABLE contacts"]),
        )
        .unwrap_err();
        assert_eq!(
            err.message,
            "payload[0] (created_at days_before): expected a whole number of days from 0 to \
             100000, not \"1; DROP TABLE contacts\""
        );
    }

    proptest! {
        /// Any text that is not a plain count of days is refused by days_before, and a count
        /// in range always passes, as a number or as its digits.
        #[test]
        fn days_before_takes_only_counts(text in "\\PC{0,12}", days in 0u32..=MAX_DAYS) {
            let digits_only = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
            let parsed = one("created_at", "days_before", json!([text.clone()]));
            if digits_only && text.parse::<u64>().is_ok_and(|n| n <= u64::from(MAX_DAYS)) {
                prop_assert_eq!(parsed, Ok(Values::Days(text.parse().unwrap_or_default())));
            } else {
                prop_assert!(parsed.is_err(), "{text:?} was accepted");
            }
            prop_assert_eq!(one("created_at", "days_before", json!([days])), Ok(Values::Days(days)));
            prop_assert_eq!(
                one("created_at", "days_before", json!([days.to_string()])),
                Ok(Values::Days(days))
            );
        }

        /// Integer attributes accept exactly the i64s, whatever else is typed.
        #[test]
        fn integers_are_whole_numbers(n in any::<i64>(), junk in "[^0-9-]{1,8}") {
            prop_assert_eq!(
                one("assignee_id", "equal_to", json!([n, n.to_string()])),
                Ok(Values::Integers(vec![n, n]))
            );
            let with_junk = format!("{n}{junk}");
            prop_assert!(one("assignee_id", "equal_to", json!([with_junk])).is_err());
        }

        /// Dates round-trip: any real calendar day is accepted as YYYY-MM-DD, at its midnight.
        #[test]
        fn iso_dates_are_midnights(days in 0i64..100_000) {
            let day = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
                + chrono::Duration::days(days);
            let text = day.format("%Y-%m-%d").to_string();
            prop_assert_eq!(
                one("created_at", "is_less_than", json!([text])),
                Ok(Values::Time(days * 86_400))
            );
        }

        /// Whatever JSON arrives as values, parsing answers (never panics) and what it accepts
        /// for a number attribute is finite.
        #[test]
        fn numbers_are_finite(v in prop_oneof![
            any::<f64>().prop_map(|f| json!(f)),
            any::<i64>().prop_map(|i| json!(i)),
            "\\PC{0,16}".prop_map(|s| json!(s)),
        ]) {
            if let Ok(Values::Numbers(ns)) = one("order_total", "is_greater_than", json!([v])) {
                prop_assert!(ns.iter().all(|n| n.is_finite()));
            }
        }
    }
}
