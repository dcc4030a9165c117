//! Sharded mode's room channels: which rooms get a channel of their own, as Node's
//! `subscriptionMode` says, and the SSUBSCRIBE / SUNSUBSCRIBE that follow the rooms this
//! node holds. The messages themselves are the `ClusterAdapter` protocol (`cluster`).

use socketio_server::adapter::BroadcastOptions;

use super::{Inner, commands::Outgoing};
use crate::SubscriptionMode;

/// The channel a broadcast goes to: a room's own channel only for a plain broadcast to
/// one room that the mode gives a channel (in `dynamic`, a room that does not look like
/// a socket id, whose ids are 20 characters).
pub(super) fn broadcast_channel(
    inner: &Inner,
    mode: SubscriptionMode,
    ns: &str,
    opts: &BroadcastOptions,
) -> String {
    channel_for(inner.broadcast_channel(ns), mode, opts)
}

fn channel_for(mut channel: String, mode: SubscriptionMode, opts: &BroadcastOptions) -> String {
    if let [room] = opts.rooms.as_slice() {
        let own = match mode {
            SubscriptionMode::Dynamic => room.chars().count() != 20,
            SubscriptionMode::DynamicPrivate => true,
            SubscriptionMode::Static => false,
        };
        if own {
            channel.push_str(room);
            channel.push('#');
        }
    }
    channel
}

/// Whether a room has a channel of its own that this node subscribes to while it holds
/// the room: in `dynamic`, public rooms (not a socket's own room); in `dynamic-private`,
/// every room.
pub(super) fn room_has_channel(mode: SubscriptionMode, room: &str, sid: &str) -> bool {
    match mode {
        SubscriptionMode::Dynamic => room != sid,
        SubscriptionMode::DynamicPrivate => true,
        SubscriptionMode::Static => false,
    }
}

/// Subscribes to, or unsubscribes from, a room's channel, in order with what is
/// published.
pub(super) fn room_channel(inner: &Inner, ns: &str, room: &str, subscribe: bool) {
    let channel = format!("{}#{ns}#{room}#", inner.key());
    let _ = inner.outbox.send(Outgoing::RoomChannel(channel, subscribe));
}

#[cfg(test)]
mod tests {
    use socketio_server::adapter::Room;

    use super::*;

    fn to(rooms: &[&str]) -> BroadcastOptions {
        BroadcastOptions {
            rooms: rooms.iter().map(|room| Room::from(*room)).collect(),
            ..BroadcastOptions::default()
        }
    }

    #[test]
    fn room_channels_follow_the_subscription_mode() {
        let base = || "socket.io#/#".to_owned();
        let sid = "abcdefghijklmnopqrst";
        let dynamic = SubscriptionMode::Dynamic;
        assert_eq!(
            channel_for(base(), dynamic, &to(&["room1"])),
            "socket.io#/#room1#"
        );
        // A socket id (20 characters) goes to the main channel in `dynamic`.
        assert_eq!(channel_for(base(), dynamic, &to(&[sid])), "socket.io#/#");
        assert_eq!(
            channel_for(base(), dynamic, &to(&["a", "b"])),
            "socket.io#/#"
        );
        let private = SubscriptionMode::DynamicPrivate;
        assert_eq!(
            channel_for(base(), private, &to(&[sid])),
            format!("socket.io#/#{sid}#")
        );
        assert_eq!(
            channel_for(base(), SubscriptionMode::Static, &to(&["room1"])),
            "socket.io#/#"
        );
        assert!(room_has_channel(dynamic, "room1", sid));
        assert!(!room_has_channel(dynamic, sid, sid));
        assert!(room_has_channel(private, sid, sid));
    }
}
