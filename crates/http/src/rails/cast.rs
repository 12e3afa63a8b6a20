//! Rails-style casting while a request is read into its Rust type: a value is read as the field
//! it fills asks, the way ActiveRecord casts a parameter to its column's type.
//!
//! - A whole number in a string (`"contact_id": "1"`, `"user_ids": ["4"]`) fills a number field;
//!   any other string there is still refused (`expected a whole number`). A number in a string
//!   fills a decimal field likewise.
//! - `"true"`/`"false"`, `"1"`/`"0"`, `"t"`/`"f"`, `"on"`/`"off"` (any case) and the numbers 1 and
//!   0 fill a flag (`"private": "true"` from form-minded clients); anything else is refused.
//! - Text fields are not cast: a number where text belongs stays an error, and a `Value` field
//!   (custom attributes, filter payloads) keeps exactly what was sent.
//!
//! Parameters (a query string, a form; `Source::Params`) are text by nature, and two more rules
//! apply to them: an empty value fills an optional field as absent (`page=`), and a field taking
//! one value given a repeated key takes the last (Rack's "last wins"), while a list field given a
//! single value takes it as a list of one.
//!
//! Type-directed rather than by key name: a rule on keys (`*_id`) would have turned
//! `"source_id": "5511987654321"` (text, a phone number) into a number. What is not cast: the
//! fields a `#[serde(flatten)]` section holds (serde reads them from its own buffer, out of our
//! reach) and the inside of enum variants carrying data.

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Unexpected, Visitor};
use serde_json::{Error, Map, Value};

/// Where the value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// A JSON body: typed by the client.
    Json,
    /// A query string or a form (urlencoded or multipart): every value is text.
    Params,
}

/// A `serde_json::Value` deserializer that casts as Rails would (see the module).
pub(crate) struct Lenient {
    value: Value,
    source: Source,
}

impl Lenient {
    pub(crate) fn new(value: Value, source: Source) -> Self {
        Lenient { value, source }
    }

    /// The one value a scalar field takes: in params, the last of a repeated key.
    fn scalar(self) -> Value {
        match (self.source, self.value) {
            (Source::Params, Value::Array(mut items))
                if !items.is_empty() && items.iter().all(|v| !v.is_array() && !v.is_object()) =>
            {
                items.pop().unwrap_or(Value::Null)
            }
            (_, value) => value,
        }
    }
}

/// `"12"`, `" -3 "`, `"+7"`: the integer, as i64 or (beyond it) u64.
fn whole_number(text: &str) -> Option<Result<i64, u64>> {
    let t = text.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match t.parse::<i64>() {
        Ok(i) => Some(Ok(i)),
        Err(_) => t
            .strip_prefix('+')
            .unwrap_or(t)
            .parse::<u64>()
            .ok()
            .map(Err),
    }
}

/// `"1.5"`, `"2"`, `"-0.25e3"`: a finite decimal number.
fn decimal(text: &str) -> Option<f64> {
    let t = text.trim();
    let plain = t
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'));
    if !plain || !t.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// The strings Rails reads as a flag, as spelled by forms and clients.
fn flag(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "1" | "on" => Some(true),
        "false" | "f" | "0" | "off" => Some(false),
        _ => None,
    }
}

macro_rules! integers {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self.scalar() {
                Value::String(s) => match whole_number(&s) {
                    Some(Ok(i)) => visitor.visit_i64(i),
                    Some(Err(u)) => visitor.visit_u64(u),
                    None => Err(de::Error::invalid_type(Unexpected::Str(&s), &"a whole number")),
                },
                other => other.$method(visitor),
            }
        }
    )*};
}

macro_rules! decimals {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self.scalar() {
                Value::String(s) => match decimal(&s) {
                    Some(f) => visitor.visit_f64(f),
                    None => Err(de::Error::invalid_type(Unexpected::Str(&s), &"a number")),
                },
                other => other.$method(visitor),
            }
        }
    )*};
}

macro_rules! as_sent {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            self.scalar().$method(visitor)
        }
    )*};
}

impl<'de> Deserializer<'de> for Lenient {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Array(items) => visit_array(items, self.source, visitor),
            Value::Object(map) => visit_object(map, self.source, visitor),
            other => other.deserialize_any(visitor),
        }
    }

    integers!(deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128);
    decimals!(deserialize_f32 deserialize_f64);
    as_sent!(deserialize_char deserialize_str deserialize_string deserialize_bytes
        deserialize_byte_buf deserialize_unit deserialize_identifier);

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let value = self.scalar();
        let cast = match &value {
            Value::String(s) => flag(s),
            Value::Number(n) if n.as_u64() == Some(1) => Some(true),
            Value::Number(n) if n.as_u64() == Some(0) => Some(false),
            _ => None,
        };
        match (cast, value) {
            (Some(b), _) => visitor.visit_bool(b),
            (None, Value::String(s)) => Err(de::Error::invalid_type(
                Unexpected::Str(&s),
                &"true or false",
            )),
            (None, other) => other.deserialize_bool(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match (self.source, self.value) {
            (_, Value::Null) => visitor.visit_none(),
            (Source::Params, Value::String(s)) if s.is_empty() => visitor.visit_none(),
            (source, value) => visitor.visit_some(Lenient { value, source }),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.scalar().deserialize_unit_struct(name, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match (self.source, self.value) {
            (source, Value::Array(items)) => visit_array(items, source, visitor),
            (Source::Params, value) if !value.is_object() && !value.is_null() => {
                visit_array(vec![value], Source::Params, visitor)
            }
            (_, other) => other.deserialize_seq(visitor),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Object(map) => visit_object(map, self.source, visitor),
            other => other.deserialize_map(visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.value {
            Value::Object(map) => visit_object(map, self.source, visitor),
            // As serde_json: a struct may be sent as the list of its fields' values.
            Value::Array(items) => visit_array(items, self.source, visitor),
            other => other.deserialize_struct(name, fields, visitor),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.scalar().deserialize_enum(name, variants, visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        drop(self);
        visitor.visit_unit()
    }
}

fn visit_array<'de, V: Visitor<'de>>(
    items: Vec<Value>,
    source: Source,
    visitor: V,
) -> Result<V::Value, Error> {
    let len = items.len();
    let mut access = Items {
        iter: items.into_iter(),
        source,
    };
    let out = visitor.visit_seq(&mut access)?;
    if access.iter.len() == 0 {
        Ok(out)
    } else {
        Err(de::Error::invalid_length(
            len,
            &"fewer elements in the list",
        ))
    }
}

fn visit_object<'de, V: Visitor<'de>>(
    map: Map<String, Value>,
    source: Source,
    visitor: V,
) -> Result<V::Value, Error> {
    let len = map.len();
    let mut access = Entries {
        iter: map.into_iter(),
        value: None,
        source,
    };
    let out = visitor.visit_map(&mut access)?;
    if access.iter.len() == 0 {
        Ok(out)
    } else {
        Err(de::Error::invalid_length(
            len,
            &"fewer entries in the object",
        ))
    }
}

struct Items {
    iter: std::vec::IntoIter<Value>,
    source: Source,
}

impl<'de> SeqAccess<'de> for Items {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.iter.next() {
            Some(value) => seed
                .deserialize(Lenient {
                    value,
                    source: self.source,
                })
                .map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct Entries {
    iter: serde_json::map::IntoIter,
    value: Option<Value>,
    source: Source,
}

impl<'de> MapAccess<'de> for Entries {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.iter.next() {
            Some((key, value)) => {
                self.value = Some(value);
                // Keys are text; a map keyed by numbers reads them as numbers.
                seed.deserialize(Lenient {
                    value: Value::String(key),
                    source: Source::Json,
                })
                .map(Some)
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<T::Value, Error> {
        match self.value.take() {
            Some(value) => seed.deserialize(Lenient {
                value,
                source: self.source,
            }),
            None => Err(de::Error::custom("a value was asked for before its key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Deserialize, Debug, PartialEq)]
    struct Body {
        contact_id: Option<i64>,
        #[serde(default)]
        user_ids: Vec<i64>,
        #[serde(default)]
        private: bool,
        source_id: Option<String>,
        rate: Option<f64>,
        port: Option<u16>,
        custom_attributes: Option<Value>,
        nested: Option<Nested>,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    struct Nested {
        team_id: i64,
    }

    fn json(v: Value) -> Result<Body, String> {
        serde_path_to_error::deserialize(Lenient::new(v, Source::Json)).map_err(|e| e.to_string())
    }

    fn params(v: Value) -> Result<Body, String> {
        serde_path_to_error::deserialize(Lenient::new(v, Source::Params)).map_err(|e| e.to_string())
    }

    #[test]
    fn numeric_strings_fill_number_fields_and_text_stays_text() {
        let b = json(json!({
            "contact_id": "1", "user_ids": ["4", 5], "private": "true", "source_id": "5511987654321",
            "rate": "1.5", "port": " 993 ", "custom_attributes": {"age": "30", "n": 1},
            "nested": {"team_id": "2"}
        }))
        .unwrap();
        assert_eq!(b.contact_id, Some(1));
        assert_eq!(b.user_ids, vec![4, 5]);
        assert!(b.private);
        assert_eq!(b.source_id.as_deref(), Some("5511987654321"));
        assert_eq!(b.rate, Some(1.5));
        assert_eq!(b.port, Some(993));
        assert_eq!(b.custom_attributes, Some(json!({"age": "30", "n": 1})));
        assert_eq!(b.nested, Some(Nested { team_id: 2 }));
    }

    #[test]
    fn what_is_not_a_number_or_a_flag_is_still_refused_with_its_path() {
        let e = json(json!({"contact_id": "abc"})).unwrap_err();
        assert!(e.starts_with("contact_id:"), "{e}");
        assert!(e.contains("expected a whole number"), "{e}");
        let e = json(json!({"user_ids": ["1", "x"]})).unwrap_err();
        assert!(e.starts_with("user_ids[1]:"), "{e}");
        for bad in ["1.5", "", "1e3", "0x10", "١"] {
            assert!(json(json!({ "contact_id": bad })).is_err(), "{bad}");
        }
        let e = json(json!({"private": "maybe"})).unwrap_err();
        assert!(e.contains("expected true or false"), "{e}");
        assert!(json(json!({"private": 2})).is_err());
        assert!(json(json!({"port": "70000"})).is_err());
        assert!(json(json!({"rate": "NaN"})).is_err());
        assert!(json(json!({"rate": "inf"})).is_err());
        // Text is not cast from a number.
        assert!(json(json!({"source_id": 5})).is_err());
        // JSON does not get the params' rules.
        assert!(json(json!({"contact_id": ""})).is_err());
        assert!(json(json!({"user_ids": "4"})).is_err());
    }

    #[test]
    fn flags() {
        for (text, want) in [
            ("true", true),
            ("TRUE", true),
            ("1", true),
            ("t", true),
            ("on", true),
            ("false", false),
            ("0", false),
            ("F", false),
            ("off", false),
        ] {
            assert_eq!(
                json(json!({ "private": text })).unwrap().private,
                want,
                "{text}"
            );
        }
        assert!(json(json!({"private": 1})).unwrap().private);
        assert!(!json(json!({"private": false})).unwrap().private);
    }

    #[test]
    fn params_rules() {
        let b = params(json!({"contact_id": "", "user_ids": "4", "source_id": ["a", "b"], "private": ["0", "1"]}))
            .unwrap();
        assert_eq!(b.contact_id, None);
        assert_eq!(b.user_ids, vec![4]);
        assert_eq!(b.source_id.as_deref(), Some("b"));
        assert!(b.private);
        let b = params(json!({"user_ids": ["1", "2"]})).unwrap();
        assert_eq!(b.user_ids, vec![1, 2]);
    }

    #[test]
    fn maps_keyed_by_numbers_and_big_numbers() {
        let m: std::collections::BTreeMap<i64, u64> = serde_path_to_error::deserialize(
            Lenient::new(json!({"3": "18446744073709551615"}), Source::Json),
        )
        .unwrap();
        assert_eq!(m.get(&3), Some(&u64::MAX));
        let v: Vec<i64> = serde_path_to_error::deserialize(Lenient::new(
            json!(["-9223372036854775808"]),
            Source::Json,
        ))
        .unwrap();
        assert_eq!(v, vec![i64::MIN]);
    }
}
