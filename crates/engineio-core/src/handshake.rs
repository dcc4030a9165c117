//! The `open` packet's data.

use std::time::Duration;

use bytes::{BufMut, BytesMut};
use serde::{Deserialize, Serialize};

use crate::{DecodeError, Sid};

/// The handshake the server sends in the `open` packet:
/// `0{"sid":"…","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Handshake {
    /// The session id.
    pub sid: Sid,
    /// The transports the client may upgrade to from its current one.
    pub upgrades: Vec<String>,
    /// Milliseconds between two pings from the server.
    pub ping_interval: u64,
    /// Milliseconds the server waits for a pong.
    pub ping_timeout: u64,
    /// The largest payload, in bytes, the server accepts.
    #[serde(default)]
    pub max_payload: u64,
}

impl Handshake {
    /// The ping interval as a duration.
    pub fn ping_interval(&self) -> Duration {
        Duration::from_millis(self.ping_interval)
    }

    /// The ping timeout as a duration.
    pub fn ping_timeout(&self) -> Duration {
        Duration::from_millis(self.ping_timeout)
    }

    pub(crate) fn from_json(json: &str) -> Result<Self, DecodeError> {
        serde_json::from_str(json).map_err(|err| DecodeError::Handshake(err.to_string()))
    }

    pub(crate) fn write_json(&self, out: &mut BytesMut) {
        // Serializing plain strings and integers into memory cannot fail.
        let _ = serde_json::to_writer(out.writer(), self);
    }
}
