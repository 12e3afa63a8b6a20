//! Rails's params from text: a query string, an `application/x-www-form-urlencoded` body or a
//! multipart form's text fields, read into the JSON value a JSON client would have sent.
//!
//! Keys nest as Rack nests them: `contact[name]=Ana` is `{"contact": {"name": "Ana"}}`,
//! `labels[]=a&labels[]=b` is `{"labels": ["a", "b"]}`, `payload[][attribute_key]=name&
//! payload[][values][]=x` is a list of objects (a new object starts when a key repeats). Beyond
//! Rack: an object whose keys are all indexes (`labels[0]=a&labels[1]=b`, what `qs` and PHP send)
//! becomes a list in index order, as Rails's strong parameters treat it; and a plain key given
//! twice (`labels=a&labels=b`, what `URLSearchParams` sends) collects both values in a list, of
//! which a field taking one value takes the last (`cast::Lenient`, Rack's "last wins"). Values
//! stay strings: `cast::Lenient` reads them as the field they fill asks.

use serde_json::{Map, Value};

/// Brackets one key may nest (Rack allows 32 too).
const MAX_DEPTH: usize = 32;

/// Why a params text cannot be read: a key used both for a value and for nested keys, or
/// nesting deeper than `MAX_DEPTH`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ParamsError(pub String);

impl std::fmt::Display for ParamsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Reads `a=1&b[c]=2` text (percent-decoded, `+` as space).
pub(crate) fn parse_urlencoded(text: &[u8]) -> Result<Value, ParamsError> {
    let pairs: Vec<(String, String)> = serde_html_form::from_bytes(text)
        .map_err(|e| ParamsError(format!("cannot read the parameters: {e}")))?;
    let mut params = Params::default();
    for (name, value) in pairs {
        params.insert(&name, Value::String(value))?;
    }
    Ok(params.finish())
}

/// Parameters being collected, one `name=value` at a time.
#[derive(Default)]
pub(crate) struct Params {
    root: Map<String, Value>,
}

#[derive(Debug, PartialEq, Eq)]
enum Step<'a> {
    /// `[key]`
    Key(&'a str),
    /// `[]`
    Push,
}

/// `a[b][]` → (`a`, [Key(b), Push]); a name whose brackets do not pair up is a plain key.
fn split_name(name: &str) -> (&str, Vec<Step<'_>>) {
    let Some(open) = name.find('[').filter(|&i| i > 0) else {
        return (name, Vec::new());
    };
    let (head, mut rest) = name.split_at(open);
    let mut steps = Vec::new();
    while !rest.is_empty() {
        // After a `]`, only another `[` may follow (`a[b]]` is a plain key, as is `a[b]c`).
        if !rest.starts_with('[') {
            return (name, Vec::new());
        }
        let Some(close) = rest.find(']') else {
            return (name, Vec::new());
        };
        let inner = &rest[1..close];
        if inner.contains('[') {
            return (name, Vec::new());
        }
        steps.push(if inner.is_empty() {
            Step::Push
        } else {
            Step::Key(inner)
        });
        rest = &rest[close + 1..];
    }
    (head, steps)
}

fn conflict(name: &str) -> ParamsError {
    ParamsError(format!(
        "the parameter `{name}` is given both as a value and as a list or nested keys"
    ))
}

fn is_scalar(v: &Value) -> bool {
    !v.is_array() && !v.is_object()
}

impl Params {
    /// Adds one `name=value` (a query or form pair, a multipart text field).
    pub(crate) fn insert(&mut self, name: &str, value: Value) -> Result<(), ParamsError> {
        if name.is_empty() {
            return Ok(());
        }
        let (head, steps) = split_name(name);
        if steps.len() > MAX_DEPTH {
            return Err(ParamsError(format!(
                "the parameter `{head}` nests deeper than {MAX_DEPTH} levels"
            )));
        }
        assign(&mut self.root, head, &steps, value, name)
    }

    /// The parameters as JSON, index-keyed objects turned into lists.
    pub(crate) fn finish(self) -> Value {
        lists_from_indexes(Value::Object(self.root))
    }
}

/// Sets `key` + `steps` in `map` to `value`, as Rack's `normalize_params` does.
fn assign(
    map: &mut Map<String, Value>,
    key: &str,
    steps: &[Step<'_>],
    value: Value,
    name: &str,
) -> Result<(), ParamsError> {
    let Some((first, rest)) = steps.split_first() else {
        // A plain key: a repeated one collects its values.
        match map.get_mut(key) {
            None => {
                map.insert(key.to_owned(), value);
            }
            Some(existing) if is_scalar(existing) => {
                let earlier = existing.take();
                *existing = Value::Array(vec![earlier, value]);
            }
            Some(Value::Array(items)) if items.iter().all(is_scalar) && is_scalar(&value) => {
                items.push(value);
            }
            Some(_) => return Err(conflict(name)),
        }
        return Ok(());
    };
    match first {
        Step::Key(child) => {
            let slot = map
                .entry(key.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(inner) = slot else {
                return Err(conflict(name));
            };
            assign(inner, child, rest, value, name)
        }
        Step::Push => {
            let slot = map
                .entry(key.to_owned())
                .or_insert_with(|| Value::Array(Vec::new()));
            let Value::Array(items) = slot else {
                return Err(conflict(name));
            };
            push(items, rest, value, name)
        }
    }
}

/// `key[]…`: appends to the list, or (`key[][field]`) fills the last object unless it already
/// has that field, in which case a new object starts (Rack's rule).
fn push(
    items: &mut Vec<Value>,
    steps: &[Step<'_>],
    value: Value,
    name: &str,
) -> Result<(), ParamsError> {
    match steps.split_first() {
        None => {
            items.push(value);
            Ok(())
        }
        Some((Step::Key(child), rest)) => {
            let reuse =
                matches!(items.last(), Some(Value::Object(last)) if !has_path(last, child, rest));
            if !reuse {
                items.push(Value::Object(Map::new()));
            }
            match items.last_mut() {
                Some(Value::Object(last)) => assign(last, child, rest, value, name),
                _ => Err(conflict(name)),
            }
        }
        Some((Step::Push, rest)) => {
            let mut inner = Vec::new();
            push(&mut inner, rest, value, name)?;
            items.push(Value::Array(inner));
            Ok(())
        }
    }
}

/// Whether `map` already holds a value at `key` + the keys of `steps`; a path that ends in a
/// list (`[]`) never does, so its values go to the same object (Rack's `params_hash_has_key?`).
fn has_path(map: &Map<String, Value>, key: &str, steps: &[Step<'_>]) -> bool {
    if steps.contains(&Step::Push) {
        return false;
    }
    match (map.get(key), steps.split_first()) {
        (None, _) => false,
        (Some(_), None) => true,
        (Some(Value::Object(inner)), Some((Step::Key(child), rest))) => {
            has_path(inner, child, rest)
        }
        (Some(_), Some(_)) => false,
    }
}

/// Objects whose keys are the indexes 0…n−1 (`a[0]`, `a[1]`) become lists in index order. Other
/// number keys are ids (`positions_hash[12]=1`: article 12 to position 1) and stay a map.
fn lists_from_indexes(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut indexes: Vec<usize> = map
                .keys()
                .filter(|k| !k.is_empty() && k.len() <= 9 && k.bytes().all(|b| b.is_ascii_digit()))
                .filter_map(|k| k.parse().ok())
                .collect();
            indexes.sort_unstable();
            let indexed = !map.is_empty()
                && indexes.len() == map.len()
                && indexes.iter().enumerate().all(|(i, k)| i == *k);
            if indexed {
                let mut items: Vec<(u32, Value)> = map
                    .into_iter()
                    .map(|(k, v)| (k.parse().unwrap_or(u32::MAX), lists_from_indexes(v)))
                    .collect();
                items.sort_by_key(|(i, _)| *i);
                Value::Array(items.into_iter().map(|(_, v)| v).collect())
            } else {
                Value::Object(
                    map.into_iter()
                        .map(|(k, v)| (k, lists_from_indexes(v)))
                        .collect(),
                )
            }
        }
        Value::Array(items) => Value::Array(items.into_iter().map(lists_from_indexes).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Value {
        parse_urlencoded(text.as_bytes()).unwrap()
    }

    #[test]
    fn plain_and_nested_keys() {
        assert_eq!(
            parse(
                "name=Ana+Souza&contact[email]=ana%40example.com&contact[custom_attributes][plan]=gold"
            ),
            json!({"name": "Ana Souza", "contact": {"email": "ana@example.com", "custom_attributes": {"plan": "gold"}}})
        );
        assert_eq!(parse(""), json!({}));
        assert_eq!(parse("a=&b"), json!({"a": "", "b": ""}));
    }

    #[test]
    fn every_spelling_of_a_list() {
        let want = json!({"labels": ["a", "b"]});
        assert_eq!(parse("labels[]=a&labels[]=b"), want);
        assert_eq!(parse("labels[0]=a&labels[1]=b"), want);
        assert_eq!(parse("labels[1]=b&labels[0]=a"), want);
        // Number keys that are not 0…n−1 are ids, kept as a map.
        assert_eq!(
            parse("positions_hash[12]=1&positions_hash[7]=2"),
            json!({"positions_hash": {"12": "1", "7": "2"}})
        );
        assert_eq!(parse("labels=a&labels=b"), want);
        assert_eq!(parse("labels%5B%5D=a&labels%5B%5D=b"), want);
        assert_eq!(parse("labels[]=a"), json!({"labels": ["a"]}));
        assert_eq!(parse("labels=a"), json!({"labels": "a"}));
    }

    #[test]
    fn lists_of_objects_start_a_new_object_when_a_key_repeats() {
        assert_eq!(
            parse(
                "payload[][attribute_key]=name&payload[][filter_operator]=equal_to&payload[][values][]=Ana\
                 &payload[][values][]=Bia&payload[][attribute_key]=email&payload[][values][]=x"
            ),
            json!({"payload": [
                {"attribute_key": "name", "filter_operator": "equal_to", "values": ["Ana", "Bia"]},
                {"attribute_key": "email", "values": ["x"]}
            ]})
        );
        assert_eq!(
            parse(
                "payload[0][attribute_key]=name&payload[1][attribute_key]=email&payload[0][values][0]=1"
            ),
            json!({"payload": [{"attribute_key": "name", "values": ["1"]}, {"attribute_key": "email"}]})
        );
    }

    #[test]
    fn odd_names_are_plain_keys() {
        assert_eq!(parse("a[b=1"), json!({"a[b": "1"}));
        assert_eq!(parse("[a]=1"), json!({"[a]": "1"}));
        assert_eq!(parse("a]=1"), json!({"a]": "1"}));
        assert_eq!(parse("a[b]c=1"), json!({"a[b]c": "1"}));
        // Found by the fuzzer: a `]` right after a closing `]` used to slice backwards.
        assert_eq!(parse("a[b]]=1"), json!({"a[b]]": "1"}));
        assert_eq!(parse("a[]][x]=1"), json!({"a[]][x]": "1"}));
        assert_eq!(parse("=1&&x=2"), json!({"x": "2"}));
    }

    #[test]
    fn a_value_and_nested_keys_under_one_name_are_refused() {
        assert!(parse_urlencoded(b"a=1&a[b]=2").is_err());
        assert!(parse_urlencoded(b"a[b]=2&a=1").is_err());
        assert!(parse_urlencoded(b"a[]=1&a[b]=2").is_err());
        let deep = format!("a{}=1", "[b]".repeat(MAX_DEPTH + 1));
        assert!(parse_urlencoded(deep.as_bytes()).is_err());
        let ok = format!("a{}=1", "[b]".repeat(MAX_DEPTH));
        assert!(parse_urlencoded(ok.as_bytes()).is_ok());
    }
}
