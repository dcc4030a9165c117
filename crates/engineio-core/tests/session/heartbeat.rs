//! Pings, pongs and the ping timeout.

use super::*;

#[test]
fn ping_after_ping_interval_goes_to_the_pending_get() {
    let mut peer = Peer::polling();
    peer.get().unwrap();
    assert_eq!(peer.deadline(), Some(PING_INTERVAL));
    peer.tick(PING_INTERVAL - 1);
    assert_eq!(peer.out(), Vec::<String>::new());
    peer.tick(PING_INTERVAL);
    assert_eq!(peer.out(), ["poll:2"]);
    // Now the pong is due.
    assert_eq!(peer.deadline(), Some(PING_INTERVAL + PING_TIMEOUT));
}

#[test]
fn ping_waits_for_the_next_get() {
    let mut peer = Peer::polling();
    peer.tick(PING_INTERVAL);
    assert_eq!(peer.out(), Vec::<String>::new());
    peer.at(PING_INTERVAL + 10).get().unwrap();
    assert_eq!(peer.out(), ["poll:2"]);
}

#[test]
fn pong_resets_the_heartbeat() {
    let mut peer = Peer::polling();
    // The official test suite's loop: GET receives `2`, POST answers `3`, three times.
    let mut at = 0;
    for _ in 0..3 {
        peer.get().unwrap();
        at += PING_INTERVAL;
        peer.tick(at);
        assert_eq!(peer.out(), ["poll:2"]);
        at += 50;
        peer.at(at).post("3").unwrap();
        assert_eq!(peer.events(), []);
        // The next ping is one interval after the pong; no pong deadline is left.
        assert_eq!(peer.deadline(), Some(at + PING_INTERVAL));
    }
    // Past the old pong deadline nothing happens.
    peer.tick(at + PING_TIMEOUT);
    assert!(!peer.is_closed());
    assert_eq!(peer.events(), []);
}

#[test]
fn unsolicited_pong_does_not_move_the_next_ping() {
    let mut peer = Peer::polling();
    peer.at(100).post("3").unwrap();
    assert_eq!(peer.deadline(), Some(PING_INTERVAL));
    assert_eq!(peer.events(), []);
}

#[test]
fn no_pong_within_ping_timeout_closes_and_the_pending_get_receives_close() {
    let mut peer = Peer::polling();
    peer.get().unwrap();
    peer.tick(PING_INTERVAL);
    assert_eq!(peer.out(), ["poll:2"]);
    peer.get().unwrap();
    peer.tick(PING_INTERVAL + PING_TIMEOUT - 1);
    assert_eq!(peer.events(), []);
    peer.tick(PING_INTERVAL + PING_TIMEOUT);
    assert_eq!(peer.out(), ["poll:1"]);
    assert_eq!(peer.events(), [closed(CloseReason::PingTimeout)]);
    assert!(peer.is_closed());
    assert_eq!(peer.deadline(), None);
    assert_eq!(peer.get(), Err(RequestError::Closed));
}

#[test]
fn ping_timeout_without_a_pending_get_closes_at_once() {
    // The official suite: after pingInterval + pingTimeout the next GET is refused.
    let mut peer = Peer::polling();
    peer.tick(PING_INTERVAL);
    peer.tick(PING_INTERVAL + PING_TIMEOUT);
    assert_eq!(peer.events(), [closed(CloseReason::PingTimeout)]);
    assert!(peer.is_closed());
    assert_eq!(peer.out(), Vec::<String>::new());
    assert_eq!(peer.get(), Err(RequestError::Closed));
}

#[test]
fn heartbeat_over_websocket() {
    let mut peer = Peer::websocket();
    peer.tick(PING_INTERVAL);
    assert_eq!(peer.out(), ["ws:2"]);
    peer.at(PING_INTERVAL + 20).ws("3");
    assert_eq!(peer.deadline(), Some(2 * PING_INTERVAL + 20));
    peer.tick(2 * PING_INTERVAL + 20);
    assert_eq!(peer.out(), ["ws:2"]);
    peer.tick(2 * PING_INTERVAL + 20 + PING_TIMEOUT);
    assert_eq!(peer.out(), ["ws-close"]);
    assert_eq!(peer.events(), [closed(CloseReason::PingTimeout)]);
    assert!(peer.is_closed());
}
