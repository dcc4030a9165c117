//! The official `socket.io-client` 4.8 (npm) against our Socket.IO server, running the
//! fixture contract of `tests/js/README.md` (`sio-fixture`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use interop_tests::{NodeScript, ServerProcess};

const SCRIPT: &str = "sio-client.mjs";
const FIXTURE: &str = env!("CARGO_BIN_EXE_sio-fixture");
const LONG: Duration = Duration::from_secs(40);

async fn fixture(port: u16) -> ServerProcess {
    ServerProcess::start(FIXTURE, &["--port", &port.to_string()])
        .await
        .unwrap()
}

async fn scenario(mode: &str, words: &[&str]) {
    let server = if words.contains(&"msgpack") {
        ServerProcess::start(FIXTURE, &["--port", "0", "--parser", "msgpack"])
            .await
            .unwrap()
    } else {
        fixture(0).await
    };
    let url = server.url();
    let args: Vec<&str> = [url.as_str(), mode]
        .into_iter()
        .chain(words.iter().copied())
        .collect();
    let client = NodeScript::spawn(SCRIPT, &args).unwrap();
    client.finish(LONG).await.unwrap();
}

macro_rules! scenarios {
    ($($test:ident: $mode:literal $($word:literal)+;)*) => {
        $(
            #[tokio::test]
            async fn $test() {
                scenario($mode, &[$($word),+]).await;
            }
        )*
    };
}

scenarios! {
    echo_over_polling: "polling" "echo";
    echo_over_websocket: "websocket" "echo";
    echo_after_upgrade: "upgrade" "echo";
    namespaces_over_polling: "polling" "namespaces";
    namespaces_over_websocket: "websocket" "namespaces";
    namespaces_after_upgrade: "upgrade" "namespaces";
    reconnect_after_the_server_closes_the_connection: "upgrade" "reconnect" "close-transport";
    echo_with_the_npm_msgpack_parser_over_websocket: "websocket" "echo" "msgpack";
    echo_with_the_npm_msgpack_parser_over_polling: "polling" "echo" "msgpack";
    namespaces_with_the_npm_msgpack_parser: "upgrade" "namespaces" "msgpack";
}

/// Both sides see the reference's reasons: the client "io server disconnect" and
/// "io client disconnect" (checked by the script), the server "server namespace
/// disconnect" and "client namespace disconnect".
async fn disconnect_reasons(mode: &str) {
    let mut server = fixture(0).await;
    let mut client = NodeScript::spawn(SCRIPT, &[&server.url(), mode, "disconnects"]).unwrap();
    let first = client.expect_line("connected ", LONG).await.unwrap();
    let second = client.expect_line("connected ", LONG).await.unwrap();
    client.finish(LONG).await.unwrap();
    for (line, reason) in [
        (first, "server namespace disconnect"),
        (second, "client namespace disconnect"),
    ] {
        let id = line.trim_start_matches("connected ");
        let expected = format!("disconnect / {id} {reason}");
        server.output().expect_line(&expected, LONG).await.unwrap();
    }
}

#[tokio::test]
async fn disconnect_reasons_over_polling() {
    disconnect_reasons("polling").await;
}

#[tokio::test]
async fn disconnect_reasons_over_websocket() {
    disconnect_reasons("websocket").await;
}

#[tokio::test]
async fn disconnect_reasons_after_upgrade() {
    disconnect_reasons("upgrade").await;
}

/// The client reconnects by itself after the server process dies and a new one
/// listens on the same port, twice.
async fn reconnect_after_restart(mode: &str) {
    let server = fixture(0).await;
    let port = server.port;
    let url = server.url();
    let mut client = NodeScript::spawn(SCRIPT, &[&url, mode, "reconnect"]).unwrap();
    client.expect_line("connected ", LONG).await.unwrap();
    let mut server = server;
    for _ in 0..2 {
        server.kill().await.unwrap();
        client.expect_line("disconnected ", LONG).await.unwrap();
        server = fixture(port).await;
        client.expect_line("reconnected ", LONG).await.unwrap();
    }
    client.finish(LONG).await.unwrap();
}

#[tokio::test]
async fn reconnect_after_restart_over_websocket() {
    reconnect_after_restart("websocket").await;
}

#[tokio::test]
async fn reconnect_after_restart_after_upgrade() {
    reconnect_after_restart("upgrade").await;
}

#[tokio::test]
async fn reconnect_after_restart_over_polling() {
    reconnect_after_restart("polling").await;
}
