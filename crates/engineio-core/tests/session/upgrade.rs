//! The upgrade from polling to WebSocket, its races and its timeout.

use super::*;

#[test]
fn upgrade_happy_path() {
    let mut peer = Peer::polling();
    peer.get().unwrap();
    peer.at(10).ws_open().unwrap();
    assert_eq!(peer.out(), Vec::<String>::new());
    peer.at(20).ws("2probe");
    // The probe is answered and the pending GET released with a noop.
    assert_eq!(peer.out(), ["ws:3probe", "poll:6"]);
    assert_eq!(peer.session.transport(), TransportKind::Polling);
    // The client has paused polling: these wait in the buffer.
    peer.send("a").unwrap();
    peer.session.send(Message::from(vec![1, 2, 3])).unwrap();
    peer.send("b").unwrap();
    assert_eq!(peer.out(), Vec::<String>::new());
    peer.at(30).ws("5");
    assert_eq!(peer.events(), [Event::Upgraded]);
    assert_eq!(peer.session.transport(), TransportKind::WebSocket);
    assert_eq!(peer.out(), ["ws:4a", "ws-bin:010203", "ws:4b"]);
    // From now on everything goes over the WebSocket.
    peer.send("c").unwrap();
    assert_eq!(peer.out(), ["ws:4c"]);
    peer.ws("4hello");
    peer.ws_bin(&[9, 8]);
    assert_eq!(
        peer.events(),
        [msg("hello"), Event::Message(Message::from(vec![9, 8]))]
    );
    // The upgrade deadline is gone; only the heartbeat is left.
    assert_eq!(peer.deadline(), Some(PING_INTERVAL));
}

#[test]
fn a_get_that_arrives_after_the_probe_gets_noop_at_once() {
    let mut peer = Peer::polling();
    peer.ws_open().unwrap();
    peer.ws("2probe");
    assert_eq!(peer.out(), ["ws:3probe"]);
    peer.get().unwrap();
    assert_eq!(peer.out(), ["poll:6"]);
    peer.ws("5");
    assert_eq!(peer.events(), [Event::Upgraded]);
    assert_eq!(peer.out(), Vec::<String>::new());
}

#[test]
fn messages_queued_before_the_probe_go_through_polling() {
    let mut peer = Peer::polling();
    peer.ws_open().unwrap();
    peer.send("a").unwrap();
    peer.get().unwrap();
    assert_eq!(peer.out(), ["poll:4a"]);
    // A GET already pending takes them at once.
    peer.get().unwrap();
    peer.send("b").unwrap();
    assert_eq!(peer.out(), ["poll:4b"]);
    // POSTs still work while probing.
    peer.post("4c").unwrap();
    assert_eq!(peer.events(), [msg("c")]);
    peer.ws("2probe");
    peer.ws("5");
    assert_eq!(peer.out(), ["ws:3probe"]);
    assert_eq!(peer.events(), [Event::Upgraded]);
}

#[test]
fn the_heartbeat_carries_on_across_the_upgrade() {
    let mut peer = Peer::polling();
    peer.at(250).ws_open().unwrap();
    peer.ws("2probe");
    assert_eq!(peer.out(), ["ws:3probe"]);
    // The ping falls during the upgrade: it waits in the buffer...
    peer.tick(PING_INTERVAL);
    assert_eq!(peer.out(), Vec::<String>::new());
    // ...and moves to the WebSocket.
    peer.at(PING_INTERVAL + 10).ws("5");
    assert_eq!(peer.out(), ["ws:2"]);
    peer.at(PING_INTERVAL + 20).ws("3");
    assert_eq!(peer.deadline(), Some(2 * PING_INTERVAL + 20));
    assert_eq!(peer.events(), [Event::Upgraded]);
}

#[test]
fn upgrade_timeout_closes_only_the_probing_websocket() {
    let mut peer = Peer::polling();
    peer.at(10).ws_open().unwrap();
    assert_eq!(peer.deadline(), Some(10 + UPGRADE_TIMEOUT));
    peer.ws("2probe");
    assert_eq!(peer.out(), ["ws:3probe"]);
    peer.tick(10 + UPGRADE_TIMEOUT);
    assert_eq!(peer.out(), ["ws-close"]);
    assert_eq!(peer.events(), []);
    assert!(!peer.is_closed());
    assert_eq!(peer.session.transport(), TransportKind::Polling);
    assert_eq!(peer.deadline(), Some(PING_INTERVAL));
    // A late `5` on the dead WebSocket changes nothing.
    peer.ws("5");
    assert_eq!(peer.events(), []);
    // Polling goes on: a GET waits again instead of receiving a noop.
    peer.get().unwrap();
    assert_eq!(peer.out(), Vec::<String>::new());
    peer.send("a").unwrap();
    assert_eq!(peer.out(), ["poll:4a"]);
    peer.post("4b").unwrap();
    assert_eq!(peer.events(), [msg("b")]);
    // And the client may try again.
    peer.ws_open().unwrap();
    peer.ws("2probe");
    peer.ws("5");
    assert_eq!(peer.events(), [Event::Upgraded]);
}

#[test]
fn a_wrong_packet_during_probing_cancels_the_upgrade() {
    let before_probe: [&str; 5] = ["4hello", "5", "3probe", "2", "abc"];
    for text in before_probe {
        let mut peer = Peer::polling();
        peer.ws_open().unwrap();
        peer.ws(text);
        assert_eq!(peer.out(), ["ws-close"], "{text}");
        // The probing WebSocket's packets never reach the application.
        assert_eq!(peer.events(), [], "{text}");
        assert_eq!(peer.session.transport(), TransportKind::Polling);
        assert_eq!(peer.deadline(), Some(PING_INTERVAL));
        assert!(!peer.is_closed());
    }

    let after_probe: [&str; 3] = ["4hello", "2probe", "1"];
    for text in after_probe {
        let mut peer = Peer::polling();
        peer.ws_open().unwrap();
        peer.ws("2probe");
        assert_eq!(peer.out(), ["ws:3probe"]);
        peer.ws(text);
        assert_eq!(peer.out(), ["ws-close"], "{text}");
        assert_eq!(peer.events(), [], "{text}");
        // Back on polling: a GET waits rather than getting a noop.
        peer.get().unwrap();
        assert_eq!(peer.out(), Vec::<String>::new(), "{text}");
        assert!(!peer.is_closed());
    }

    let mut peer = Peer::polling();
    peer.ws_open().unwrap();
    peer.ws_bin(&[1]);
    assert_eq!(peer.out(), ["ws-close"]);
    assert_eq!(peer.events(), []);
}

#[test]
fn the_probing_websocket_closing_cancels_the_upgrade() {
    let mut peer = Peer::polling();
    peer.ws_open().unwrap();
    peer.ws("2probe");
    assert_eq!(peer.out(), ["ws:3probe"]);
    peer.ws_closed(Some(TransportError::WebSocket));
    // Already closed: nothing to send it.
    assert_eq!(peer.out(), Vec::<String>::new());
    assert_eq!(peer.events(), []);
    assert!(!peer.is_closed());
    assert_eq!(peer.deadline(), Some(PING_INTERVAL));
    peer.get().unwrap();
    assert_eq!(peer.out(), Vec::<String>::new());
    peer.send("a").unwrap();
    assert_eq!(peer.out(), ["poll:4a"]);
    peer.ws_open().unwrap();
}

#[test]
fn a_second_websocket_during_the_upgrade_is_refused() {
    let mut peer = Peer::polling();
    peer.ws_open().unwrap();
    assert_eq!(peer.ws_open(), Err(RequestError::TransportMismatch));
    assert!(!RequestError::TransportMismatch.closes_session());
    // The first one can still finish.
    peer.ws("2probe");
    peer.ws("5");
    assert_eq!(peer.out(), ["ws:3probe"]);
    assert_eq!(peer.events(), [Event::Upgraded]);
}

#[test]
fn polling_and_new_websockets_are_refused_after_the_upgrade() {
    let mut peer = Peer::upgraded();
    assert_eq!(peer.get(), Err(RequestError::TransportMismatch));
    assert_eq!(
        peer.session.handle_post_start(peer.now),
        Err(RequestError::TransportMismatch)
    );
    // The official suite's "ignores WebSocket connection with same sid after upgrade".
    assert_eq!(peer.ws_open(), Err(RequestError::TransportMismatch));
    assert!(!peer.is_closed());
    peer.ws("4hello");
    assert_eq!(peer.events(), [msg("hello")]);
    peer.send("hello").unwrap();
    assert_eq!(peer.out(), ["ws:4hello"]);
}

#[test]
fn closing_the_session_during_the_upgrade_closes_the_probe() {
    let mut peer = Peer::polling();
    peer.ws_open().unwrap();
    peer.close(CloseReason::ForcedClose);
    assert_eq!(peer.out(), ["ws-close"]);
    assert_eq!(peer.events(), [closed(CloseReason::ForcedClose)]);
    peer.ws("2probe");
    assert_eq!(peer.out(), Vec::<String>::new());
    // The close packet waits for a GET; with none, the session ends after `ping_timeout`.
    assert_eq!(peer.deadline(), Some(PING_TIMEOUT));
    peer.tick(PING_TIMEOUT);
    assert!(peer.is_closed());
    assert_eq!(peer.deadline(), None);
    assert_eq!(peer.out(), Vec::<String>::new());
}

#[test]
fn a_close_with_nothing_queued_waits_for_the_next_get() {
    let mut peer = Peer::polling();
    peer.close(CloseReason::ForcedClose);
    assert_eq!(peer.events(), [closed(CloseReason::ForcedClose)]);
    assert!(!peer.is_closed());
    peer.at(PING_TIMEOUT / 2);
    peer.get().unwrap();
    assert_eq!(peer.out(), ["poll:1"]);
    assert!(peer.is_closed());
    // A close for a failure (here a ping timeout) ends the session at once.
    let mut peer = Peer::polling();
    let silent = peer.deadline().unwrap();
    peer.tick(silent);
    let late = peer.deadline().unwrap();
    peer.tick(late);
    assert!(peer.is_closed());
}
