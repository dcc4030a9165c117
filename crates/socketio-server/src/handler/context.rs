//! What an extractor reads from: the socket, and the event or disconnect at hand.

use bytestring::ByteString;
use socketio_core::Args;

use crate::{DisconnectReason, Socket};

/// An incoming event, as extractors see it.
#[derive(Debug)]
pub struct EventContext {
    pub(crate) socket: Socket,
    pub(crate) event: ByteString,
    pub(crate) args: Args,
    pub(crate) ack: Option<u64>,
}

impl EventContext {
    /// The socket the event came from.
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// The event name.
    pub fn event(&self) -> &str {
        &self.event
    }

    /// The event's arguments.
    pub fn args(&self) -> &Args {
        &self.args
    }

    /// The id of the acknowledgement the client waits for, if it asked for one.
    pub fn ack_id(&self) -> Option<u64> {
        self.ack
    }
}

/// A namespace connection, as the extractors of connect handlers and middlewares see it.
#[derive(Debug)]
pub struct ConnectContext {
    pub(crate) socket: Socket,
}

impl ConnectContext {
    /// The socket that is connecting.
    pub fn socket(&self) -> &Socket {
        &self.socket
    }
}

/// A disconnection, as the extractors of disconnect handlers see it.
#[derive(Debug)]
pub struct DisconnectContext {
    pub(crate) socket: Socket,
    pub(crate) reason: DisconnectReason,
    pub(crate) rooms: Vec<crate::Room>,
}

impl DisconnectContext {
    /// The socket that left.
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// Why it left.
    pub fn reason(&self) -> DisconnectReason {
        self.reason
    }

    /// The rooms it was in.
    pub fn rooms(&self) -> &[crate::Room] {
        &self.rooms
    }
}
