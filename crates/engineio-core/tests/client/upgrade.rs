//! The upgrade from polling to WebSocket, and the probes that fail.

use super::*;

/// What each side sent, numbered in one sequence.
#[derive(Default)]
struct Tally {
    n: u8,
    client_sent: Vec<Message>,
    server_sent: Vec<Message>,
}

impl Tally {
    fn client(&mut self, net: &mut Net) {
        let message = text(&format!("c{}", self.n));
        self.n += 1;
        self.client_sent.push(message.clone());
        net.client_send(message);
    }

    fn server(&mut self, net: &mut Net) {
        let message = bin(&[self.n]);
        self.n += 1;
        self.server_sent.push(message.clone());
        net.server_send(message);
    }
}

#[test]
fn upgrade_moves_to_websocket_and_keeps_every_message_in_order() {
    let mut net = Net::new(ClientConfig::default());
    let mut tally = Tally::default();
    assert_eq!(net.take_log(), ["GET"]);

    // Before the handshake: held until it.
    tally.client(&mut net);
    net.pump_with(&[Net::get_to_server, Net::get_to_client]);
    assert_eq!(
        net.take_log(),
        ["poll< 0{…}", "POST 4c0", "WS-OPEN sid", "GET sid"]
    );
    // While the probe connects, polling carries everything.
    tally.client(&mut net);
    tally.server(&mut net);
    assert_eq!(net.take_log(), ["poll< bAg=="]);
    net.get_to_client();
    net.get_to_server();
    assert_eq!(net.take_log(), ["GET sid"]);
    net.ws_connect();
    assert_eq!(net.take_log(), ["ws> 2probe"]);
    // While probing too: `c3` queues behind the POST in flight.
    tally.client(&mut net);
    // The server answers the probe and releases the held GET with `noop`.
    net.ws_up();
    assert_eq!(net.take_log(), ["ws< 3probe", "poll< 6"]);
    // It now buffers what it sends, for the upgrade.
    tally.server(&mut net);
    assert_eq!(net.take_log(), NOTHING);
    // `3probe` reaches the client with the GET and the POST in flight: it pauses.
    net.ws_down();
    tally.client(&mut net);
    net.get_to_client();
    assert_eq!(net.take_log(), NOTHING, "no new GET while pausing");
    net.post_to_server();
    net.post_to_client();
    // Paused: `5`, then what was queued meanwhile, in order, on the WebSocket.
    assert_eq!(net.take_log(), ["ws> 5", "ws> 4c1", "ws> 4c3", "ws> 4c5"]);
    // The server has not seen `5` yet: it still buffers.
    tally.server(&mut net);
    net.pump();
    assert_eq!(net.take_log(), ["ws< bin[4]", "ws< bin[6]"]);
    tally.client(&mut net);
    tally.server(&mut net);
    net.pump();
    assert_eq!(net.take_log(), ["ws> 4c7", "ws< bin[8]"]);

    assert_eq!(net.client.transport(), TransportKind::WebSocket);
    assert_eq!(net.server().transport(), TransportKind::WebSocket);
    assert!(net.client.websocket_succeeded());
    let events = net.take_client_events();
    let upgrades = events.iter().filter(|e| **e == ClientEvent::Upgraded);
    assert_eq!(upgrades.count(), 1);
    let received: Vec<_> = events.iter().filter_map(client_message).collect();
    assert_eq!(received, tally.server_sent);
    let events = net.take_server_events();
    assert_eq!(events.iter().filter(|e| **e == Event::Upgraded).count(), 1);
    let received: Vec<_> = events.iter().filter_map(server_message).collect();
    assert_eq!(received, tally.client_sent);
}

#[test]
fn upgrade_with_nothing_in_flight_but_the_get() {
    let mut net = Net::new(ClientConfig::default());
    net.pump();
    assert_eq!(
        net.take_log(),
        [
            "GET",
            "poll< 0{…}",
            "WS-OPEN sid",
            "GET sid",
            "ws> 2probe",
            "ws< 3probe",
            "poll< 6",
            "ws> 5"
        ]
    );
    assert!(net.client_events.contains(&ClientEvent::Upgraded));
    assert!(net.server_events.contains(&Event::Upgraded));
    assert!(net.get.is_none() && net.post.is_none());
}

#[test]
fn a_refused_probe_keeps_polling() {
    let mut net = Net::new(ClientConfig::default());
    net.refuse_websocket = true;
    net.pump();
    assert_eq!(
        net.take_log(),
        ["GET", "poll< 0{…}", "WS-OPEN sid", "GET sid"]
    );
    let events = net.take_client_events();
    assert_eq!(events.last(), Some(&ClientEvent::UpgradeFailed));
    assert_eq!(net.client.transport(), TransportKind::Polling);
    assert!(!net.client.websocket_succeeded());

    net.client_send(text("still"));
    net.server_send(text("here"));
    net.pump();
    assert_eq!(net.take_log(), ["POST 4still", "poll< 4here", "GET sid"]);
    assert_eq!(net.server_messages(), [text("still")]);
    assert_eq!(net.client_messages(), [text("here")]);
}

#[test]
fn a_wrong_probe_answer_keeps_polling() {
    let mut net = Net::new(ClientConfig::default());
    net.pump_with(&[Net::get_to_server, Net::get_to_client, Net::ws_connect]);
    assert_eq!(net.take_log().last().unwrap(), "ws> 2probe");
    // Something else than `3probe` comes first.
    let now = net.now;
    net.client.handle_ws_frame(Frame::Text("3nope".into()), now);
    net.route();
    assert_eq!(net.take_log(), ["ws> CLOSE"]);
    net.pump();
    // The server saw its WebSocket close and stays on polling too.
    assert_eq!(net.server().transport(), TransportKind::Polling);
    assert_eq!(net.client.transport(), TransportKind::Polling);
    let events = net.take_client_events();
    assert_eq!(events.last(), Some(&ClientEvent::UpgradeFailed));

    net.client_send(text("a"));
    net.server_send(text("b"));
    net.pump();
    assert_eq!(net.server_messages(), [text("a")]);
    assert_eq!(net.client_messages(), [text("b")]);
}

#[test]
fn a_probe_closed_while_pausing_resumes_polling() {
    let mut server_config = server_config();
    server_config.upgrade_timeout = ms(100);
    let mut net = Net::with_server(ClientConfig::default(), server_config);
    net.pump_with(&[Net::get_to_server, Net::get_to_client]);
    // A POST in flight, and its answer held back.
    net.client_send(text("slow"));
    net.pump_with(&[
        Net::ws_connect,
        Net::ws_up,
        Net::ws_down,
        Net::get_to_server,
        Net::get_to_client,
        Net::post_to_server,
    ]);
    assert_eq!(
        net.take_log(),
        [
            "GET",
            "poll< 0{…}",
            "WS-OPEN sid",
            "GET sid",
            "POST 4slow",
            "ws> 2probe",
            "ws< 3probe",
            "poll< 6"
        ]
    );
    // Pausing: the GET is back, the POST is not; nothing is sent.
    net.client_send(text("queued"));
    assert_eq!(net.take_log(), NOTHING);
    // The server gives up on the upgrade and closes the probe.
    net.tick(100);
    net.ws_down();
    assert_eq!(net.take_log(), ["ws< CLOSE", "GET sid"]);
    assert_eq!(net.client_events.last(), Some(&ClientEvent::UpgradeFailed));
    net.pump();
    assert_eq!(net.take_log(), ["POST 4queued"]);
    assert_eq!(net.server_messages(), [text("slow"), text("queued")]);
    assert_eq!(net.client.transport(), TransportKind::Polling);
}
