#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| socketio_rs_fuzz::packet(data));
