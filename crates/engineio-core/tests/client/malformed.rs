//! Malformed input from the server: parse errors, never panics.

use super::*;

fn closed_by_poll_response(body: impl Into<Bytes>) -> Vec<ClientEvent> {
    let (mut client, now) = bare_polling_client(HANDSHAKE);
    client.handle_poll_response(body.into(), now);
    assert!(client.is_closed());
    // Nothing more is asked of the network.
    assert_eq!(client.poll_transmit(), None);
    std::iter::from_fn(|| client.poll_event()).collect()
}

fn parse_error(err: DecodeError) -> ClientEvent {
    ClientEvent::Closed(ClientCloseReason::ParseError(err))
}

#[test]
fn a_malformed_poll_response_is_a_parse_error() {
    assert_eq!(
        closed_by_poll_response("9"),
        [parse_error(DecodeError::UnknownType(b'9'))]
    );
    assert_eq!(
        closed_by_poll_response(""),
        [parse_error(DecodeError::Empty)]
    );
    assert_eq!(
        closed_by_poll_response("b%%%"),
        [parse_error(DecodeError::Base64)]
    );
    assert_eq!(
        closed_by_poll_response(Bytes::from_static(&[b'4', 0xff])),
        [parse_error(DecodeError::Utf8)]
    );
    // The packets before the bad one are delivered.
    assert_eq!(
        closed_by_poll_response("4ok\x1e\x1e4lost"),
        [
            ClientEvent::Message(text("ok")),
            parse_error(DecodeError::Empty)
        ]
    );
    // An HTTP error page is not a payload.
    assert_eq!(
        closed_by_poll_response(r#"{"code":1,"message":"Session ID unknown"}"#),
        [parse_error(DecodeError::UnknownType(b'{'))]
    );
}

#[test]
fn poll_responses_over_the_limits_are_parse_errors() {
    let mut config = client_config(ClientTransports::Polling);
    config.max_payload = 8;
    config.max_packets_per_payload = 2;
    let now = Instant::now();
    let open = |config: &ClientConfig| {
        let mut client = ClientSession::new(config.clone(), now);
        client.handle_poll_response(format!("0{HANDSHAKE}").into(), now);
        client
    };
    // The handshake itself is over 8 bytes.
    let mut client = open(&config);
    assert!(matches!(
        client.poll_event(),
        Some(ClientEvent::Closed(ClientCloseReason::ParseError(
            DecodeError::PayloadTooLarge { max: 8, .. }
        )))
    ));
    config.max_payload = 1_000;
    let mut client = open(&config);
    client.poll_event();
    client.handle_poll_response("4a\x1e4b\x1e4c".into(), now);
    let events: Vec<_> = std::iter::from_fn(|| client.poll_event()).collect();
    assert_eq!(
        events,
        [
            ClientEvent::Message(text("a")),
            ClientEvent::Message(text("b")),
            parse_error(DecodeError::TooManyPackets { max: 2 })
        ]
    );
}

#[test]
fn the_first_packet_must_be_the_handshake() {
    let now = Instant::now();
    let mut client = ClientSession::new(ClientConfig::default(), now);
    client.handle_poll_response("4hello".into(), now);
    assert!(matches!(
        client.poll_event(),
        Some(ClientEvent::Closed(ClientCloseReason::ParseError(
            DecodeError::Handshake(_)
        )))
    ));

    let mut client = ClientSession::new(client_config(ClientTransports::WebSocket), now);
    client.handle_ws_opened(now);
    client.handle_ws_frame(Frame::Text("0{\"sid\":".into()), now);
    assert!(matches!(
        client.poll_event(),
        Some(ClientEvent::Closed(ClientCloseReason::ParseError(
            DecodeError::Handshake(_)
        )))
    ));
}

#[test]
fn a_malformed_websocket_frame_is_a_parse_error() {
    for (frame, err) in [
        (Frame::Text("".into()), DecodeError::Empty),
        (Frame::Text("x".into()), DecodeError::UnknownType(b'x')),
        (
            Frame::Binary(Bytes::from(vec![0; 1_001])),
            DecodeError::PayloadTooLarge {
                size: 1_001,
                max: 1_000,
            },
        ),
    ] {
        let mut config = client_config(ClientTransports::WebSocket);
        config.max_payload = 1_000;
        let mut net = Net::open(config);
        let now = net.now;
        net.client.handle_ws_frame(frame, now);
        net.route();
        assert_eq!(net.take_log(), ["ws> CLOSE"]);
        assert_eq!(net.take_client_events(), [parse_error(err)]);
        net.pump();
        assert_eq!(
            net.take_server_events(),
            [Event::Closed(CloseReason::TransportClose)]
        );
    }
}
