//! Twilio's form-encoded webhooks (a customer's SMS/WhatsApp message or a status callback) as
//! `/twilio/callback` and `/twilio/delivery_status` receive them, and the signature check over
//! them: any bytes end in items or a refusal, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let _ = throughline_channels::twilio::parse_form(body);
    let pairs: Vec<(String, String)> = serde_html_form::from_bytes(body).unwrap_or_default();
    let _ = throughline_channels::twilio::signature("token", "https://example.com/twilio/callback", &pairs);
});
