//! The transports: long-polling requests over a hyper client, and the WebSocket over
//! tokio-tungstenite. Each reports to the Manager's task through its IO channel; none
//! touches the session.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use bytes::Bytes;
use bytestring::ByteString;
use engineio_core::Frame;
use futures_util::{SinkExt, StreamExt};
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{
    self, Message as WsMessage, client::IntoClientRequest, protocol::WebSocketConfig,
};

use crate::driver::Io;

#[cfg(not(feature = "rustls"))]
pub(crate) type HttpClient = Client<HttpConnector, Full<Bytes>>;
#[cfg(feature = "rustls")]
pub(crate) type HttpClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A TLS configuration, when the build has TLS.
#[cfg(feature = "rustls")]
pub(crate) type Tls = Option<Arc<rustls::ClientConfig>>;
/// A TLS configuration, when the build has TLS.
#[cfg(not(feature = "rustls"))]
pub(crate) type Tls = Option<std::convert::Infallible>;

#[cfg(not(feature = "rustls"))]
pub(crate) fn http_client(_: &Tls) -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new()).build(connector)
}

#[cfg(feature = "rustls")]
pub(crate) fn http_client(tls: &Tls) -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.enforce_http(false);
    let builder = match tls {
        Some(config) => {
            hyper_rustls::HttpsConnectorBuilder::new().with_tls_config((**config).clone())
        }
        // Plain HTTP only: TLS is never negotiated, but the connector needs a config.
        None => hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(
            rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map(|config| {
                config
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth()
            })
            .unwrap_or_else(|_| {
                rustls::ClientConfig::builder()
                    .with_root_certificates(rustls::RootCertStore::empty())
                    .with_no_client_auth()
            }),
        ),
    };
    let connector = builder
        .https_or_http()
        .enable_http1()
        .wrap_connector(connector);
    Client::builder(TokioExecutor::new()).build(connector)
}

/// The cookies the server set, sent back with every request (`with_credentials`).
#[derive(Debug, Default)]
pub(crate) struct CookieJar {
    cookies: Mutex<BTreeMap<String, String>>,
}

impl CookieJar {
    fn store(&self, headers: &HeaderMap) {
        let mut cookies = self
            .cookies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for value in headers.get_all(header::SET_COOKIE) {
            let Ok(value) = value.to_str() else { continue };
            let pair = value.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                let name = name.trim();
                if !name.is_empty() {
                    cookies.insert(name.to_owned(), value.trim().to_owned());
                }
            }
        }
    }

    fn header(&self) -> Option<HeaderValue> {
        let cookies = self
            .cookies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cookies.is_empty() {
            return None;
        }
        let line = cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        HeaderValue::try_from(line).ok()
    }
}

/// What a request needs besides its URL.
#[derive(Debug, Clone)]
pub(crate) struct RequestParts {
    pub(crate) tls: Tls,
    pub(crate) headers: HeaderMap,
    pub(crate) cookies: Option<Arc<CookieJar>>,
    pub(crate) max_payload: usize,
}

impl RequestParts {
    fn apply(&self, headers: &mut HeaderMap) {
        for (name, value) in &self.headers {
            headers.append(name.clone(), value.clone());
        }
        if let Some(cookie) = self.cookies.as_ref().and_then(|jar| jar.header()) {
            headers.insert(header::COOKIE, cookie);
        }
    }
}

/// Sends one long-polling request; the response body on 200.
pub(crate) async fn request(
    client: &HttpClient,
    parts: &RequestParts,
    url: &str,
    body: Option<Bytes>,
) -> Result<Bytes, String> {
    let method = if body.is_some() {
        Method::POST
    } else {
        Method::GET
    };
    let mut request = Request::builder()
        .method(method)
        .uri(url)
        .body(Full::new(body.unwrap_or_default()))
        .map_err(|err| err.to_string())?;
    parts.apply(request.headers_mut());
    if request.method() == Method::POST {
        request.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain;charset=UTF-8"),
        );
    }
    let response = client
        .request(request)
        .await
        .map_err(|err| err.to_string())?;
    if let Some(jar) = &parts.cookies {
        jar.store(response.headers());
    }
    let status = response.status();
    let body = Limited::new(response.into_body(), parts.max_payload.saturating_add(1))
        .collect()
        .await
        .map_err(|err| err.to_string())?
        .to_bytes();
    if status != StatusCode::OK {
        return Err(format!("status {status}"));
    }
    Ok(body)
}

/// What the session asks of its WebSocket.
#[derive(Debug)]
pub(crate) enum WsOut {
    Frame(Frame),
    Close,
}

/// Opens a WebSocket and pumps it until it ends or is told to close. Reports
/// `WsOpened`, then `WsFrame`s, then `WsError` or `WsClosed` (nothing after `Close`).
pub(crate) async fn websocket(
    url: String,
    parts: RequestParts,
    mut out: mpsc::UnboundedReceiver<WsOut>,
    io: mpsc::Sender<Io>,
    epoch: u64,
    id: u64,
) {
    // A bounded channel: while the Manager's task does not take the reports (its
    // handlers are behind), the WebSocket is not read, and TCP pushes back.
    let report = |event: WsReport| io.send(Io::Ws { epoch, id, event });
    let mut request = match url.into_client_request() {
        Ok(request) => request,
        Err(err) => {
            tracing::debug!(%err, "bad WebSocket request");
            {
                let _ = report(WsReport::Error).await;
                return;
            }
        }
    };
    parts.apply(request.headers_mut());
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .max_message_size(Some(parts.max_payload))
        .max_frame_size(Some(parts.max_payload));
    let stream = tokio::select! {
        connected = open_websocket(request, config, &parts.tls) => connected,
        // Told to close before it opened.
        _ = wait_close(&mut out) => return,
    };
    let stream = match stream {
        Ok((stream, response)) => {
            if let Some(jar) = &parts.cookies {
                jar.store(response.headers());
            }
            stream
        }
        Err(err) => {
            tracing::debug!(%err, "WebSocket failed to open");
            {
                let _ = report(WsReport::Error).await;
                return;
            }
        }
    };
    let _ = report(WsReport::Opened).await;
    let (mut sink, mut source) = stream.split();
    loop {
        tokio::select! {
            next = out.recv() => {
                let mut next = next;
                // Feed every frame queued, flush once.
                loop {
                    match next {
                        Some(WsOut::Frame(frame)) => {
                            if sink.feed(to_message(frame)).await.is_err() {
                                { let _ = report(WsReport::Error).await; return; }
                            }
                        }
                        Some(WsOut::Close) | None => {
                            let _ = sink.close().await;
                            return;
                        }
                    }
                    match out.try_recv() {
                        Ok(more) => next = Some(more),
                        Err(_) => break,
                    }
                }
                if sink.flush().await.is_err() {
                    { let _ = report(WsReport::Error).await; return; }
                }
            }
            incoming = source.next() => match incoming {
                Some(Ok(WsMessage::Text(text))) => {
                    match ByteString::try_from(Bytes::from(text)) {
                        Ok(text) => { let _ = report(WsReport::Frame(Frame::Text(text))).await; }
                        Err(_) => { let _ = report(WsReport::Error).await; return; }
                    }
                }
                Some(Ok(WsMessage::Binary(data))) => { let _ = report(WsReport::Frame(Frame::Binary(data))).await; }
                Some(Ok(WsMessage::Close(_))) | None => {
                    let _ = sink.close().await;
                    { let _ = report(WsReport::Closed).await; return; }
                }
                Some(Ok(_)) => {}
                Some(Err(tungstenite::Error::ConnectionClosed)) => { let _ = report(WsReport::Closed).await; return; }
                Some(Err(err)) => {
                    tracing::debug!(%err, "WebSocket failed");
                    { let _ = report(WsReport::Error).await; return; }
                }
            },
        }
    }
}

type WsConnect = Result<
    (
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
        tungstenite::handshake::client::Response,
    ),
    tungstenite::Error,
>;

#[cfg(feature = "rustls")]
async fn open_websocket(
    request: tungstenite::handshake::client::Request,
    config: WebSocketConfig,
    tls: &Tls,
) -> WsConnect {
    let connector = tls
        .as_ref()
        .map(|config| tokio_tungstenite::Connector::Rustls(Arc::clone(config)));
    tokio_tungstenite::connect_async_tls_with_config(request, Some(config), true, connector).await
}

#[cfg(not(feature = "rustls"))]
async fn open_websocket(
    request: tungstenite::handshake::client::Request,
    config: WebSocketConfig,
    _: &Tls,
) -> WsConnect {
    tokio_tungstenite::connect_async_with_config(request, Some(config), true).await
}

async fn wait_close(out: &mut mpsc::UnboundedReceiver<WsOut>) {
    loop {
        match out.recv().await {
            Some(WsOut::Close) | None => return,
            // Frames cannot be asked for before the WebSocket opened.
            Some(WsOut::Frame(_)) => {}
        }
    }
}

fn to_message(frame: Frame) -> WsMessage {
    match frame {
        Frame::Text(text) => match tungstenite::Utf8Bytes::try_from(text.into_bytes()) {
            Ok(text) => WsMessage::Text(text),
            Err(_) => WsMessage::Text(tungstenite::Utf8Bytes::default()),
        },
        Frame::Binary(data) => WsMessage::Binary(data),
    }
}

/// What a WebSocket task reports.
#[derive(Debug)]
pub(crate) enum WsReport {
    Opened,
    Frame(Frame),
    Error,
    Closed,
}
