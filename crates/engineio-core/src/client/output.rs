//! What a client session asks of its driver, and what it tells the application.

use bytes::Bytes;

use super::ClientCloseReason;
use crate::{Frame, Handshake, Message, Sid};

/// Something the driver must do on the network. Each request the session asks for is
/// answered with one input: a GET with
/// [`handle_poll_response`](crate::ClientSession::handle_poll_response) or
/// [`handle_poll_error`](crate::ClientSession::handle_poll_error), a POST with
/// [`handle_post_done`](crate::ClientSession::handle_post_done) or
/// [`handle_post_error`](crate::ClientSession::handle_post_error), a WebSocket open with
/// [`handle_ws_opened`](crate::ClientSession::handle_ws_opened) or
/// [`handle_ws_error`](crate::ClientSession::handle_ws_error).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientTransmit {
    /// Send a long-polling GET (`?EIO=4&transport=polling`, with `&sid=` when there is
    /// one; without, it is the handshake). At most one is in flight.
    Get {
        /// The session id, `None` for the handshake request.
        sid: Option<Sid>,
    },
    /// Send a POST carrying `body`, an encoded payload (UTF-8 text; binary messages are
    /// base64). At most one is in flight.
    Post {
        /// The session id.
        sid: Sid,
        /// The request body.
        body: Bytes,
    },
    /// Open the session's WebSocket (`?EIO=4&transport=websocket`): without a session id
    /// it is a WebSocket-only handshake, with one it is the probe of an upgrade. At most
    /// one WebSocket exists at a time.
    OpenWebSocket {
        /// The session id, `None` for a WebSocket-only session.
        sid: Option<Sid>,
    },
    /// Write a frame to the WebSocket.
    WebSocket(Frame),
    /// Close the WebSocket (whether it is open or still connecting) and report nothing
    /// more about it.
    CloseWebSocket,
}

/// Something that happened to the session, for the application.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The handshake arrived: the session is open. Messages sent before it go out now.
    Open(Handshake),
    /// The server sent a message.
    Message(Message),
    /// The server pinged (the session has answered it).
    Ping,
    /// The session moved from long-polling to WebSocket.
    Upgraded,
    /// The upgrade probe failed; the session stays on long-polling and does not try
    /// again.
    UpgradeFailed,
    /// The session closed; nothing is delivered after this.
    Closed(ClientCloseReason),
}
