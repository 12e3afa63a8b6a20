//! WhatsApp Cloud API webhooks (`whatsapp_business_account`: messages and statuses) as
//! `/webhooks/whatsapp/{phone_number}` receives them once the signature holds.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let _ = throughline_channels::whatsapp::parse_webhook(body, "1001");
});
