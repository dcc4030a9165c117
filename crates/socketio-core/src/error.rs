//! Errors of the codec.
//!
//! Every decode error means the peer sent something the protocol does not allow: the
//! spec says the receiver "MUST close the connection", so callers close the session (a
//! "parse error" disconnect). Encode errors are misuse by the local program (a bad
//! namespace, a reserved event name, a `Serialize` impl that fails) and never concern the
//! peer.

use bytestring::ByteString;

use crate::PacketType;

/// A message from the peer that is not a valid Socket.IO packet.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The text message is empty.
    #[error("empty packet")]
    EmptyPacket,
    /// The packet type is not one of the known types (the byte seen is given).
    #[error("unknown packet type {0:#04x}")]
    UnknownPacketType(u8),
    /// A binary packet whose attachment count is not digits followed by `-`.
    #[error("invalid attachment count")]
    InvalidAttachmentCount,
    /// A binary packet announces more attachments than the configured limit.
    #[error("{count} attachments announced, the limit is {max}")]
    TooManyAttachments {
        /// How many the packet announced (saturated at `u64::MAX`).
        count: u64,
        /// The configured limit.
        max: usize,
    },
    /// The acknowledgement id does not fit in a `u64`.
    #[error("acknowledgement id out of range")]
    InvalidAckId,
    /// A packet of this type cannot carry an acknowledgement id.
    #[error("{0} packet with an acknowledgement id")]
    UnexpectedAckId(PacketType),
    /// An ACK packet without an acknowledgement id.
    #[error("ACK packet without an acknowledgement id")]
    MissingAckId,
    /// A packet of this type needs a payload and has none.
    #[error("{0} packet without payload")]
    MissingPayload(PacketType),
    /// A packet of this type has a payload it must not have.
    #[error("{0} packet with an unexpected payload")]
    UnexpectedPayload(PacketType),
    /// The payload is valid JSON (or msgpack) of the wrong shape for this packet type:
    /// CONNECT wants an object, CONNECT_ERROR a string or an object, EVENT and ACK an
    /// array.
    #[error("invalid payload for a {0} packet")]
    InvalidPayload(PacketType),
    /// An EVENT whose first element is missing or is neither a string nor a number.
    #[error("invalid event name")]
    InvalidEventName,
    /// An EVENT named with a reserved name (`connect`, `disconnect`, ...).
    #[error("reserved event name {0:?}")]
    ReservedEventName(ByteString),
    /// The payload is not JSON, or is followed by garbage.
    #[error("malformed JSON payload: {0}")]
    Json(#[source] serde_json::Error),
    /// A placeholder that does not point to one of the packet's attachments.
    #[error("placeholder does not point to an attachment")]
    InvalidPlaceholder,
    /// A binary message arrived while no packet was waiting for attachments.
    #[error("unexpected binary message")]
    UnexpectedBinary,
    /// A text message arrived where only binary ones are expected (the rest of a packet's
    /// attachments, or any packet with the msgpack parser).
    #[error("unexpected text message")]
    UnexpectedText,
    /// The message is not well-formed msgpack.
    #[error("malformed msgpack: {0}")]
    Msgpack(#[source] rmpv::decode::Error),
    /// The msgpack value is not a packet map of the expected form.
    #[error("invalid msgpack packet: {0}")]
    InvalidMsgpackPacket(&'static str),
}

/// A packet that cannot be encoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A namespace must start with `/` and, in the text format, must not contain `,`.
    #[error("invalid namespace {0:?}")]
    InvalidNamespace(ByteString),
    /// Reserved event names cannot be emitted.
    #[error("reserved event name {0:?}")]
    ReservedEventName(ByteString),
    /// The data does not have the shape the packet type requires (CONNECT: an object,
    /// CONNECT_ERROR: a string or an object).
    #[error("invalid payload for a {0} packet")]
    InvalidPayload(PacketType),
    /// Binary data where the text format has no way to carry it (CONNECT and
    /// CONNECT_ERROR have no binary variant).
    #[error("binary data is not allowed in a {0} packet")]
    BinaryNotAllowed(PacketType),
    /// A `Serialize` impl failed while writing JSON.
    #[error("JSON serialization failed: {0}")]
    Json(#[source] serde_json::Error),
    /// A `Serialize` impl failed while writing msgpack.
    #[error("msgpack serialization failed: {0}")]
    Msgpack(#[source] rmp_serde::encode::Error),
    /// A parser produced text that is not UTF-8 (a bug in a custom parser).
    #[error("encoded text is not UTF-8")]
    NotUtf8,
}

/// Arguments that cannot be read as the type asked for.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArgsError {
    /// The arguments do not fit the type.
    #[error("cannot deserialize the arguments: {0}")]
    Deserialize(#[source] serde_json::Error),
    /// A placeholder that does not point to one of the attachments.
    #[error("placeholder does not point to an attachment")]
    InvalidPlaceholder,
}

impl From<serde_json::Error> for ArgsError {
    fn from(e: serde_json::Error) -> Self {
        Self::Deserialize(e)
    }
}
