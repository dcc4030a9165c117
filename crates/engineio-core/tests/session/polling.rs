//! Polling requests from the client: GETs, POSTs, overlaps and malformed bodies.

use super::*;

#[test]
fn a_second_get_overlaps_and_closes_the_session() {
    let mut peer = Peer::polling();
    peer.get().unwrap();
    let overlap = peer.get();
    assert_eq!(overlap, Err(RequestError::Overlap));
    assert!(overlap.unwrap_err().closes_session());
    // The first GET receives the close packet.
    assert_eq!(peer.out(), ["poll:1"]);
    assert_eq!(
        peer.events(),
        [closed(CloseReason::TransportError(
            TransportError::RequestOverlap
        ))]
    );
    assert!(peer.is_closed());
    assert_eq!(peer.get(), Err(RequestError::Closed));
}

#[test]
fn a_second_post_start_overlaps_and_closes_the_session() {
    let mut peer = Peer::polling();
    peer.get().unwrap();
    peer.session.handle_post_start(peer.now).unwrap();
    assert_eq!(
        peer.session.handle_post_start(peer.now),
        Err(RequestError::Overlap)
    );
    assert_eq!(peer.out(), ["poll:1"]);
    assert_eq!(
        peer.events(),
        [closed(CloseReason::TransportError(
            TransportError::RequestOverlap
        ))]
    );
    // The first POST's body comes too late.
    assert_eq!(
        peer.session.handle_post("4late".into(), peer.now),
        Err(RequestError::Closed)
    );
    assert_eq!(peer.events(), []);
}

#[test]
fn consecutive_posts_are_fine() {
    let mut peer = Peer::polling();
    peer.post("4a").unwrap();
    peer.post("4b").unwrap();
    assert_eq!(peer.events(), [msg("a"), msg("b")]);
}

#[test]
fn a_post_with_several_packets_is_handled_in_order() {
    let mut peer = Peer::polling();
    peer.post("4test1\x1e4test2\x1ebAQIDBA==\x1e4\x1e4é€😀")
        .unwrap();
    assert_eq!(
        peer.events(),
        [
            msg("test1"),
            msg("test2"),
            Event::Message(Message::from(vec![1, 2, 3, 4])),
            msg(""),
            msg("é€😀"),
        ]
    );
    // Echoed back, they make the same payload (the official suite's echo tests).
    for text in ["test1", "test2"] {
        peer.send(text).unwrap();
    }
    peer.session.send(Message::from(vec![1, 2, 3, 4])).unwrap();
    peer.get().unwrap();
    assert_eq!(peer.out(), ["poll:4test1\x1e4test2\x1ebAQIDBA=="]);
}

#[test]
fn malformed_post_bodies_close_with_parse_error() {
    let cases: [(&[u8], DecodeError); 7] = [
        (b"9", DecodeError::UnknownType(b'9')),
        // The official suite's "invalid packet format".
        (b"abc", DecodeError::UnknownType(b'a')),
        (b"b%%%", DecodeError::Base64),
        (b"bAQIDBA", DecodeError::Base64),
        (b"4\xff", DecodeError::Utf8),
        (b"", DecodeError::Empty),
        (b"\x1e4a", DecodeError::Empty),
    ];
    for (body, error) in cases {
        let mut peer = Peer::polling();
        peer.get().unwrap();
        assert_eq!(
            peer.post(Bytes::from_static(body)),
            Err(RequestError::Decode(error)),
            "{body:?}"
        );
        assert_eq!(peer.events(), [closed(CloseReason::ParseError)], "{body:?}");
        assert_eq!(peer.out(), ["poll:1"], "{body:?}");
        assert!(peer.is_closed());
        assert_eq!(peer.get(), Err(RequestError::Closed));
    }
}

#[test]
fn packets_before_a_bad_one_are_delivered() {
    let mut peer = Peer::polling();
    assert_eq!(
        peer.post("4a\x1e4b\x1e"),
        Err(RequestError::Decode(DecodeError::Empty))
    );
    assert_eq!(
        peer.events(),
        [msg("a"), msg("b"), closed(CloseReason::ParseError)]
    );
}

#[test]
fn too_many_packets_in_a_post_close_the_session() {
    let mut config = config();
    config.max_packets_per_payload = 2;
    let mut peer = Peer::polling_with(config);
    assert_eq!(
        peer.post("4a\x1e4b\x1e4c"),
        Err(RequestError::Decode(DecodeError::TooManyPackets { max: 2 }))
    );
    assert_eq!(
        peer.events(),
        [msg("a"), msg("b"), closed(CloseReason::ParseError)]
    );
    assert!(peer.is_closed());
}

#[test]
fn a_post_over_max_payload_is_a_transport_error() {
    let mut config = config();
    config.max_payload = 10;
    let mut peer = Peer::polling_with(config.clone());
    // Exactly at the limit is fine.
    peer.post("4123456789").unwrap();
    assert_eq!(peer.events(), [msg("123456789")]);
    assert_eq!(
        peer.post("41234567890"),
        Err(RequestError::Decode(DecodeError::PayloadTooLarge {
            size: 11,
            max: 10
        }))
    );
    assert_eq!(
        peer.events(),
        [closed(CloseReason::TransportError(
            TransportError::PayloadTooLarge
        ))]
    );
    assert!(peer.is_closed());

    // The driver can also stop reading a body as soon as it passes the limit.
    let mut peer = Peer::polling_with(config);
    peer.get().unwrap();
    peer.session.handle_post_start(peer.now).unwrap();
    peer.session.handle_post_too_large(peer.now);
    assert_eq!(
        peer.events(),
        [closed(CloseReason::TransportError(
            TransportError::PayloadTooLarge
        ))]
    );
    assert_eq!(peer.out(), ["poll:1"]);
}

#[test]
fn an_aborted_post_closes_the_session() {
    let mut peer = Peer::polling();
    peer.get().unwrap();
    peer.session.handle_post_start(peer.now).unwrap();
    peer.session.handle_post_aborted(peer.now);
    assert_eq!(
        peer.events(),
        [closed(CloseReason::TransportError(
            TransportError::PostClosedPrematurely
        ))]
    );
    assert_eq!(peer.out(), ["poll:1"]);
    assert!(peer.is_closed());
}

#[test]
fn a_dropped_get_closes_the_session() {
    let mut peer = Peer::polling();
    // Without a pending GET there is nothing to drop.
    peer.drop_get();
    assert_eq!(peer.events(), []);
    peer.get().unwrap();
    peer.drop_get();
    assert_eq!(
        peer.events(),
        [closed(CloseReason::TransportError(
            TransportError::PollClosedPrematurely
        ))]
    );
    assert_eq!(peer.out(), Vec::<String>::new());
    assert!(peer.is_closed());
    assert_eq!(peer.get(), Err(RequestError::Closed));
}

#[test]
fn a_client_close_packet_over_polling_closes_the_session() {
    let mut peer = Peer::polling();
    peer.post("1").unwrap();
    assert_eq!(peer.events(), [closed(CloseReason::TransportClose)]);
    assert!(peer.is_closed());
    assert_eq!(peer.get(), Err(RequestError::Closed));
}

#[test]
fn a_client_close_releases_the_pending_get_with_noop() {
    // The official suite's "forcefully closes the session": a GET is pending when the
    // POST `1` comes; the GET receives `6` and the next GET is refused.
    let mut peer = Peer::polling();
    peer.get().unwrap();
    peer.post("1").unwrap();
    assert_eq!(peer.out(), ["poll:6"]);
    assert_eq!(peer.events(), [closed(CloseReason::TransportClose)]);
    assert!(peer.is_closed());
    assert_eq!(peer.get(), Err(RequestError::Closed));
}

#[test]
fn no_message_is_delivered_after_the_close_packet() {
    let mut peer = Peer::polling();
    peer.post("4a\x1e1\x1e4b").unwrap();
    assert_eq!(
        peer.events(),
        [msg("a"), closed(CloseReason::TransportClose)]
    );
}

#[test]
fn requests_after_close_are_refused() {
    let mut peer = Peer::polling();
    peer.close(CloseReason::ForcedClose);
    // A close over polling waits for the client's next GET, which gets the close packet.
    assert!(!peer.is_closed());
    peer.get().unwrap();
    assert_eq!(peer.out(), ["poll:1"]);
    assert!(peer.is_closed());
    assert_eq!(peer.get(), Err(RequestError::Closed));
    assert_eq!(
        peer.session.handle_post_start(peer.now),
        Err(RequestError::Closed)
    );
    assert_eq!(
        peer.session.handle_post("4a".into(), peer.now),
        Err(RequestError::Closed)
    );
    assert_eq!(peer.ws_open(), Err(RequestError::Closed));
    peer.ws("4a");
    peer.ws_closed(None);
    peer.drop_get();
    peer.tick(10 * PING_INTERVAL);
    assert_eq!(peer.events(), [closed(CloseReason::ForcedClose)]);
    assert_eq!(peer.out(), Vec::<String>::new());
}
