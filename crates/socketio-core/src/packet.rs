//! The Socket.IO packet model.

use bytes::{Bytes, BytesMut};
use bytestring::ByteString;

use crate::text_encode::encode_packet;
use crate::{Args, EncodeError, PacketType, Value};

/// One Socket.IO packet: a namespace and what is sent in it.
///
/// This is the decoded form, the same whatever parser carried it. EVENT and
/// BINARY_EVENT are both [`PacketKind::Event`] (and ACK and BINARY_ACK both
/// [`PacketKind::Ack`]): whether the packet is binary on the wire follows from whether
/// its arguments hold binary data.
///
/// ```
/// use socketio_core::{Args, Packet, PacketKind};
/// use bytes::BytesMut;
///
/// let packet = Packet::event("/admin", "project:delete", Args::from_serialize(&123).unwrap(), Some(456));
/// let mut out = BytesMut::new();
/// let attachments = packet.encode(&mut out).unwrap();
/// assert_eq!(&out[..], br#"2/admin,456["project:delete",123]"#);
/// assert!(attachments.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// The namespace, `/` for the main one.
    pub nsp: ByteString,
    /// What the packet carries.
    pub kind: PacketKind,
}

/// What a packet carries, by packet type.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PacketKind {
    /// CONNECT: from the client, a request with optional auth data (an object); from the
    /// server, the approval with `{"sid": ...}`.
    Connect(Option<Value>),
    /// DISCONNECT: leave the namespace.
    Disconnect,
    /// EVENT (or BINARY_EVENT): an event name and its arguments, with the id of the
    /// acknowledgement the sender waits for, if any.
    Event {
        /// The event name (a numeric name reads as its decimal text).
        event: ByteString,
        /// The arguments after the name.
        args: Args,
        /// The acknowledgement id, when the sender wants an answer.
        ack: Option<u64>,
    },
    /// ACK (or BINARY_ACK): the answer to the event with the same id.
    Ack {
        /// The id of the event this answers.
        ack: u64,
        /// The answer's arguments.
        args: Args,
    },
    /// CONNECT_ERROR: the connection to the namespace is refused; the data is a string
    /// or an object (usually `{"message": ...}`).
    ConnectError(Value),
}

impl Packet {
    /// A CONNECT packet.
    pub fn connect(nsp: impl Into<ByteString>, data: Option<Value>) -> Self {
        Self {
            nsp: nsp.into(),
            kind: PacketKind::Connect(data),
        }
    }

    /// A DISCONNECT packet.
    pub fn disconnect(nsp: impl Into<ByteString>) -> Self {
        Self {
            nsp: nsp.into(),
            kind: PacketKind::Disconnect,
        }
    }

    /// An EVENT packet, asking for an acknowledgement when `ack` is set.
    pub fn event(
        nsp: impl Into<ByteString>,
        event: impl Into<ByteString>,
        args: impl Into<Args>,
        ack: Option<u64>,
    ) -> Self {
        Self {
            nsp: nsp.into(),
            kind: PacketKind::Event {
                event: event.into(),
                args: args.into(),
                ack,
            },
        }
    }

    /// An ACK packet answering event `ack`.
    pub fn ack(nsp: impl Into<ByteString>, ack: u64, args: impl Into<Args>) -> Self {
        Self {
            nsp: nsp.into(),
            kind: PacketKind::Ack {
                ack,
                args: args.into(),
            },
        }
    }

    /// A CONNECT_ERROR packet.
    pub fn connect_error(nsp: impl Into<ByteString>, data: Value) -> Self {
        Self {
            nsp: nsp.into(),
            kind: PacketKind::ConnectError(data),
        }
    }

    /// The type this packet has on the wire in the text format.
    #[must_use]
    pub fn packet_type(&self) -> PacketType {
        match &self.kind {
            PacketKind::Connect(_) => PacketType::Connect,
            PacketKind::Disconnect => PacketType::Disconnect,
            PacketKind::Event { args, .. } if args.has_binary() => PacketType::BinaryEvent,
            PacketKind::Event { .. } => PacketType::Event,
            PacketKind::Ack { args, .. } if args.has_binary() => PacketType::BinaryAck,
            PacketKind::Ack { .. } => PacketType::Ack,
            PacketKind::ConnectError(_) => PacketType::ConnectError,
        }
    }

    /// The acknowledgement id, if the packet has one.
    #[must_use]
    pub fn ack_id(&self) -> Option<u64> {
        match &self.kind {
            PacketKind::Event { ack, .. } => *ack,
            PacketKind::Ack { ack, .. } => Some(*ack),
            PacketKind::Connect(_) | PacketKind::Disconnect | PacketKind::ConnectError(_) => None,
        }
    }

    /// Encodes the packet in the default text format at the end of `out`, and returns
    /// the binary attachments to send after it, in order.
    ///
    /// `out` may already hold bytes: the packet is appended, so that a caller can write
    /// the Engine.IO message type `4` first and get `42[...]` in one buffer with no
    /// copy. On error, `out` is left as it was.
    ///
    /// # Errors
    ///
    /// A namespace that does not start with `/` or contains `,`, a reserved event name,
    /// a CONNECT payload that is not an object, a CONNECT_ERROR payload that is neither
    /// a string nor an object, or binary in either.
    pub fn encode(&self, out: &mut BytesMut) -> Result<Vec<Bytes>, EncodeError> {
        encode_packet(self, out)
    }
}
