//! Messages both ways, POST batching and the send buffer's bound.

use super::*;

#[test]
fn messages_both_ways_over_polling() {
    let mut net = Net::open(client_config(ClientTransports::Polling));
    net.client_send(text("héllo"));
    assert_eq!(net.take_log(), ["POST 4héllo"]);
    net.pump();
    net.client_send(bin(&[0, 1, 255]));
    net.pump();
    assert_eq!(net.take_log(), ["POST bAAH/"]);
    assert_eq!(net.server_messages(), [text("héllo"), bin(&[0, 1, 255])]);

    net.server_send(text("world"));
    net.server_send(bin(&[9]));
    net.pump();
    // The first message answers the held GET; the second waits for the next GET.
    assert_eq!(
        net.take_log(),
        ["poll< 4world", "GET sid", "poll< bCQ==", "GET sid"]
    );
    assert_eq!(net.client_messages(), [text("world"), bin(&[9])]);
}

#[test]
fn messages_both_ways_over_websocket() {
    let mut net = Net::open(client_config(ClientTransports::WebSocket));
    net.client_send(text("héllo"));
    net.client_send(bin(&[1, 2]));
    net.server_send(text("world"));
    net.server_send(bin(&[3]));
    net.pump();
    assert_eq!(
        net.take_log(),
        ["ws> 4héllo", "ws> bin[1, 2]", "ws< 4world", "ws< bin[3]"]
    );
    assert_eq!(net.server_messages(), [text("héllo"), bin(&[1, 2])]);
    assert_eq!(net.client_messages(), [text("world"), bin(&[3])]);
}

#[test]
fn a_post_in_flight_makes_later_sends_wait_and_go_together() {
    let mut net = Net::open(client_config(ClientTransports::Polling));
    net.client_send(text("a"));
    net.client_send(text("b"));
    net.client_send(bin(&[1]));
    net.client_send(text("c"));
    // Only the first went: one POST at a time.
    assert_eq!(net.take_log(), ["POST 4a"]);
    net.pump();
    // The rest went together once it was done.
    assert_eq!(net.take_log(), ["POST 4b|bAQ==|4c"]);
    assert_eq!(
        net.server_messages(),
        [text("a"), text("b"), bin(&[1]), text("c")]
    );
}

#[test]
fn posts_stay_within_the_servers_max_payload() {
    let mut server_config = server_config();
    server_config.max_payload = 10;
    let mut net = Net::with_server(client_config(ClientTransports::Polling), server_config);
    net.pump();
    net.take_log();
    net.take_client_events();
    for message in ["0", "1234", "5678", "ab", "cd"] {
        net.client_send(text(message));
    }
    net.pump();
    // `41234`, a separator and `45678` make 11 bytes: over 10.
    assert_eq!(
        net.take_log(),
        ["POST 40", "POST 41234", "POST 45678|4ab", "POST 4cd"]
    );
    assert_eq!(net.server_messages().len(), 5);

    // A packet larger than the budget still goes, alone (the server may refuse it).
    let (mut client, now) = bare_polling_client(
        r#"{"sid":"abc","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":4}"#,
    );
    client.send(text("a")).unwrap();
    client.send(text("too long")).unwrap();
    client.send(text("b")).unwrap();
    let mut bodies = Vec::new();
    while let Some(ClientTransmit::Post { body, .. }) = client.poll_transmit() {
        bodies.push(body);
        client.handle_post_done(now);
    }
    assert_eq!(bodies, ["4a", "4too long", "4b"]);
}

#[test]
fn the_send_buffer_is_bounded() {
    let mut config = client_config(ClientTransports::Polling);
    config.max_buffered_packets = 3;
    let mut net = Net::new(config);
    for n in 0..3 {
        net.client.send(text(&n.to_string())).unwrap();
    }
    assert!(net.client.is_send_buffer_full());
    assert_eq!(net.client.send(text("3")), Err(SendError::Full));
    net.pump();
    assert!(!net.client.is_send_buffer_full());
    assert_eq!(net.server_messages(), [text("0"), text("1"), text("2")]);
}
