//! Runs the bodies of the socketio fuzz targets on random inputs, so that CI exercises
//! them on stable without libFuzzer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "support/fuzz_bodies.rs"]
mod bodies;

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn json_messages(data in prop::collection::vec(any::<u8>(), 0..96)) {
        bodies::json_messages(&data);
    }

    /// Inputs shaped like the text format, with binary messages after `\x1eb`.
    #[test]
    fn json_messages_structured(
        text in "[0-6][0-9]{0,2}-?(/[a-z]{0,3},)?[0-9]{0,2}\\[(\"[a-z]{0,3}\"|[0-9]|\\{\"_placeholder\":true,\"num\":[0-3]\\}|,){0,6}\\]",
        attachments in prop::collection::vec("[a-z]{0,3}", 0..4),
    ) {
        let mut data = text.into_bytes();
        for a in attachments {
            data.extend_from_slice(b"\x1eb");
            data.extend_from_slice(a.as_bytes());
        }
        bodies::json_messages(&data);
    }

    #[test]
    fn msgpack_message(data in prop::collection::vec(any::<u8>(), 0..96)) {
        bodies::msgpack_message(&data);
    }

    #[test]
    fn json_to_msgpack(text in "[0-6](/[a-z]{0,3},)?[0-9]{0,2}\\[(\"[a-z]{0,3}\"|[0-9.e-]{1,4}|null|\\{\\}|,){0,6}\\]") {
        bodies::json_to_msgpack(text.as_bytes());
    }
}

/// The seeds committed beside the fuzz targets must run clean too.
#[test]
fn seeds() {
    for seed in [
        &br#"2["hello",1]"#[..],
        br#"0/admin,{"token":"123"}"#,
        br#"51-["hello",{"_placeholder":true,"num":0}]"#,
        b"51-[\"hello\",{\"_placeholder\":true,\"num\":0}]\x1eb\x01\x02",
        br#"3/admin,456[]"#,
        br#"4{"message":"Not authorized"}"#,
        // Crashes found by libFuzzer, fixed since.
        b"34[1e21514]\x1eh",
        b"39992[34e999556]",
    ] {
        bodies::json_messages(seed);
        bodies::json_to_msgpack(seed);
    }
    bodies::msgpack_message(b"\x83\xa4type\x02\xa4data\x92\xa5hello\x01\xa3nsp\xa1/");
}
