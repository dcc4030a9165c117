//! The session's deadlines.

use super::*;

#[test]
fn handle_timeout_early_or_twice_does_nothing() {
    let mut peer = Peer::polling();
    peer.get().unwrap();
    peer.tick(0);
    peer.tick(PING_INTERVAL - 1);
    assert_eq!(peer.out(), Vec::<String>::new());
    assert_eq!(peer.deadline(), Some(PING_INTERVAL));
    peer.tick(PING_INTERVAL);
    assert_eq!(peer.out(), ["poll:2"]);
    peer.tick(PING_INTERVAL);
    peer.tick(PING_INTERVAL + 1);
    assert_eq!(peer.out(), Vec::<String>::new());
    assert_eq!(peer.events(), []);
    assert_eq!(peer.deadline(), Some(PING_INTERVAL + PING_TIMEOUT));
    // A timeout call at a time that is not a deadline changes no deadline.
    peer.tick(PING_INTERVAL + 2);
    assert_eq!(peer.deadline(), Some(PING_INTERVAL + PING_TIMEOUT));
}

#[test]
fn poll_timeout_is_always_the_earliest_deadline() {
    let mut peer = Peer::polling();
    assert_eq!(peer.deadline(), Some(PING_INTERVAL));
    // The upgrade deadline comes first.
    peer.at(50).ws_open().unwrap();
    assert_eq!(peer.deadline(), Some(50 + UPGRADE_TIMEOUT));
    peer.ws_closed(None);
    assert_eq!(peer.deadline(), Some(PING_INTERVAL));
    // The ping goes out; now the pong is due.
    peer.tick(PING_INTERVAL);
    assert_eq!(peer.deadline(), Some(PING_INTERVAL + PING_TIMEOUT));
    // An upgrade that would end after the pong deadline does not hide it.
    peer.at(450).ws_open().unwrap();
    assert_eq!(peer.deadline(), Some(PING_INTERVAL + PING_TIMEOUT));
    // The pong comes: next ping at 760, but the upgrade ends at 550.
    peer.at(460).post("3").unwrap();
    assert_eq!(peer.deadline(), Some(450 + UPGRADE_TIMEOUT));
    peer.tick(450 + UPGRADE_TIMEOUT);
    assert_eq!(peer.out(), ["ws-close"]);
    assert_eq!(peer.deadline(), Some(460 + PING_INTERVAL));
    // A late call fires what is due and leaves no deadline in the past: the ping goes
    // out now, and its pong is due `ping_timeout` from now.
    peer.tick(5_000);
    assert_eq!(peer.deadline(), Some(5_000 + PING_TIMEOUT));
    assert_eq!(peer.events(), []);
    peer.tick(5_000 + PING_TIMEOUT);
    assert_eq!(peer.events(), [closed(CloseReason::PingTimeout)]);
    assert_eq!(peer.deadline(), None);
}
