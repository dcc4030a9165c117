//! One HTTP request on the Engine.IO path: the handshake, a long-polling GET or POST,
//! or a WebSocket upgrade, with the reference server's errors.

use std::{borrow::Cow, sync::Arc, time::Instant};

use bytes::Bytes;
use engineio_core::{DecodeError, RequestError, ServerSession, Sid, TransportKind};
use http::{Method, Request, Response, StatusCode, header};
use http_body::Body;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use tokio::sync::oneshot;

use super::{
    EngineSocket, Shared,
    driver::{Command, Driver, PostBodyError},
    websocket::switching_protocols,
};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The reference server's error codes, sent as `{"code":N,"message":"..."}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ErrorCode {
    UnknownTransport = 0,
    UnknownSid = 1,
    BadHandshakeMethod = 2,
    BadRequest = 3,
    Forbidden = 4,
    UnsupportedProtocolVersion = 5,
}

impl ErrorCode {
    fn message(self) -> &'static str {
        match self {
            Self::UnknownTransport => "Transport unknown",
            Self::UnknownSid => "Session ID unknown",
            Self::BadHandshakeMethod => "Bad handshake method",
            Self::BadRequest => "Bad request",
            Self::Forbidden => "Forbidden",
            Self::UnsupportedProtocolVersion => "Unsupported protocol version",
        }
    }

    fn response(self) -> Response<Full<Bytes>> {
        let status = match self {
            Self::Forbidden => StatusCode::FORBIDDEN,
            _ => StatusCode::BAD_REQUEST,
        };
        let body = format!(
            r#"{{"code":{},"message":"{}"}}"#,
            self as u8,
            self.message()
        );
        respond(status, "application/json", Bytes::from(body))
    }
}

fn respond(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    response
}

fn request_error(err: &RequestError) -> Response<Full<Bytes>> {
    match err {
        RequestError::Closed => ErrorCode::UnknownSid.response(),
        RequestError::Decode(DecodeError::PayloadTooLarge { .. }) => payload_too_large(),
        _ => ErrorCode::BadRequest.response(),
    }
}

fn payload_too_large() -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    response
}

/// The query parameters Engine.IO reads, borrowed from the URI unless percent-encoded.
#[derive(Debug, Default)]
struct Query<'a> {
    eio: Option<Cow<'a, str>>,
    transport: Option<Cow<'a, str>>,
    sid: Option<Cow<'a, str>>,
}

impl<'a> Query<'a> {
    fn parse(query: Option<&'a str>) -> Self {
        let query = query.unwrap_or_default();
        let mut parsed = Self::default();
        // Engine.IO's own queries are plain (`EIO=4&transport=polling&sid=...&t=...`):
        // split as they are, with no decoding pass over each part, and with byte searches
        // (a `char` pattern sets up a searcher per call, more than these queries cost).
        if memchr::memchr2(b'%', b'+', query.as_bytes()).is_none() {
            let mut rest = query;
            loop {
                let (pair, next) = split_at_byte(rest, b'&');
                let (key, value) = split_at_byte(pair, b'=');
                parsed.set(key, Cow::Borrowed(value.unwrap_or_default()));
                match next {
                    Some(next) => rest = next,
                    None => return parsed,
                }
            }
        }
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            parsed.set(&key, value);
        }
        parsed
    }

    /// Keeps the first value of a parameter Engine.IO reads.
    fn set(&mut self, key: &str, value: Cow<'a, str>) {
        let slot = match key {
            "EIO" => &mut self.eio,
            "transport" => &mut self.transport,
            "sid" => &mut self.sid,
            _ => return,
        };
        slot.get_or_insert(value);
    }
}

/// `text` before the first `byte` (an ASCII byte) and, if it is there, what follows it.
fn split_at_byte(text: &str, byte: u8) -> (&str, Option<&str>) {
    match memchr::memchr(byte, text.as_bytes()) {
        // An ASCII byte is a whole character: both sides are whole strings.
        Some(at) => (
            text.get(..at).unwrap_or_default(),
            Some(text.get(at + 1..).unwrap_or_default()),
        ),
        None => (text, None),
    }
}

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

pub(super) async fn handle<B>(shared: Arc<Shared>, req: Request<B>) -> Response<Full<Bytes>>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    // What the query says is read before the request moves on: the query borrows from it.
    let query = Query::parse(req.uri().query());
    let transport = match query.transport.as_deref().map(str::parse::<TransportKind>) {
        Some(Ok(TransportKind::Polling)) if shared.config.polling => TransportKind::Polling,
        Some(Ok(TransportKind::WebSocket)) if shared.config.websocket => TransportKind::WebSocket,
        _ => return ErrorCode::UnknownTransport.response(),
    };
    let Some(sid) = query.sid.as_deref() else {
        let v4 = query.eio.as_deref() == Some("4");
        return handshake(shared, transport, v4, req).await;
    };
    let Some(socket) = shared.get(sid) else {
        return ErrorCode::UnknownSid.response();
    };
    match (transport, req.method()) {
        (TransportKind::Polling, &Method::GET) => poll(&socket).await,
        (TransportKind::Polling, &Method::POST) => post(&shared, &socket, req).await,
        (TransportKind::WebSocket, &Method::GET) => upgrade(&socket, req).await,
        _ => ErrorCode::BadRequest.response(),
    }
}

/// Sends a command that the driver answers, and waits for the answer. A driver that has
/// gone means the session is closed.
async fn ask<T>(
    socket: &EngineSocket,
    command: impl FnOnce(oneshot::Sender<Result<T, RequestError>>) -> Command,
) -> Result<T, RequestError> {
    let (reply, answer) = oneshot::channel();
    if socket.command(command(reply)).is_err() {
        return Err(RequestError::Closed);
    }
    answer.await.unwrap_or(Err(RequestError::Closed))
}

async fn poll(socket: &EngineSocket) -> Response<Full<Bytes>> {
    match ask(socket, Command::Poll).await {
        Ok(body) => respond(StatusCode::OK, "text/plain; charset=UTF-8", body),
        Err(err) => request_error(&err),
    }
}

async fn post<B>(shared: &Shared, socket: &EngineSocket, req: Request<B>) -> Response<Full<Bytes>>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let Some(_post) = socket.begin_post() else {
        return match ask(socket, Command::PostOverlap).await {
            Ok(()) => ErrorCode::BadRequest.response(),
            Err(err) => request_error(&err),
        };
    };
    let max = shared.config.session.max_payload;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    let body = if declared.is_some_and(|length| length > max as u64) {
        Err(PostBodyError::TooLarge)
    } else {
        match Limited::new(req.into_body(), max).collect().await {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(err) if err.is::<LengthLimitError>() => Err(PostBodyError::TooLarge),
            Err(_) => Err(PostBodyError::Aborted),
        }
    };
    match ask(socket, |reply| Command::PostBody(body, reply)).await {
        Ok(()) => respond(StatusCode::OK, "text/html", Bytes::from_static(b"ok")),
        Err(err) => request_error(&err),
    }
}

async fn upgrade<B>(socket: &EngineSocket, mut req: Request<B>) -> Response<Full<Bytes>> {
    let Ok(response) = switching_protocols(req.headers()) else {
        return ErrorCode::BadRequest.response();
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    match ask(socket, |reply| Command::Upgrade(on_upgrade, reply)).await {
        Ok(()) => response.body(Full::default()).unwrap_or_default(),
        Err(err) => request_error(&err),
    }
}

async fn handshake<B>(
    shared: Arc<Shared>,
    transport: TransportKind,
    v4: bool,
    mut req: Request<B>,
) -> Response<Full<Bytes>>
where
    B: Body + Send + 'static,
{
    if req.method() != Method::GET {
        return ErrorCode::BadHandshakeMethod.response();
    }
    if !v4 {
        return ErrorCode::UnsupportedProtocolVersion.response();
    }
    let ws_response = match transport {
        TransportKind::WebSocket => match switching_protocols(req.headers()) {
            Ok(response) => Some(response),
            Err(_) => return ErrorCode::BadRequest.response(),
        },
        TransportKind::Polling => None,
    };
    let on_upgrade = ws_response.is_some().then(|| hyper::upgrade::on(&mut req));
    let (parts, _body) = req.into_parts();
    if let Some(allow) = &shared.config.allow_request {
        if !allow(&parts) {
            return ErrorCode::Forbidden.response();
        }
    }
    let sid = Sid::from_random(rand::random());
    let socket = EngineSocket::new(sid.clone(), transport, parts, &shared.config);
    match (ws_response, on_upgrade) {
        (Some(response), Some(on_upgrade)) => {
            // The session starts once the connection has switched protocols, which
            // happens after this response is written.
            let session = ServerSession::new(
                sid,
                TransportKind::WebSocket,
                shared.config.session.clone(),
                now(),
            );
            Driver::new(shared, session, socket, Some(on_upgrade)).spawn();
            response.body(Full::default()).unwrap_or_default()
        }
        _ => {
            let session = ServerSession::new(
                sid,
                TransportKind::Polling,
                shared.config.session.clone(),
                now(),
            );
            shared.insert(socket.clone());
            Driver::new(shared, session, socket.clone(), None).spawn();
            poll(&socket).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(query: &str) -> [Option<String>; 3] {
        let query = Query::parse(Some(query));
        [query.eio, query.transport, query.sid].map(|value| value.map(Cow::into_owned))
    }

    #[test]
    fn plain_and_encoded_queries_read_the_same() {
        let some = |value: &str| Some(value.to_owned());
        let cases = [
            (
                "EIO=4&transport=polling&t=PZ1a2b3",
                [some("4"), some("polling"), None],
            ),
            (
                "EIO=4&transport=websocket&sid=AbC-_9",
                [some("4"), some("websocket"), some("AbC-_9")],
            ),
            ("sid=a&sid=b&EIO=4", [some("4"), None, some("a")]),
            ("&&EIO&transport=&=x", [some(""), some(""), None]),
            ("", [None, None, None]),
            (
                "transport=polling&sid=é&EIO=4&",
                [some("4"), some("polling"), some("é")],
            ),
            (
                "EIO=4&transport=poll%69ng&sid=a%2Bb",
                [some("4"), some("polling"), some("a+b")],
            ),
            (
                "EIO=4+&transport=polling",
                [some("4 "), some("polling"), None],
            ),
            ("E%49O=3&sid=x%ZZ", [some("3"), None, some("x%ZZ")]),
        ];
        for (query, expected) in cases {
            assert_eq!(parsed(query), expected, "{query}");
            // The same as the general decoder's reading.
            let mut general = [None, None, None];
            for (key, value) in form_urlencoded::parse(query.as_bytes()) {
                let slot = match &*key {
                    "EIO" => &mut general[0],
                    "transport" => &mut general[1],
                    "sid" => &mut general[2],
                    _ => continue,
                };
                slot.get_or_insert(value.into_owned());
            }
            assert_eq!(parsed(query), general, "{query}");
        }
    }
}
