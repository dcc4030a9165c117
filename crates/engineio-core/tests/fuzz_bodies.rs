//! The fuzz targets' bodies (`fuzz/src/lib.rs`), run on random inputs and on the committed
//! seed corpora, so that CI exercises them on stable without libFuzzer.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[allow(unreachable_pub)]
#[path = "../../../fuzz/src/lib.rs"]
mod fuzz;

use std::path::Path;

use proptest::prelude::*;

/// Random bytes with a bias toward the few bytes that mean something to the decoders.
fn wire_bytes(max_len: usize) -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => any::<u8>(),
        1 => proptest::sample::select(b"0123456b\x1e=probe{}".to_vec()),
    ];
    proptest::collection::vec(byte, 0..max_len)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn fuzz_packet(data in wire_bytes(64)) {
        fuzz::packet(&data);
    }

    #[test]
    fn fuzz_payload(data in wire_bytes(96)) {
        fuzz::payload(&data);
    }

    #[test]
    fn fuzz_session(data in proptest::collection::vec(any::<u8>(), 0..256)) {
        fuzz::session(&data);
    }
}

type Body = fn(&[u8]);

/// Each committed seed runs clean through its target's body.
#[test]
fn seed_corpora_run_clean() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let targets: [(&str, Body); 3] = [
        ("engineio_packet", fuzz::packet),
        ("engineio_payload", fuzz::payload),
        ("engineio_session", fuzz::session),
    ];
    for (target, body) in targets {
        let mut seeds = 0;
        for entry in std::fs::read_dir(corpus.join(target)).unwrap() {
            let path = entry.unwrap().path();
            let is_seed = path
                .file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("seed-"));
            if is_seed {
                body(&std::fs::read(&path).unwrap());
                seeds += 1;
            }
        }
        assert!(seeds > 0, "no seeds for {target}");
    }
}
