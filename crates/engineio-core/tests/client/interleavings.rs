//! Random interleavings of deliveries, sends and time (property tests).

use super::*;

#[derive(Debug, Clone)]
enum Action {
    /// One delivery, of the kind with this index in `Net::ALL` (or the next that can).
    Deliver(usize),
    ClientSend,
    ServerSend,
    /// Time passes.
    Wait(u64),
    /// A long time passes, with nothing delivered: enough to cost a ping timeout or an
    /// upgrade timeout, in the cases that allow stalls.
    Stall,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        10 => (0..Net::ALL.len()).prop_map(Action::Deliver),
        2 => Just(Action::ClientSend),
        2 => Just(Action::ServerSend),
        2 => (0..40u64).prop_map(Action::Wait),
        1 => Just(Action::Stall),
    ]
}

fn transports() -> impl Strategy<Value = ClientTransports> {
    prop_oneof![
        Just(ClientTransports::Both),
        Just(ClientTransports::Polling),
        Just(ClientTransports::WebSocket),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the order of deliveries, sends and waits: each side receives exactly what
    /// the other sent, in order, with nothing lost or duplicated; a side that closed (a
    /// slow delivery can cost a ping timeout) received a prefix of it.
    #[test]
    fn random_interleavings_keep_order_and_lose_nothing(
        transports in transports(),
        // Small enough to split POSTs, large enough for any one message (the server
        // refuses a body over it, however the client splits).
        max_payload in prop_oneof![Just(1_000_000usize), 16..60usize],
        actions in proptest::collection::vec(action(), 1..300),
        stalls in proptest::bool::weighted(0.2),
    ) {
        let mut server_config = server_config();
        server_config.ping_interval = ms(1_000);
        server_config.ping_timeout = ms(1_000);
        server_config.max_payload = max_payload;
        let mut net = Net::with_server(client_config(transports), server_config);
        let mut client_sent = Vec::new();
        let mut server_sent = Vec::new();
        let mut elapsed = 0;
        for (n, action) in actions.into_iter().enumerate() {
            match action {
                Action::Deliver(first) => {
                    let order: Vec<_> = Net::ALL.iter().cycle().skip(first).take(Net::ALL.len()).copied().collect();
                    net.step(&order);
                }
                Action::ClientSend => {
                    let message = if n % 2 == 0 { text(&format!("c{n}")) } else { bin(&n.to_be_bytes()) };
                    if net.client.send(message.clone()).is_ok() {
                        client_sent.push(message);
                    }
                    net.route();
                }
                Action::ServerSend => {
                    let message = if n % 3 == 0 { bin(&n.to_le_bytes()) } else { text(&format!("s{n}")) };
                    if let Some(server) = &mut net.server {
                        if server.send(message.clone()).is_ok() {
                            server_sent.push(message);
                        }
                    }
                    net.route();
                }
                Action::Wait(millis) => {
                    elapsed += millis;
                    net.tick(elapsed);
                }
                Action::Stall => {
                    elapsed += if stalls { 2_100 } else { 1 };
                    net.tick(elapsed);
                }
            }
        }
        net.pump();

        let client_received: Vec<_> = net.client_events.iter().filter_map(client_message).collect();
        let server_received: Vec<_> = net.server_events.iter().filter_map(server_message).collect();
        let closed = net.client.is_closed() || net.server.as_ref().is_some_and(ServerSession::is_closed);
        if closed {
            prop_assert!(server_sent.starts_with(&client_received), "{client_received:?} / {server_sent:?}");
            prop_assert!(client_sent.starts_with(&server_received), "{server_received:?} / {client_sent:?}");
        } else {
            prop_assert_eq!(&client_received, &server_sent);
            prop_assert_eq!(&server_received, &client_sent);
            // The session ends on WebSocket when it may, unless the server gave up on a
            // slow upgrade.
            if transports != ClientTransports::Polling
                && !net.client_events.contains(&ClientEvent::UpgradeFailed)
            {
                prop_assert_eq!(net.client.transport(), TransportKind::WebSocket);
            }
        }
        // Only a heartbeat can end a session here (a slow network), and what follows from
        // it on the other side: never a parse error, an overlap, a misuse.
        let client_closed = net.client_events.iter().find_map(|event| match event {
            ClientEvent::Closed(reason) => Some(reason.clone()),
            _ => None,
        });
        let server_closed = net.server_events.iter().find_map(|event| match event {
            Event::Closed(reason) => Some(*reason),
            _ => None,
        });
        prop_assert!(
            matches!(
                client_closed,
                None | Some(
                    ClientCloseReason::PingTimeout
                        | ClientCloseReason::TransportClose
                        | ClientCloseReason::TransportError(_)
                )
            ),
            "{client_closed:?} {:?}", net.log
        );
        prop_assert!(
            matches!(server_closed, None | Some(CloseReason::PingTimeout | CloseReason::TransportClose)),
            "{server_closed:?} {:?}", net.log
        );
        if client_closed.is_some() || server_closed.is_some() {
            // A ping timeout on either side; or the protocol's own race: the server gave
            // up on a slow upgrade and closed the probe just as the client, having had
            // `3probe`, switched to it (the reference client closes then too).
            let upgrade_timed_out = net.server.as_ref().is_some_and(|server| {
                server.transport() == TransportKind::Polling
            }) && net.log.iter().any(|line| line == "ws< CLOSE");
            prop_assert!(
                client_closed == Some(ClientCloseReason::PingTimeout)
                    || server_closed == Some(CloseReason::PingTimeout)
                    || upgrade_timed_out,
                "{client_closed:?} {server_closed:?} {:?}", net.log
            );
            prop_assert!(stalls, "a session closed without a stall: {:?}", net.log);
        }
    }
}

#[test]
fn a_server_close_with_nothing_queued_reaches_the_next_poll() {
    let mut net = Net::open(client_config(ClientTransports::Polling));
    let now = net.now;
    net.server_send(text("x"));
    // The GET that carried "x" is answered; the client's next one is not at the server
    // yet when the server closes: that one gets the close packet.
    net.server().close(CloseReason::ForcedClose, now);
    net.pump();
    assert_eq!(net.take_log(), ["poll< 4x", "GET sid", "poll< 1"]);
    let events = net.take_client_events();
    assert_eq!(
        events.last(),
        Some(&ClientEvent::Closed(ClientCloseReason::TransportClose))
    );
    assert!(net.server().is_closed());
}
