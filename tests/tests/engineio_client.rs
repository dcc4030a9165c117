//! The official `engine.io-client` (npm) against our Engine.IO server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use engineio_core::{CloseReason, Message};
use interop_tests::{NodeScript, serve};
use socketio_server::engine::{EngineConnection, EngineHandler, EngineIo, EngineSocket};
use tokio::sync::mpsc;

const SCRIPT: &str = "engineio-client.mjs";
const LONG: Duration = Duration::from_secs(30);

async fn echo(mode: &str) {
    let (app, _engine) = example_engineio_echo::app(&Default::default()).unwrap();
    let addr = serve(app).await.unwrap();
    let url = format!("http://{addr}");
    let client = NodeScript::spawn(SCRIPT, &[&url, mode, "echo"]).unwrap();
    client.finish(LONG).await.unwrap();
}

#[tokio::test]
async fn echo_over_polling() {
    echo("polling").await;
}

#[tokio::test]
async fn echo_over_websocket() {
    echo("websocket").await;
}

#[tokio::test]
async fn echo_after_upgrade() {
    echo("upgrade").await;
}

/// Reports every close to the test.
struct Closes(mpsc::UnboundedSender<(String, CloseReason)>);

impl EngineHandler for Closes {
    fn on_connect(&self, socket: EngineSocket) -> Box<dyn EngineConnection> {
        Box::new(Watch(socket, self.0.clone()))
    }
}

struct Watch(EngineSocket, mpsc::UnboundedSender<(String, CloseReason)>);

impl EngineConnection for Watch {
    fn on_message(&mut self, _message: Message) {}
    fn on_close(&mut self, reason: CloseReason) {
        let _ = self.1.send((self.0.sid().to_string(), reason));
    }
}

const PING_INTERVAL: Duration = Duration::from_millis(400);
const PING_TIMEOUT: Duration = Duration::from_millis(300);

async fn heartbeat_server() -> (String, mpsc::UnboundedReceiver<(String, CloseReason)>) {
    let (closes, closed) = mpsc::unbounded_channel();
    let (layer, _engine) = EngineIo::builder()
        .ping_interval(PING_INTERVAL)
        .ping_timeout(PING_TIMEOUT)
        .build(Closes(closes))
        .unwrap();
    let addr = serve(axum::Router::new().layer(layer)).await.unwrap();
    (format!("http://{addr}"), closed)
}

/// Opens a held session and returns the client with its sid.
async fn hold(url: &str, mode: &str, transport: &str) -> (NodeScript, String) {
    let mut client = NodeScript::spawn(SCRIPT, &[url, mode, "hold"]).unwrap();
    let line = client.expect_line("open ", LONG).await.unwrap();
    let mut words = line.split(' ').skip(1);
    let sid = words.next().unwrap().to_owned();
    assert_eq!(words.next(), Some(transport), "{line}");
    (client, sid)
}

/// Waits for the close of `sid`; the client must be noticed gone within one heartbeat
/// (`ping_interval + ping_timeout`), plus slack for process scheduling.
async fn closed_within_heartbeat(
    closed: &mut mpsc::UnboundedReceiver<(String, CloseReason)>,
    sid: &str,
) -> CloseReason {
    let bound = PING_INTERVAL + PING_TIMEOUT + Duration::from_secs(2);
    tokio::time::timeout(bound, async {
        loop {
            let (closed_sid, reason) = closed.recv().await.unwrap();
            if closed_sid == sid {
                return reason;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{sid} not closed within {bound:?}"))
}

async fn killed_client_is_closed(mode: &str, transport: &str) {
    let (url, mut closed) = heartbeat_server().await;
    let (client, sid) = hold(&url, mode, transport).await;
    client.kill().await.unwrap();
    let reason = closed_within_heartbeat(&mut closed, &sid).await;
    assert!(
        matches!(
            reason,
            CloseReason::TransportClose | CloseReason::TransportError(_) | CloseReason::PingTimeout
        ),
        "{reason:?}"
    );
}

#[tokio::test]
async fn killed_polling_client_is_closed() {
    killed_client_is_closed("polling", "polling").await;
}

#[tokio::test]
async fn killed_websocket_client_is_closed() {
    killed_client_is_closed("websocket", "websocket").await;
}

async fn frozen_client_times_out(mode: &str, transport: &str) {
    let (url, mut closed) = heartbeat_server().await;
    let (client, sid) = hold(&url, mode, transport).await;
    client.freeze().await.unwrap();
    let reason = closed_within_heartbeat(&mut closed, &sid).await;
    assert_eq!(reason, CloseReason::PingTimeout);
    client.kill().await.unwrap();
}

#[tokio::test]
async fn frozen_polling_client_times_out() {
    frozen_client_times_out("polling", "polling").await;
}

#[tokio::test]
async fn frozen_websocket_client_times_out() {
    frozen_client_times_out("websocket", "websocket").await;
}
