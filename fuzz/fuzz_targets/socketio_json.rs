#![no_main]

// The body lives beside the socketio-core tests, which run it on random inputs on stable.
#[path = "../../crates/socketio-core/tests/support/fuzz_bodies.rs"]
#[allow(dead_code)] // each target calls one of the bodies
mod bodies;

libfuzzer_sys::fuzz_target!(|data: &[u8]| bodies::json_messages(data));
