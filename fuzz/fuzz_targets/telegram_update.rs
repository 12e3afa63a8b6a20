//! Telegram Bot API updates (messages, edits, button presses) as
//! `/webhooks/telegram/{bot_token}` receives them once the secret holds.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let _ = throughline_channels::telegram::parse_update(body);
});
