//! Closing from the server's side.

use super::*;

#[test]
fn server_close_over_polling_sends_queued_messages_and_close_with_the_next_get() {
    let mut config = config();
    // Closing ignores the response budget: everything goes in the last response.
    config.max_payload = 5;
    let mut peer = Peer::polling_with(config);
    peer.send("a").unwrap();
    peer.send("b").unwrap();
    peer.close(CloseReason::ForcedClose);
    assert_eq!(peer.events(), [closed(CloseReason::ForcedClose)]);
    assert_eq!(peer.out(), Vec::<String>::new());
    assert!(!peer.is_closed());
    assert_eq!(peer.send("c"), Err(SendError::Closed));
    // The session waits at most `ping_timeout` for that GET.
    assert_eq!(peer.deadline(), Some(PING_TIMEOUT));
    peer.at(50).get().unwrap();
    assert_eq!(peer.out(), ["poll:4a\x1e4b\x1e1"]);
    assert!(peer.is_closed());
    assert_eq!(peer.deadline(), None);
    assert_eq!(peer.get(), Err(RequestError::Closed));
    // Only one Closed event.
    assert_eq!(peer.events(), []);
}

#[test]
fn server_close_with_a_pending_get_answers_it_with_close() {
    let mut peer = Peer::polling();
    peer.get().unwrap();
    peer.close(CloseReason::ServerShuttingDown);
    assert_eq!(peer.out(), ["poll:1"]);
    assert_eq!(peer.events(), [closed(CloseReason::ServerShuttingDown)]);
    assert!(peer.is_closed());
}

#[test]
fn server_close_over_polling_gives_up_after_ping_timeout() {
    let mut peer = Peer::polling();
    peer.send("a").unwrap();
    peer.at(10).close(CloseReason::ForcedClose);
    peer.tick(10 + PING_TIMEOUT - 1);
    assert!(!peer.is_closed());
    peer.tick(10 + PING_TIMEOUT);
    assert!(peer.is_closed());
    assert_eq!(peer.out(), Vec::<String>::new());
    assert_eq!(peer.get(), Err(RequestError::Closed));
}

#[test]
fn server_close_over_websocket_sends_frames_then_closes() {
    let mut peer = Peer::new(TransportKind::WebSocket, config());
    peer.send("a").unwrap();
    peer.send("b").unwrap();
    peer.close(CloseReason::ServerShuttingDown);
    let out = peer.out();
    assert!(out[0].starts_with("ws:0{"), "{out:?}");
    assert_eq!(out[1..], ["ws:4a", "ws:4b", "ws-close"]);
    assert_eq!(peer.events(), [closed(CloseReason::ServerShuttingDown)]);
    assert!(peer.is_closed());
    assert_eq!(peer.deadline(), None);
    assert_eq!(peer.send("c"), Err(SendError::Closed));
}

#[test]
fn close_twice_reports_once() {
    let mut peer = Peer::upgraded();
    peer.close(CloseReason::ForcedClose);
    peer.close(CloseReason::ServerShuttingDown);
    assert_eq!(peer.out(), ["ws-close"]);
    assert_eq!(peer.events(), [closed(CloseReason::ForcedClose)]);
}

#[test]
fn send_after_close_fails() {
    for mut peer in [Peer::polling(), Peer::websocket(), Peer::upgraded()] {
        peer.get().ok();
        peer.close(CloseReason::ForcedClose);
        assert_eq!(peer.send("late"), Err(SendError::Closed));
        assert!(!peer.out().iter().any(|out| out.contains("late")));
    }
}
