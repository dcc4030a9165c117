//! The WebSocket transport: the HTTP upgrade, and frames to and from tungstenite.

use bytes::Bytes;
use bytestring::ByteString;
use engineio_core::{Frame, TransportError};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{
        self, Message as WsMessage,
        error::CapacityError,
        handshake::derive_accept_key,
        protocol::{
            Role, WebSocketConfig,
            frame::{
                Frame as WsFrame,
                coding::{Data, OpCode},
            },
        },
    },
};

use super::EngineConfig;

/// A server-side WebSocket over an upgraded HTTP connection.
pub(super) type WsStream = WebSocketStream<TokioIo<Upgraded>>;

/// Checks a WebSocket upgrade request and builds its `101 Switching Protocols`
/// response, or says why the request is not a valid upgrade.
pub(super) fn switching_protocols(
    headers: &http::HeaderMap,
) -> Result<http::response::Builder, &'static str> {
    let has_token = |name: http::header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|value| {
            value.to_str().is_ok_and(|value| {
                value
                    .split(',')
                    .any(|part| part.trim().eq_ignore_ascii_case(token))
            })
        })
    };
    if !has_token(http::header::UPGRADE, "websocket") {
        return Err("missing Upgrade: websocket");
    }
    if !has_token(http::header::CONNECTION, "upgrade") {
        return Err("missing Connection: upgrade");
    }
    if headers
        .get(http::header::SEC_WEBSOCKET_VERSION)
        .map(|v| v.as_bytes())
        != Some(b"13")
    {
        return Err("unsupported Sec-WebSocket-Version");
    }
    let key = headers
        .get(http::header::SEC_WEBSOCKET_KEY)
        .ok_or("missing Sec-WebSocket-Key")?;
    Ok(http::Response::builder()
        .status(http::StatusCode::SWITCHING_PROTOCOLS)
        .header(http::header::CONNECTION, "Upgrade")
        .header(http::header::UPGRADE, "websocket")
        .header(
            http::header::SEC_WEBSOCKET_ACCEPT,
            derive_accept_key(key.as_bytes()),
        ))
}

/// Wraps an upgraded connection in a WebSocket with the server's limits.
pub(super) async fn accept_stream(upgraded: Upgraded, config: &EngineConfig) -> WsStream {
    let max = Some(config.session.max_payload);
    let ws_config = WebSocketConfig::default()
        .read_buffer_size(config.ws_read_buffer)
        .max_message_size(max)
        .max_frame_size(max);
    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(ws_config)).await
}

/// The Engine.IO frame in a WebSocket message: `Ok(None)` for control frames,
/// `Err(())` for the close frame.
pub(super) fn from_ws_message(message: WsMessage) -> Result<Option<Frame>, ()> {
    Ok(match message {
        WsMessage::Text(text) => {
            // tungstenite has validated the text already; this checks it once more
            // because the two crates' string types do not convert for free.
            let bytes = Bytes::from(text);
            Some(Frame::Text(ByteString::try_from(bytes).unwrap_or_default()))
        }
        WsMessage::Binary(data) => Some(Frame::Binary(data)),
        WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_) => None,
        WsMessage::Close(_) => return Err(()),
    })
}

/// The WebSocket message that carries an Engine.IO frame.
pub(super) fn to_ws_message(frame: Frame) -> WsMessage {
    match frame {
        // Sent as a ready-made text frame: `Message::Text` would want the text as
        // tungstenite's string type, and converting checks the UTF-8 once more.
        Frame::Text(text) => WsMessage::Frame(WsFrame::message(
            text.into_bytes(),
            OpCode::Data(Data::Text),
            true,
        )),
        Frame::Binary(data) => WsMessage::Binary(data),
    }
}

/// How a WebSocket read error ends the session.
pub(super) fn transport_error(err: &tungstenite::Error) -> TransportError {
    match err {
        tungstenite::Error::Capacity(
            CapacityError::MessageTooLong { .. } | CapacityError::TooManyHeaders,
        ) => TransportError::PayloadTooLarge,
        _ => TransportError::WebSocket,
    }
}
