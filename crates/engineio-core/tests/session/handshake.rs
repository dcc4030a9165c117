//! The handshake over polling and over WebSocket.

use super::*;

#[test]
fn polling_handshake_advertises_the_websocket_upgrade() {
    let mut peer = Peer::new(TransportKind::Polling, SessionConfig::default());
    // The open packet waits for the first GET.
    assert_eq!(peer.out(), Vec::<String>::new());
    peer.get().unwrap();
    let out = peer.out();
    assert_eq!(out.len(), 1);
    let handshake = handshake_json(&out[0]);
    let mut keys: Vec<_> = handshake.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "maxPayload",
            "pingInterval",
            "pingTimeout",
            "sid",
            "upgrades"
        ]
    );
    assert_eq!(handshake["sid"], peer.session.sid().as_str());
    assert_eq!(handshake["upgrades"], serde_json::json!(["websocket"]));
    assert_eq!(handshake["pingInterval"], 25_000);
    assert_eq!(handshake["pingTimeout"], 20_000);
    assert_eq!(handshake["maxPayload"], 1_000_000);
    assert!(!peer.session.is_poll_pending());
}

#[test]
fn websocket_handshake_has_no_upgrades() {
    let mut peer = Peer::new(TransportKind::WebSocket, config());
    let out = peer.out();
    assert_eq!(out.len(), 1);
    assert!(out[0].starts_with("ws:0"), "{out:?}");
    let handshake = handshake_json(&out[0]);
    assert_eq!(handshake["sid"], peer.session.sid().as_str());
    assert_eq!(handshake["upgrades"], serde_json::json!([]));
    assert_eq!(handshake["pingInterval"], PING_INTERVAL);
    assert_eq!(handshake["pingTimeout"], PING_TIMEOUT);
    assert_eq!(handshake["maxPayload"], 1_000_000);
}

#[test]
fn handshake_without_upgrades_when_they_are_off() {
    let mut config = config();
    config.allow_upgrade = false;
    config.max_payload = 4096;
    let mut peer = Peer::new(TransportKind::Polling, config);
    peer.get().unwrap();
    let handshake = handshake_json(&peer.out()[0]);
    assert_eq!(handshake["upgrades"], serde_json::json!([]));
    assert_eq!(handshake["maxPayload"], 4096);
    assert_eq!(peer.ws_open(), Err(RequestError::TransportMismatch));
}
