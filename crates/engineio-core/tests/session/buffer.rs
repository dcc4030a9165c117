//! The long-polling buffer: what a GET drains, and its bounds.

use super::*;

#[test]
fn messages_wait_for_a_get() {
    let mut peer = Peer::polling();
    peer.send("a").unwrap();
    peer.send("b").unwrap();
    peer.session.send(Message::from(vec![1, 2, 3, 4])).unwrap();
    assert_eq!(peer.out(), Vec::<String>::new());
    peer.get().unwrap();
    assert_eq!(peer.out(), ["poll:4a\x1e4b\x1ebAQIDBA=="]);
    // A GET with nothing to say waits.
    peer.get().unwrap();
    assert_eq!(peer.out(), Vec::<String>::new());
    assert!(peer.session.is_poll_pending());
    peer.send("c").unwrap();
    assert_eq!(peer.out(), ["poll:4c"]);
    assert!(!peer.session.is_poll_pending());
}

#[test]
fn a_get_takes_up_to_max_payload_and_the_rest_waits() {
    let mut config = config();
    config.max_payload = 20;
    let mut peer = Peer::polling_with(config);
    // Each packet is 9 bytes: two and a separator make 19, a third would make 29.
    for text in ["abcdefgh", "ijklmnop", "qrstuvwx"] {
        peer.send(text).unwrap();
    }
    peer.get().unwrap();
    assert_eq!(peer.out(), ["poll:4abcdefgh\x1e4ijklmnop"]);
    peer.get().unwrap();
    assert_eq!(peer.out(), ["poll:4qrstuvwx"]);
}

#[test]
fn the_first_packet_is_taken_even_if_larger_than_max_payload() {
    let mut config = config();
    config.max_payload = 20;
    // The 100-byte handshake itself is already larger than the budget.
    let mut peer = Peer::polling_with(config);
    let big = "x".repeat(50);
    peer.send(&big).unwrap();
    peer.send("small").unwrap();
    peer.get().unwrap();
    assert_eq!(peer.out(), [format!("poll:4{big}")]);
    peer.get().unwrap();
    assert_eq!(peer.out(), ["poll:4small"]);
}

#[test]
fn a_full_buffer_refuses_sends() {
    let mut config = config();
    config.max_buffered_packets = 2;
    let mut peer = Peer::polling_with(config);
    peer.send("a").unwrap();
    peer.send("b").unwrap();
    assert_eq!(peer.send("c"), Err(SendError::Full));
    peer.get().unwrap();
    assert_eq!(peer.out(), ["poll:4a\x1e4b"]);
    peer.send("c").unwrap();
    peer.get().unwrap();
    assert_eq!(peer.out(), ["poll:4c"]);
    assert!(!peer.is_closed());
}
