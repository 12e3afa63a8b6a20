//! Frames an agent's tab or a widget visitor sends on the realtime socket.
#![no_main]

use libfuzzer_sys::fuzz_target;
use throughline_realtime::frames::parse_client;

fuzz_target!(|text: &str| {
    let _ = parse_client(text);
});
