//! Socket.IO over HTTP long-polling: one keep-alive connection holds the GET, another
//! carries the POSTs, as a browser does.

use std::{
    cell::Cell,
    net::Ipv4Addr,
    rc::Rc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{
    Method, Request,
    client::conn::http1::SendRequest,
    header::{CONTENT_TYPE, HOST},
};
use hyper_util::rt::TokioIo;
use tokio::{net::TcpStream, sync::Notify};

use crate::Shared;

type Conn = SendRequest<Full<Bytes>>;

const SEPARATOR: u8 = 0x1e;
const ECHO: Bytes = Bytes::from_static(crate::ws::ECHO.as_bytes());
const PONG_AND_ECHO: Bytes =
    Bytes::from_static(concat!("3\u{1e}", r#"42["echo","0123456789abcdef",42]"#).as_bytes());

/// A polling client that has joined `/`.
pub(crate) struct Client {
    get: Conn,
    post: Conn,
    path: String,
}

async fn conn(port: u16) -> Result<Conn, String> {
    let tcp = TcpStream::connect((Ipv4Addr::LOCALHOST, port))
        .await
        .map_err(|err| format!("tcp connect: {err}"))?;
    tcp.set_nodelay(true).ok();
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|err| format!("http handshake: {err}"))?;
    tokio::task::spawn_local(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

async fn request(
    conn: &mut Conn,
    method: Method,
    path: &str,
    body: Bytes,
) -> Result<Bytes, String> {
    conn.ready()
        .await
        .map_err(|err| format!("connection: {err}"))?;
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(HOST, "127.0.0.1")
        .header(CONTENT_TYPE, "text/plain;charset=UTF-8")
        .body(Full::new(body))
        .map_err(|err| err.to_string())?;
    let response = conn
        .send_request(request)
        .await
        .map_err(|err| format!("request: {err}"))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|err| format!("body: {err}"))?
        .to_bytes();
    if !status.is_success() {
        return Err(format!("{status}: {}", String::from_utf8_lossy(&body)));
    }
    Ok(body)
}

fn packets(body: &Bytes) -> impl Iterator<Item = &[u8]> {
    body.split(|byte| *byte == SEPARATOR)
}

/// The Engine.IO handshake over polling, then the Socket.IO connect to `/`.
pub(crate) async fn connect(port: u16, timeout: Duration) -> Result<Client, String> {
    let handshake = async {
        let mut get = conn(port).await?;
        let mut post = conn(port).await?;
        let open = request(
            &mut get,
            Method::GET,
            "/socket.io/?EIO=4&transport=polling",
            Bytes::new(),
        )
        .await?;
        let open = std::str::from_utf8(&open).map_err(|err| err.to_string())?;
        let json = open
            .strip_prefix('0')
            .ok_or_else(|| format!("no Engine.IO open packet: {open}"))?;
        let json = json.split('\u{1e}').next().unwrap_or(json);
        let value: serde_json::Value = serde_json::from_str(json).map_err(|err| err.to_string())?;
        let sid = value["sid"].as_str().ok_or("no sid")?;
        let path = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
        request(&mut post, Method::POST, &path, Bytes::from_static(b"40")).await?;
        loop {
            let body = request(&mut get, Method::GET, &path, Bytes::new()).await?;
            for packet in packets(&body) {
                if packet.starts_with(b"40") {
                    return Ok(Client { get, post, path });
                }
                if packet.starts_with(b"44") || packet.starts_with(b"1") {
                    return Err(format!("refused: {}", String::from_utf8_lossy(packet)));
                }
            }
        }
    };
    tokio::time::timeout(timeout, handshake)
        .await
        .map_err(|_| format!("handshake not done in {timeout:?}"))?
}

/// One client of the polling echo scenario: POST an echo, wait until it arrives on the
/// GET that is always held open, repeat.
pub(crate) async fn echo_loop(shared: Rc<Shared>, client: usize, connection: Client) {
    let Client {
        mut get,
        mut post,
        path,
    } = connection;
    let echoed = Notify::new();
    let pong_wanted = Cell::new(false);
    let reader = async {
        while shared.running() {
            let body = match tokio::time::timeout_at(
                shared.deadline.into(),
                request(&mut get, Method::GET, &path, Bytes::new()),
            )
            .await
            {
                Err(_) => return,
                Ok(Ok(body)) => body,
                Ok(Err(err)) => {
                    shared.closed(format!("GET: {err}"));
                    return;
                }
            };
            for packet in packets(&body) {
                if packet.starts_with(br#"42["echo""#) {
                    echoed.notify_one();
                } else if packet == b"2" {
                    pong_wanted.set(true);
                } else if packet.starts_with(b"1") || packet.starts_with(b"41") {
                    shared.closed(format!(
                        "server closed: {}",
                        String::from_utf8_lossy(packet)
                    ));
                    return;
                }
            }
        }
    };
    let writer = async {
        while shared.running() {
            let body = if pong_wanted.replace(false) {
                PONG_AND_ECHO
            } else {
                ECHO
            };
            let start = Instant::now();
            if let Err(err) = request(&mut post, Method::POST, &path, body).await {
                shared.closed(format!("POST: {err}"));
                return;
            }
            let deadline = start + shared.op_timeout;
            match tokio::time::timeout_at(deadline.into(), echoed.notified()).await {
                Ok(()) => shared.record(client, start.elapsed()),
                Err(_) => shared.timed_out(),
            }
        }
    };
    tokio::select! {
        () = reader => {}
        () = writer => {}
    }
}
