//! Addresses as providers and forms send them (emails, phone numbers in any national format)
//! and the Chatwoot filter language posted to `…/filter`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use throughline_core::filter::{AttrType, AttributeCatalog, parse};
use throughline_core::identity::{normalize_email, normalize_phone};

struct Catalog;

impl AttributeCatalog for Catalog {
    fn standard(&self, key: &str) -> Option<AttrType> {
        match key {
            "status" | "priority" => Some(AttrType::Enum),
            "created_at" | "last_activity_at" => Some(AttrType::Time),
            "name" | "email" => Some(AttrType::Text),
            "labels" => Some(AttrType::Labels),
            _ => None,
        }
    }

    fn custom(&self, key: &str) -> Option<AttrType> {
        (key == "order_total").then_some(AttrType::Number)
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = normalize_email(text);
        for region in [None, Some("BR"), Some("PL")] {
            let _ = normalize_phone(text, region);
        }
    }
    if let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = parse(&body, &Catalog);
    }
});
