//! Client session configuration.

use crate::TransportKind;

/// The transports a client session may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ClientTransports {
    /// HTTP long-polling only: the session never upgrades.
    Polling,
    /// WebSocket only: the session opens over a WebSocket, with no long-polling at all.
    WebSocket,
    /// Long-polling first, then an upgrade to WebSocket when the server offers one and
    /// [`ClientConfig::upgrade`] is on.
    #[default]
    Both,
}

impl ClientTransports {
    /// Whether the session may use `kind`.
    pub fn allows(self, kind: TransportKind) -> bool {
        matches!(
            (self, kind),
            (Self::Both, _)
                | (Self::Polling, TransportKind::Polling)
                | (Self::WebSocket, TransportKind::WebSocket)
        )
    }
}

/// What a client session needs to know. The defaults are the reference client's where it
/// has one; the limits, which it does not have, are generous.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The transports the session may use. Default: both, long-polling first.
    pub transports: ClientTransports,
    /// Whether a session opened over long-polling tries to upgrade to WebSocket when the
    /// handshake offers it. Default true.
    pub upgrade: bool,
    /// Whether a session opens over WebSocket at once when the previous session of the
    /// same client did use WebSocket (see [`ClientConfig::prior_websocket_success`]),
    /// skipping long-polling and the upgrade. Default false.
    pub remember_upgrade: bool,
    /// Whether the previous session of this client opened or upgraded to WebSocket, as
    /// its [`ClientSession::websocket_succeeded`](crate::ClientSession::websocket_succeeded)
    /// said. The reference client keeps this in a global; here the driver carries it from
    /// one session to the next. Only read with `remember_upgrade`. Default false.
    pub prior_websocket_success: bool,
    /// The most messages the session holds before they go out (before the handshake,
    /// behind a POST in flight, during an upgrade); a send past it fails with
    /// [`SendError::Full`](crate::SendError::Full). Default 8,192.
    pub max_buffered_packets: usize,
    /// The largest long-polling response body or WebSocket message accepted from the
    /// server, in bytes; a larger one closes the session with "parse error". The driver
    /// should enforce it while reading, too. Default 100,000,000.
    pub max_payload: usize,
    /// The most packets one long-polling response may carry. Default 16,384.
    pub max_packets_per_payload: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            transports: ClientTransports::default(),
            upgrade: true,
            remember_upgrade: false,
            prior_websocket_success: false,
            max_buffered_packets: 8_192,
            max_payload: 100_000_000,
            max_packets_per_payload: 16_384,
        }
    }
}

impl ClientConfig {
    pub(super) fn payload_limits(&self) -> crate::PayloadLimits {
        crate::PayloadLimits {
            max_bytes: self.max_payload,
            max_packets: self.max_packets_per_payload,
        }
    }

    /// The transport the session opens with.
    pub(super) fn first_transport(&self) -> TransportKind {
        let websocket_first = self.remember_upgrade
            && self.prior_websocket_success
            && self.transports.allows(TransportKind::WebSocket);
        if self.transports.allows(TransportKind::Polling) && !websocket_first {
            TransportKind::Polling
        } else {
            TransportKind::WebSocket
        }
    }
}
