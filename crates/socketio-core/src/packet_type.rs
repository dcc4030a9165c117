//! The seven Socket.IO packet types and their wire numbers.

use std::fmt;

/// The type of a Socket.IO packet, with its number on the wire.
///
/// `BinaryEvent` and `BinaryAck` only exist in the default (JSON text) format, where
/// they announce that binary attachments follow the text message. In the decoded
/// [`Packet`](crate::Packet) model they are folded into events and acks whose
/// arguments hold binary values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PacketType {
    /// `0`: connection to a namespace (request or approval).
    Connect,
    /// `1`: disconnection from a namespace.
    Disconnect,
    /// `2`: an event with its arguments.
    Event,
    /// `3`: the answer to an event that asked for an acknowledgement.
    Ack,
    /// `4`: refusal of a connection to a namespace.
    ConnectError,
    /// `5`: an event whose arguments hold binary attachments.
    BinaryEvent,
    /// `6`: an acknowledgement whose arguments hold binary attachments.
    BinaryAck,
}

impl PacketType {
    /// The number of this type on the wire.
    #[must_use]
    pub const fn as_u8(self) -> u8 {
        match self {
            Self::Connect => 0,
            Self::Disconnect => 1,
            Self::Event => 2,
            Self::Ack => 3,
            Self::ConnectError => 4,
            Self::BinaryEvent => 5,
            Self::BinaryAck => 6,
        }
    }

    /// The type with wire number `n`, if there is one.
    #[must_use]
    pub const fn from_u8(n: u8) -> Option<Self> {
        Some(match n {
            0 => Self::Connect,
            1 => Self::Disconnect,
            2 => Self::Event,
            3 => Self::Ack,
            4 => Self::ConnectError,
            5 => Self::BinaryEvent,
            6 => Self::BinaryAck,
            _ => return None,
        })
    }

    /// The ASCII digit that starts a packet of this type in the text format.
    #[must_use]
    pub const fn as_ascii(self) -> u8 {
        b'0' + self.as_u8()
    }

    /// Whether binary attachments follow a packet of this type in the text format.
    #[must_use]
    pub const fn is_binary(self) -> bool {
        matches!(self, Self::BinaryEvent | Self::BinaryAck)
    }
}

impl fmt::Display for PacketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "CONNECT",
            Self::Disconnect => "DISCONNECT",
            Self::Event => "EVENT",
            Self::Ack => "ACK",
            Self::ConnectError => "CONNECT_ERROR",
            Self::BinaryEvent => "BINARY_EVENT",
            Self::BinaryAck => "BINARY_ACK",
        })
    }
}
