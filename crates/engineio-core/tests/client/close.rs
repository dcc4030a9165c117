//! Closing from either side, and transport failures.

use super::*;

#[test]
fn app_close_over_polling_sends_what_is_queued_then_close() {
    let mut net = Net::open(client_config(ClientTransports::Polling));
    net.client_send(text("a"));
    net.client_send(text("b"));
    net.client.close(net.now);
    net.route();
    // `a` is in flight; `b` and `close` wait for it, and go together.
    assert_eq!(net.take_log(), ["POST 4a"]);
    assert_eq!(net.client.send(text("c")), Err(SendError::Closed));
    assert!(!net.client.is_closed());
    net.pump();
    assert_eq!(net.take_log(), ["POST 4b|1", "poll< 6"]);
    assert_eq!(
        net.take_client_events(),
        [ClientEvent::Closed(ClientCloseReason::ForcedClose)]
    );
    assert!(net.client.is_closed());
    assert_eq!(
        net.take_server_events(),
        [
            Event::Message(text("a")),
            Event::Message(text("b")),
            Event::Closed(CloseReason::TransportClose)
        ]
    );
    // Closing twice does nothing.
    net.client.close(net.now);
    net.route();
    assert_eq!(net.take_client_events(), NO_EVENTS);
}

#[test]
fn app_close_over_websocket() {
    let mut net = Net::open(client_config(ClientTransports::WebSocket));
    net.client_send(text("bye"));
    net.client.close(net.now);
    net.route();
    assert_eq!(net.take_log(), ["ws> 4bye", "ws> 1", "ws> CLOSE"]);
    assert_eq!(
        net.take_client_events(),
        [ClientEvent::Closed(ClientCloseReason::ForcedClose)]
    );
    net.pump();
    assert_eq!(
        net.take_server_events(),
        [
            Event::Message(text("bye")),
            Event::Closed(CloseReason::TransportClose)
        ]
    );
}

#[test]
fn app_close_before_the_handshake_is_immediate() {
    let mut net = Net::new(client_config(ClientTransports::Polling));
    net.client.send(text("never")).unwrap();
    net.client.close(net.now);
    net.route();
    assert_eq!(
        net.take_client_events(),
        [ClientEvent::Closed(ClientCloseReason::ForcedClose)]
    );
    assert!(net.client.is_closed());
    // A late handshake response is ignored.
    net.pump();
    assert_eq!(net.take_client_events(), NO_EVENTS);

    let mut net = Net::new(client_config(ClientTransports::WebSocket));
    net.client.close(net.now);
    net.route();
    assert_eq!(net.take_log(), ["WS-OPEN", "ws> CLOSE"]);
}

#[test]
fn app_close_during_the_upgrade_abandons_the_probe() {
    let mut net = Net::new(ClientConfig::default());
    net.pump_with(&[Net::get_to_server, Net::get_to_client, Net::ws_connect]);
    net.take_log();
    net.client_send(text("first"));
    net.client_send(text("last"));
    net.client.close(net.now);
    net.route();
    assert_eq!(net.take_log(), ["POST 4first", "ws> CLOSE"]);
    net.pump();
    assert!(net.take_log().contains(&"POST 4last|1".to_owned()));
    assert_eq!(
        net.take_client_events().last(),
        Some(&ClientEvent::Closed(ClientCloseReason::ForcedClose))
    );
    assert_eq!(
        net.take_server_events(),
        [
            Event::Message(text("first")),
            Event::Message(text("last")),
            Event::Closed(CloseReason::TransportClose)
        ]
    );
}

#[test]
fn server_close_over_polling() {
    let mut net = Net::open(client_config(ClientTransports::Polling));
    net.server_send(text("bye"));
    net.pump();
    // The server closes with the next GET held: it answers it with `close`.
    let now = net.now;
    net.server().close(CloseReason::ForcedClose, now);
    net.pump();
    assert_eq!(net.take_log(), ["poll< 4bye", "GET sid", "poll< 1"]);
    assert_eq!(
        net.take_client_events(),
        [
            ClientEvent::Message(text("bye")),
            ClientEvent::Closed(ClientCloseReason::TransportClose)
        ]
    );
    assert!(net.client.is_closed());
    assert_eq!(net.client.send(text("x")), Err(SendError::Closed));
    assert_eq!(net.take_log(), NOTHING);
}

#[test]
fn server_close_over_websocket() {
    let mut net = Net::open(ClientConfig::default());
    let now = net.now;
    net.server().close(CloseReason::ForcedClose, now);
    net.route();
    assert_eq!(net.take_log(), ["ws< CLOSE"]);
    net.pump();
    assert_eq!(
        net.take_client_events(),
        [ClientEvent::Closed(ClientCloseReason::TransportClose)]
    );
    // The server's `close` packet over WebSocket, when it sends one, ends it too.
    let mut net = Net::open(client_config(ClientTransports::WebSocket));
    let now = net.now;
    net.client.handle_ws_frame(Frame::Text("1".into()), now);
    net.route();
    assert_eq!(net.take_log(), ["ws> CLOSE"]);
    assert_eq!(
        net.take_client_events(),
        [ClientEvent::Closed(ClientCloseReason::TransportClose)]
    );
}

#[test]
fn transport_failures_are_transport_errors() {
    let polling_error = [ClientEvent::Closed(ClientCloseReason::TransportError(
        TransportKind::Polling,
    ))];

    // The GET fails.
    let mut net = Net::open(client_config(ClientTransports::Polling));
    let now = net.now;
    net.get = None;
    net.client.handle_poll_error(now);
    net.route();
    assert_eq!(net.take_client_events(), polling_error);
    assert_eq!(net.take_log(), NOTHING);

    // The POST fails.
    let mut net = Net::open(client_config(ClientTransports::Polling));
    net.client_send(text("x"));
    net.post = None;
    net.client.handle_post_error(now);
    net.route();
    assert_eq!(net.take_client_events(), polling_error);

    // A server that no longer knows the session (its close waited `ping_timeout` for a
    // GET that came later) answers the next GET with 400.
    let mut net = Net::open(client_config(ClientTransports::Polling));
    net.server_send(text("x"));
    net.server().close(CloseReason::ForcedClose, now);
    net.server().handle_timeout(now + ms(PING_TIMEOUT));
    assert!(net.server().is_closed());
    net.pump();
    assert_eq!(net.take_log(), ["poll< 4x", "GET sid"]);
    let events = net.take_client_events();
    assert_eq!(events[1..], polling_error);

    // The WebSocket breaks.
    let mut net = Net::open(ClientConfig::default());
    assert!(net.client.websocket_succeeded());
    net.ws = None;
    net.client.handle_ws_error(now);
    net.route();
    // The driver has dropped it already: nothing to close.
    assert_eq!(net.take_log(), NOTHING);
    assert_eq!(
        net.take_client_events(),
        [ClientEvent::Closed(ClientCloseReason::TransportError(
            TransportKind::WebSocket
        ))]
    );
    // The reference forgets the WebSocket success after a transport error.
    assert!(!net.client.websocket_succeeded());
}

#[test]
fn close_reasons_have_the_reference_words() {
    assert_eq!(
        ClientCloseReason::TransportClose.as_str(),
        "transport close"
    );
    assert_eq!(
        ClientCloseReason::TransportError(TransportKind::Polling).as_str(),
        "transport error"
    );
    assert_eq!(ClientCloseReason::PingTimeout.as_str(), "ping timeout");
    assert_eq!(ClientCloseReason::ForcedClose.as_str(), "forced close");
    assert_eq!(
        ClientCloseReason::ParseError(DecodeError::Empty).as_str(),
        "parse error"
    );
    assert_eq!(
        ClientCloseReason::TransportError(TransportKind::WebSocket).to_string(),
        "transport error (websocket)"
    );
}
