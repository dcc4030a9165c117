//! The refusal of a namespace connection.

use std::fmt;

use serde::Serialize;
use socketio_core::Value;

/// Why a socket may not join a namespace: sent to the client as a CONNECT_ERROR packet
/// `{"message": ..., "data": ...}`, which the official client raises as a
/// `connect_error` with `err.message` and `err.data`.
///
/// ```
/// use socketio_server::ConnectError;
/// let refusal = ConnectError::new("unauthorized").with_data(&serde_json::json!({ "reason": "bad token" }));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectError {
    message: String,
    data: Option<Value>,
}

impl ConnectError {
    /// A refusal with a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            data: None,
        }
    }

    /// Adds data for the client. Data that does not serialize is left out.
    #[must_use]
    pub fn with_data<T: Serialize + ?Sized>(mut self, data: &T) -> Self {
        match serde_json::to_value(data).and_then(serde_json::from_value::<Value>) {
            Ok(value) => self.data = Some(value),
            Err(err) => tracing::warn!(%err, "connect error data not serializable"),
        }
        self
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The packet's payload.
    pub(crate) fn to_value(&self) -> Value {
        let mut map = std::collections::BTreeMap::new();
        map.insert("message".to_owned(), Value::from(self.message.as_str()));
        if let Some(data) = &self.data {
            map.insert("data".to_owned(), data.clone());
        }
        Value::Object(map)
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConnectError {}

impl From<&str> for ConnectError {
    fn from(message: &str) -> Self {
        Self::new(message)
    }
}

impl From<String> for ConnectError {
    fn from(message: String) -> Self {
        Self::new(message)
    }
}
