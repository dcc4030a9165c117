//! The Manager's configuration and its builder.

use std::time::Duration;

use engineio_core::{ClientConfig, ClientTransports};
use http::{HeaderMap, HeaderName, HeaderValue, Uri};

use socketio_core::ParserKind;

use crate::{BuildError, Manager};

/// Everything a Manager needs, fixed at build time.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) secure: bool,
    /// `host:port`.
    pub(crate) authority: String,
    /// The Engine.IO path, with a trailing slash.
    pub(crate) path: String,
    /// Extra query pairs, already URL-encoded and joined with `&` (possibly empty).
    pub(crate) query: String,
    pub(crate) headers: HeaderMap,
    pub(crate) with_credentials: bool,
    pub(crate) engine: ClientConfig,
    pub(crate) try_all_transports: bool,
    pub(crate) reconnection: bool,
    pub(crate) reconnection_attempts: Option<u32>,
    pub(crate) reconnection_delay: Duration,
    pub(crate) reconnection_delay_max: Duration,
    pub(crate) randomization_factor: f64,
    pub(crate) timeout: Option<Duration>,
    pub(crate) parser: ParserKind,
    /// The TLS configuration of `https` / `wss`.
    #[cfg(feature = "rustls")]
    pub(crate) tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

impl Config {
    pub(crate) fn url(&self, websocket: bool, sid: Option<&str>) -> String {
        let scheme = match (websocket, self.secure) {
            (false, false) => "http",
            (false, true) => "https",
            (true, false) => "ws",
            (true, true) => "wss",
        };
        let transport = if websocket { "websocket" } else { "polling" };
        let mut url = format!(
            "{scheme}://{}{}?EIO=4&transport={transport}",
            self.authority, self.path
        );
        if let Some(sid) = sid {
            url.push_str("&sid=");
            url.extend(form_urlencoded::byte_serialize(sid.as_bytes()));
        }
        if !self.query.is_empty() {
            url.push('&');
            url.push_str(&self.query);
        }
        url
    }
}

/// Builds a [`Manager`]: the server's URL, the transports, reconnection and the limits.
/// The defaults are the official client's.
///
/// ```no_run
/// use std::time::Duration;
/// use socketio_client::{Manager, Transports};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let manager = Manager::builder("http://localhost:3000")
///     .transports(Transports::WebSocket)
///     .query("room", "lobby")
///     .reconnection_delay(Duration::from_millis(500))
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ManagerBuilder {
    url: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    with_credentials: bool,
    engine: ClientConfig,
    try_all_transports: bool,
    reconnection: bool,
    reconnection_attempts: Option<u32>,
    reconnection_delay: Duration,
    reconnection_delay_max: Duration,
    randomization_factor: f64,
    timeout: Option<Duration>,
    parser: ParserKind,
    #[cfg(feature = "rustls")]
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

impl ManagerBuilder {
    pub(crate) fn new(url: impl Into<String>) -> Self {
        let mut engine = ClientConfig::default();
        // What the application emits while connected waits in the session until the
        // transport takes it, as in the official client; a full session would drop it.
        // The offline buffer (bounded per socket) is where emits wait otherwise.
        engine.max_buffered_packets = usize::MAX;
        Self {
            url: url.into(),
            path: "/socket.io/".to_owned(),
            query: Vec::new(),
            headers: Vec::new(),
            with_credentials: false,
            engine,
            try_all_transports: false,
            reconnection: true,
            reconnection_attempts: None,
            reconnection_delay: Duration::from_millis(1000),
            reconnection_delay_max: Duration::from_millis(5000),
            randomization_factor: 0.5,
            timeout: Some(Duration::from_secs(20)),
            parser: ParserKind::Json,
            #[cfg(feature = "rustls")]
            tls: None,
        }
    }

    /// The rustls configuration for `https://` and `wss://` (to trust a private
    /// certificate authority, or present a client certificate). Default: the Mozilla
    /// roots of `webpki-roots` with the ring provider.
    #[cfg(feature = "rustls")]
    pub fn tls_config(mut self, config: std::sync::Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// The path the server serves Socket.IO at. Default `/socket.io/`.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Adds a query parameter to every request (the handshake's `query` on the server).
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// Adds a header to every HTTP request and to the WebSocket handshake.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Keeps the cookies the server sets (a sticky-session cookie, for example) and sends
    /// them back, as the browser client does with `withCredentials`. Default off.
    pub fn with_credentials(mut self, on: bool) -> Self {
        self.with_credentials = on;
        self
    }

    /// The transports to use. Default: long-polling, then an upgrade to WebSocket.
    pub fn transports(mut self, transports: ClientTransports) -> Self {
        self.engine.transports = transports;
        self
    }

    /// Whether to upgrade from long-polling to WebSocket when the server offers it.
    /// Default true.
    pub fn upgrade(mut self, on: bool) -> Self {
        self.engine.upgrade = on;
        self
    }

    /// Whether to open over WebSocket at once when the previous connection managed to
    /// use it. Default false.
    pub fn remember_upgrade(mut self, on: bool) -> Self {
        self.engine.remember_upgrade = on;
        self
    }

    /// When opening over the first transport fails, whether to try the other one
    /// before the attempt counts as failed (with both transports allowed; the official
    /// `tryAllTransports`). Default false.
    pub fn try_all_transports(mut self, on: bool) -> Self {
        self.try_all_transports = on;
        self
    }

    /// Whether to reconnect after a connection is lost or could not be made. Default
    /// true.
    pub fn reconnection(mut self, on: bool) -> Self {
        self.reconnection = on;
        self
    }

    /// How many reconnection attempts to make before giving up (the
    /// `reconnect_failed` event). Default unlimited.
    pub fn reconnection_attempts(mut self, attempts: u32) -> Self {
        self.reconnection_attempts = Some(attempts);
        self
    }

    /// The first delay between attempts; it doubles with every attempt. Default 1 s.
    pub fn reconnection_delay(mut self, delay: Duration) -> Self {
        self.reconnection_delay = delay;
        self
    }

    /// The longest delay between attempts. Default 5 s.
    pub fn reconnection_delay_max(mut self, delay: Duration) -> Self {
        self.reconnection_delay_max = delay;
        self
    }

    /// How much each delay is spread at random, from 0 to 1. Default 0.5.
    pub fn randomization_factor(mut self, factor: f64) -> Self {
        self.randomization_factor = factor;
        self
    }

    /// How long to wait for the Engine.IO handshake of a connection; `None` waits
    /// forever. Default 20 s.
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// The parser. Default JSON.
    pub fn parser(mut self, parser: ParserKind) -> Self {
        self.parser = parser;
        self
    }

    /// The largest message accepted from the server, in bytes. Default 100 MB.
    pub fn max_payload(mut self, bytes: usize) -> Self {
        self.engine.max_payload = bytes;
        self
    }

    /// Checks the configuration and starts the Manager's task. Nothing connects until a
    /// socket does.
    ///
    /// # Errors
    ///
    /// A URL that is not absolute `http`/`https`/`ws`/`wss`, TLS in a build without it,
    /// an invalid header, or no Tokio runtime.
    pub fn build(self) -> Result<Manager, BuildError> {
        let config = self.into_config()?;
        Manager::start(config)
    }

    pub(crate) fn into_config(self) -> Result<Config, BuildError> {
        let invalid = |reason: &str| BuildError::InvalidUrl {
            url: self.url.clone(),
            reason: reason.to_owned(),
        };
        let uri: Uri = self.url.parse().map_err(|_| invalid("not a URL"))?;
        let secure = match uri.scheme_str() {
            Some("http" | "ws") => false,
            Some("https" | "wss") => true,
            _ => return Err(invalid("the scheme must be http, https, ws or wss")),
        };
        #[cfg(not(feature = "rustls"))]
        if secure {
            return Err(BuildError::TlsUnsupported(self.url.clone()));
        }
        #[cfg(feature = "rustls")]
        let tls = match (&self.tls, secure) {
            (Some(tls), _) => Some(std::sync::Arc::clone(tls)),
            (None, true) => Some(default_tls()?),
            (None, false) => None,
        };
        let authority = uri
            .authority()
            .ok_or_else(|| invalid("no host"))?
            .to_string();
        let mut path = self.path.clone();
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        if !path.ends_with('/') {
            path.push('/');
        }
        let mut query = form_urlencoded::Serializer::new(String::new());
        if let Some(existing) = uri.query() {
            query.extend_pairs(form_urlencoded::parse(existing.as_bytes()));
        }
        query.extend_pairs(self.query.iter());
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let bad = || BuildError::InvalidHeader(name.clone());
            let name = HeaderName::try_from(name.as_str()).map_err(|_| bad())?;
            let value = HeaderValue::try_from(value.as_str()).map_err(|_| bad())?;
            headers.append(name, value);
        }
        Ok(Config {
            secure,
            authority,
            path,
            query: query.finish(),
            headers,
            with_credentials: self.with_credentials,
            engine: self.engine,
            try_all_transports: self.try_all_transports,
            reconnection: self.reconnection,
            reconnection_attempts: self.reconnection_attempts,
            reconnection_delay: self.reconnection_delay,
            reconnection_delay_max: self.reconnection_delay_max,
            randomization_factor: self.randomization_factor,
            timeout: self.timeout,
            parser: self.parser,
            #[cfg(feature = "rustls")]
            tls,
        })
    }
}

/// The Mozilla roots, with the ring provider.
#[cfg(feature = "rustls")]
fn default_tls() -> Result<std::sync::Arc<rustls::ClientConfig>, BuildError> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|err| BuildError::TlsUnsupported(err.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(std::sync::Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_carry_the_path_the_sid_and_the_query() {
        let config = ManagerBuilder::new("http://127.0.0.1:3000/?a=1")
            .path("io")
            .query("color", "blue sky")
            .into_config()
            .unwrap_or_else(|err| unreachable!("{err}"));
        assert_eq!(
            config.url(false, None),
            "http://127.0.0.1:3000/io/?EIO=4&transport=polling&a=1&color=blue+sky"
        );
        assert_eq!(
            config.url(true, Some("x+y")),
            "ws://127.0.0.1:3000/io/?EIO=4&transport=websocket&sid=x%2By&a=1&color=blue+sky"
        );
    }

    #[test]
    fn bad_urls_are_errors() {
        for url in ["localhost:3000", "ftp://host/", "not a url"] {
            assert!(ManagerBuilder::new(url).into_config().is_err(), "{url}");
        }
    }
}
