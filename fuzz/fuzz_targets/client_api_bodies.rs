//! JSON bodies from widgets and integrations, parsed exactly as the handlers parse them.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    throughline_http::fuzzing::client_api_bodies(body);
});
