//! The WebSocket transport.

use super::*;

#[test]
fn websocket_messages_both_ways() {
    let mut peer = Peer::websocket();
    peer.ws("4hello");
    peer.ws_bin(&[1, 2, 3, 4]);
    assert_eq!(
        peer.events(),
        [
            msg("hello"),
            Event::Message(Message::from(vec![1, 2, 3, 4]))
        ]
    );
    peer.send("hello").unwrap();
    peer.session.send(Message::from(vec![1, 2, 3, 4])).unwrap();
    assert_eq!(peer.out(), ["ws:4hello", "ws-bin:01020304"]);
    // `2probe` and `5` mean nothing on an active WebSocket.
    peer.ws("2probe");
    peer.ws("5");
    peer.ws("6");
    assert_eq!(peer.out(), Vec::<String>::new());
    assert_eq!(peer.events(), []);
}

#[test]
fn a_websocket_parse_error_closes_the_session() {
    for text in ["abc", "", "9", "0{"] {
        let mut peer = Peer::websocket();
        peer.ws(text);
        assert_eq!(peer.out(), ["ws-close"], "{text:?}");
        assert_eq!(peer.events(), [closed(CloseReason::ParseError)], "{text:?}");
        assert!(peer.is_closed());
        peer.ws("4late");
        assert_eq!(peer.events(), []);
    }
}

#[test]
fn a_client_close_packet_over_websocket_closes_the_session() {
    let mut peer = Peer::upgraded();
    peer.ws("4a");
    peer.ws("1");
    peer.ws("4b");
    assert_eq!(peer.out(), ["ws-close"]);
    assert_eq!(
        peer.events(),
        [msg("a"), closed(CloseReason::TransportClose)]
    );
    assert!(peer.is_closed());
}

#[test]
fn the_websocket_closing_closes_the_session() {
    let mut peer = Peer::websocket();
    peer.ws_closed(None);
    assert_eq!(peer.events(), [closed(CloseReason::TransportClose)]);
    assert!(peer.is_closed());
    assert!(!peer.out().iter().any(|out| out.starts_with("ws:")));

    let mut peer = Peer::upgraded();
    peer.ws_closed(Some(TransportError::WebSocket));
    assert_eq!(
        peer.events(),
        [closed(CloseReason::TransportError(
            TransportError::WebSocket
        ))]
    );
    assert!(peer.is_closed());
    // Closing twice reports once.
    peer.ws_closed(None);
    assert_eq!(peer.events(), []);
}

/// A text message framed once for many sessions reaches each as `send` would send it,
/// over WebSocket and over polling; a string that is not a frame goes as a text message.
#[test]
fn a_framed_text_goes_out_as_the_same_message() {
    let framed = |text: &'static str| bytestring::ByteString::from_static(text);
    let mut sent = Peer::websocket();
    sent.out();
    sent.send("hello").unwrap();
    sent.send("not a frame").unwrap();
    let mut framed_ws = Peer::websocket();
    framed_ws.out();
    framed_ws
        .session
        .send_framed_text(framed("4hello"))
        .unwrap();
    framed_ws
        .session
        .send_framed_text(framed("not a frame"))
        .unwrap();
    assert_eq!(framed_ws.out(), sent.out());

    let mut sent = Peer::polling();
    sent.out();
    sent.send("hello").unwrap();
    sent.send("again").unwrap();
    sent.get().unwrap();
    let mut polling = Peer::polling();
    polling.out();
    polling.session.send_framed_text(framed("4hello")).unwrap();
    polling.send("again").unwrap();
    polling.get().unwrap();
    let out = polling.out();
    assert_eq!(out, sent.out());
    assert!(out[0].contains("4hello\u{1e}4again"), "{out:?}");

    polling.close(CloseReason::ForcedClose);
    assert_eq!(
        polling.session.send_framed_text(framed("4late")),
        Err(SendError::Closed)
    );
}

#[test]
fn the_clock_is_read_only_for_frames_that_need_the_time() {
    let mut peer = Peer::websocket();
    peer.tick(PING_INTERVAL);
    assert_eq!(peer.out(), ["ws:2"]);
    let reads = std::cell::Cell::new(0);
    let pong_at = peer.start + ms(PING_INTERVAL + 20);
    let clock = || {
        reads.set(reads.get() + 1);
        pong_at
    };
    peer.session
        .handle_ws_frame_with_clock(Frame::Text("4hello".into()), clock);
    assert_eq!(reads.get(), 0, "a message needs no time");
    assert_eq!(peer.events(), [msg("hello")]);
    // A pong does: the next ping is due a ping interval after it.
    peer.session
        .handle_ws_frame_with_clock(Frame::Text("3".into()), clock);
    assert_eq!(reads.get(), 1);
    assert_eq!(peer.deadline(), Some(2 * PING_INTERVAL + 20));
    // So does a parse error, which closes the session.
    peer.session
        .handle_ws_frame_with_clock(Frame::Text("9".into()), clock);
    assert_eq!(reads.get(), 2);
    assert_eq!(peer.events(), [closed(CloseReason::ParseError)]);
}
