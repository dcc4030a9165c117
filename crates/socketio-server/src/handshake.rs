//! What a client sent when it connected to a namespace.

use std::{sync::Arc, time::SystemTime};

use serde::de::DeserializeOwned;
use socketio_core::Value;

use crate::engine::EngineSocket;

/// The handshake of a socket: the auth data of its namespace CONNECT packet, and the
/// HTTP request that opened its connection (headers, URI with the query). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Handshake {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    auth: Value,
    engine: EngineSocket,
    issued: SystemTime,
}

impl Handshake {
    pub(crate) fn new(auth: Option<Value>, engine: EngineSocket) -> Self {
        Self {
            inner: Arc::new(Inner {
                auth: auth.unwrap_or_else(|| Value::Object(Default::default())),
                engine,
                issued: SystemTime::now(),
            }),
        }
    }

    /// The auth data (an object; empty when the client sent none).
    pub fn auth(&self) -> &Value {
        &self.inner.auth
    }

    /// The auth data as a type of yours.
    pub fn auth_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        self.inner.auth.deserialize_into()
    }

    /// The headers of the request that opened the connection.
    pub fn headers(&self) -> &http::HeaderMap {
        &self.inner.engine.request().headers
    }

    /// The URI of the request that opened the connection.
    pub fn uri(&self) -> &http::Uri {
        &self.inner.engine.request().uri
    }

    /// The value of a query parameter of that request.
    pub fn query(&self, name: &str) -> Option<String> {
        let query = self.uri().query()?;
        form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }

    /// When the socket connected.
    pub fn issued(&self) -> SystemTime {
        self.inner.issued
    }
}
