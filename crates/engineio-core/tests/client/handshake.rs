//! The client session's handshake, over polling and over WebSocket.

use super::*;

#[test]
fn handshake_over_polling() {
    let mut net = Net::new(client_config(ClientTransports::Polling));
    assert_eq!(net.take_log(), ["GET"]);
    assert_eq!(net.client.transport(), TransportKind::Polling);
    assert!(!net.client.is_open());
    assert_eq!(net.client.sid(), None);

    net.pump();
    // The handshake response, then the next GET, which the server holds.
    assert_eq!(net.take_log(), ["poll< 0{…}", "GET sid"]);
    let events = net.take_client_events();
    let [ClientEvent::Open(handshake)] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(handshake.sid, sid());
    assert_eq!(handshake.upgrades, ["websocket"]);
    assert_eq!(handshake.ping_interval, PING_INTERVAL);
    assert_eq!(handshake.ping_timeout, PING_TIMEOUT);
    assert!(net.client.is_open());
    assert_eq!(net.client.sid(), Some(&sid()));
    assert_eq!(net.client.handshake(), Some(handshake));
    assert_eq!(net.client.transport(), TransportKind::Polling);
    // Polling only: no probe although the server offers one.
    assert!(net.ws.is_none());
    assert!(!net.client.websocket_succeeded());
}

#[test]
fn handshake_over_websocket_only() {
    let mut net = Net::new(client_config(ClientTransports::WebSocket));
    assert_eq!(net.take_log(), ["WS-OPEN"]);
    assert_eq!(net.client.transport(), TransportKind::WebSocket);

    net.pump();
    assert_eq!(net.take_log(), ["ws< 0{…}"]);
    let events = net.take_client_events();
    let [ClientEvent::Open(handshake)] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(handshake.sid, sid());
    assert!(handshake.upgrades.is_empty());
    assert!(net.client.is_open());
    assert!(net.client.websocket_succeeded());
    // No HTTP request at all.
    assert!(net.get.is_none() && net.post.is_none());
}

#[test]
fn handshake_over_polling_starts_the_probe_when_websocket_is_offered() {
    let mut net = Net::new(ClientConfig::default());
    net.pump_with(&[Net::get_to_server, Net::get_to_client]);
    assert_eq!(
        net.take_log(),
        ["GET", "poll< 0{…}", "WS-OPEN sid", "GET sid"]
    );
}

#[test]
fn no_probe_when_upgrade_is_off_or_not_offered() {
    let mut config = ClientConfig::default();
    config.upgrade = false;
    let mut net = Net::new(config);
    net.pump();
    assert_eq!(net.take_log(), ["GET", "poll< 0{…}", "GET sid"]);

    let mut server_config = server_config();
    server_config.allow_upgrade = false;
    let mut net = Net::with_server(ClientConfig::default(), server_config);
    net.pump();
    assert_eq!(net.take_log(), ["GET", "poll< 0{…}", "GET sid"]);
}

#[test]
fn remember_upgrade_opens_over_websocket_after_a_websocket_success() {
    // A first session upgrades, and says so.
    let net = Net::open(ClientConfig::default());
    assert_eq!(net.client.transport(), TransportKind::WebSocket);
    assert!(net.client.websocket_succeeded());

    let mut config = ClientConfig::default();
    config.remember_upgrade = true;
    config.prior_websocket_success = net.client.websocket_succeeded();
    let mut net = Net::new(config.clone());
    assert_eq!(net.take_log(), ["WS-OPEN"]);
    net.pump();
    assert!(net.client.is_open());

    // Without the memory, or without the option, polling comes first.
    config.prior_websocket_success = false;
    assert_eq!(Net::new(config).take_log(), ["GET"]);
    let mut config = ClientConfig::default();
    config.prior_websocket_success = true;
    assert_eq!(Net::new(config).take_log(), ["GET"]);
}

#[test]
fn messages_sent_before_the_handshake_wait_for_it() {
    let mut net = Net::new(client_config(ClientTransports::Polling));
    net.client_send(text("early"));
    net.client_send(bin(&[1, 2, 3]));
    assert_eq!(net.take_log(), ["GET"]);
    net.pump();
    assert_eq!(
        net.take_log(),
        ["poll< 0{…}", "POST 4early|bAQID", "GET sid"]
    );
    assert_eq!(net.server_messages(), [text("early"), bin(&[1, 2, 3])]);

    let mut net = Net::new(client_config(ClientTransports::WebSocket));
    net.client_send(text("early"));
    net.pump();
    assert_eq!(net.take_log(), ["WS-OPEN", "ws< 0{…}", "ws> 4early"]);
    assert_eq!(net.server_messages(), [text("early")]);
}
