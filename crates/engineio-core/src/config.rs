//! Session configuration.

use std::time::Duration;

use crate::PayloadLimits;

/// What a server session needs to know. The defaults are the reference server's.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Time between two pings; advertised in the handshake. Default 25 s.
    pub ping_interval: Duration,
    /// Time the server waits for a pong; advertised in the handshake. Default 20 s.
    pub ping_timeout: Duration,
    /// Time a WebSocket has to complete an upgrade (`2probe` … `5`). Default 10 s.
    pub upgrade_timeout: Duration,
    /// The largest POST body or WebSocket message, in bytes; advertised in the
    /// handshake. Also the budget of one long-polling response. Default 1,000,000.
    pub max_payload: usize,
    /// The most packets one POST body may carry. Default 16,384.
    pub max_packets_per_payload: usize,
    /// The most packets waiting for a long-polling GET; a send past it fails.
    /// Default 8,192.
    pub max_buffered_packets: usize,
    /// Whether a polling session may upgrade to WebSocket. Default true.
    pub allow_upgrade: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_secs(25),
            ping_timeout: Duration::from_secs(20),
            upgrade_timeout: Duration::from_secs(10),
            max_payload: 1_000_000,
            max_packets_per_payload: 16_384,
            max_buffered_packets: 8_192,
            allow_upgrade: true,
        }
    }
}

impl SessionConfig {
    pub(crate) fn payload_limits(&self) -> PayloadLimits {
        PayloadLimits {
            max_bytes: self.max_payload,
            max_packets: self.max_packets_per_payload,
        }
    }
}
