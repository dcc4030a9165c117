//! Rooms, broadcast operators, broadcast acknowledgements and connection state recovery
//! with the official `socket.io-client` 4.8 (`tests/js/sio-rooms.mjs`) against our
//! fixture server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use interop_tests::{NodeScript, ServerProcess};

const SCRIPT: &str = "sio-rooms.mjs";
const FIXTURE: &str = env!("CARGO_BIN_EXE_sio-fixture");
const LONG: Duration = Duration::from_secs(40);

async fn scenario(mode: &str, name: &str, recovery_ms: u32) {
    let server = ServerProcess::start(
        FIXTURE,
        &["--port", "0", "--recovery", &recovery_ms.to_string()],
    )
    .await
    .unwrap();
    let client = NodeScript::spawn(SCRIPT, &[&server.url(), mode, name]).unwrap();
    client.finish(LONG).await.unwrap();
}

macro_rules! scenarios {
    ($($test:ident: $mode:literal $name:literal $recovery:literal;)*) => {
        $(
            #[tokio::test]
            async fn $test() {
                scenario($mode, $name, $recovery).await;
            }
        )*
    };
}

scenarios! {
    rooms_over_websocket: "websocket" "rooms" 5000;
    rooms_over_polling: "polling" "rooms" 5000;
    rooms_after_upgrade: "upgrade" "rooms" 5000;
    recovery_over_websocket: "websocket" "recovery" 5000;
    recovery_over_polling: "polling" "recovery" 5000;
    recovery_after_upgrade: "upgrade" "recovery" 5000;
    recovery_window_expired_over_websocket: "websocket" "recovery-expired" 300;
    recovery_window_expired_over_polling: "polling" "recovery-expired" 300;
}
