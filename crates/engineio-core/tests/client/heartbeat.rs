//! Pings, pongs and the ping timeout, on the virtual clock.

use super::*;

#[test]
fn ping_pong_keeps_a_polling_session_alive_across_many_intervals() {
    let mut net = Net::open(client_config(ClientTransports::Polling));
    net.run_until(100 * PING_INTERVAL);
    assert!(net.client.is_open());
    assert!(!net.server().is_closed());
    let pings = net
        .take_client_events()
        .iter()
        .filter(|event| **event == ClientEvent::Ping)
        .count();
    assert_eq!(pings, 100);
    let log = net.take_log();
    assert_eq!(log.iter().filter(|line| *line == "poll< 2").count(), 100);
    assert_eq!(log.iter().filter(|line| *line == "POST 3").count(), 100);
}

#[test]
fn ping_pong_keeps_a_websocket_session_alive_across_many_intervals() {
    let mut net = Net::open(ClientConfig::default());
    assert_eq!(net.client.transport(), TransportKind::WebSocket);
    net.run_until(100 * PING_INTERVAL);
    assert!(net.client.is_open());
    let log = net.take_log();
    assert_eq!(log.iter().filter(|line| *line == "ws< 2").count(), 100);
    assert_eq!(log.iter().filter(|line| *line == "ws> 3").count(), 100);
}

#[test]
fn a_silent_server_means_ping_timeout_after_interval_plus_timeout() {
    let mut net = Net::open(client_config(ClientTransports::Polling));
    let window = PING_INTERVAL + PING_TIMEOUT;
    assert_eq!(net.client.poll_timeout(), Some(net.start + ms(window)));

    // A ping moves the deadline to one window after it.
    net.run_until(PING_INTERVAL);
    assert_eq!(
        net.client.poll_timeout(),
        Some(net.start + ms(PING_INTERVAL + window))
    );
    // Messages do not (the reference client 6.6 counts pings only).
    net.server_send(text("x"));
    net.pump();
    assert_eq!(
        net.client.poll_timeout(),
        Some(net.start + ms(PING_INTERVAL + window))
    );
    net.take_client_events();
    net.take_log();

    // Then the server goes silent.
    net.tick_client(PING_INTERVAL + window - 1);
    assert!(net.client.is_open());
    net.tick_client(PING_INTERVAL + window);
    assert_eq!(
        net.take_client_events(),
        [ClientEvent::Closed(ClientCloseReason::PingTimeout)]
    );
    assert!(net.client.is_closed());
    assert_eq!(net.client.poll_timeout(), None);
    // Over polling there is nothing to close; the driver drops its requests.
    assert_eq!(net.take_log(), NOTHING);
}

#[test]
fn ping_timeout_over_websocket_closes_the_websocket() {
    let mut net = Net::open(client_config(ClientTransports::WebSocket));
    // The server is silent.
    net.tick_client(PING_INTERVAL + PING_TIMEOUT - 1);
    assert_eq!(net.take_log(), NOTHING);
    net.tick_client(PING_INTERVAL + PING_TIMEOUT);
    assert_eq!(net.take_log(), ["ws> CLOSE"]);
    assert_eq!(
        net.take_client_events(),
        [ClientEvent::Closed(ClientCloseReason::PingTimeout)]
    );
}

#[test]
fn an_input_after_the_deadline_is_a_ping_timeout() {
    let (mut client, start) = bare_polling_client(HANDSHAKE);
    // A late timer: the next input comes long after the deadline, with no ping in it.
    client.handle_poll_response("4late".into(), start + ms(10_000));
    assert_eq!(
        client.poll_event(),
        Some(ClientEvent::Message(text("late")))
    );
    assert_eq!(
        client.poll_event(),
        Some(ClientEvent::Closed(ClientCloseReason::PingTimeout))
    );
}

#[test]
fn the_wall_clock_check_catches_a_suspension_at_once() {
    let mut net = Net::open(client_config(ClientTransports::Polling));
    let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    // The driver checks after every input: the session learns the wall time of the open.
    net.client.check_wall_clock(net.now, wall);
    assert!(net.client.is_open());

    // The machine sleeps an hour: the monotonic clock sees 10 ms of it.
    net.tick(10);
    let later = wall + Duration::from_secs(3_600);
    net.client.check_wall_clock(net.now, later);
    net.route();
    assert_eq!(
        net.take_client_events(),
        [ClientEvent::Closed(ClientCloseReason::PingTimeout)]
    );
}

#[test]
fn the_wall_clock_check_leaves_a_live_session_alone() {
    let mut net = Net::open(client_config(ClientTransports::Polling));
    let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let wall_at = |net: &Net| wall + ms(net.millis());
    for _ in 0..20 {
        let next = net.millis() + PING_INTERVAL;
        net.run_until(next);
        net.client.check_wall_clock(net.now, wall_at(&net));
    }
    assert!(net.client.is_open());

    // A wall clock set back is no reason to close either.
    net.client.check_wall_clock(net.now, SystemTime::UNIX_EPOCH);
    net.client.check_wall_clock(net.now, wall_at(&net));
    assert!(net.client.is_open());

    // The last ping came just now. Just under the window of wall time after it: still
    // open; at it: closed.
    net.client.check_wall_clock(
        net.now,
        wall_at(&net) + ms(PING_INTERVAL + PING_TIMEOUT - 1),
    );
    assert!(net.client.is_open());
    net.client
        .check_wall_clock(net.now, wall_at(&net) + ms(PING_INTERVAL + PING_TIMEOUT));
    assert!(net.client.is_closed());
}

#[test]
fn the_wall_clock_check_also_fires_an_overdue_timer() {
    let (mut client, start) = bare_polling_client(HANDSHAKE);
    // No earlier check, so no wall time learned, but the monotonic deadline has passed.
    client.check_wall_clock(start + ms(600), SystemTime::now());
    assert_eq!(
        client.poll_event(),
        Some(ClientEvent::Closed(ClientCloseReason::PingTimeout))
    );
}

#[test]
fn spurious_inputs_do_nothing() {
    let mut net = Net::open(client_config(ClientTransports::Polling));
    let now = net.now;
    // Early and repeated timer calls, answers to requests never made, WebSocket news
    // with no WebSocket.
    net.client.handle_timeout(now);
    net.client.handle_timeout(now + ms(1));
    net.client.handle_post_done(now);
    net.client.handle_post_error(now);
    net.client.handle_ws_opened(now);
    net.client.handle_ws_frame(Frame::Text("4x".into()), now);
    net.client.handle_ws_error(now);
    net.client.handle_ws_closed(now);
    net.route();
    assert_eq!(net.take_log(), NOTHING);
    assert_eq!(net.take_client_events(), NO_EVENTS);
    assert!(net.client.is_open());
}
