//! Messenger (`object: page`) and Instagram (`object: instagram`) webhooks as `/bot` and
//! `/webhooks/instagram` receive them once the signature holds, read for one page.
#![no_main]

use libfuzzer_sys::fuzz_target;
use throughline_channels::meta::{Surface, parse_webhook};

fuzz_target!(|body: &[u8]| {
    for surface in [Surface::Messenger, Surface::Instagram] {
        let _ = parse_webhook(body, surface, "104590192345678");
    }
});
