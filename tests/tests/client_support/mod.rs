//! What the client tests share: the two fixture servers (Node's `socket.io` and ours,
//! with the same contract, see `tests/js/README.md`), and waiting for events with a
//! deadline instead of sleeping.
#![allow(dead_code, unreachable_pub)]

use std::{future::Future, time::Duration};

use interop_tests::{ServerProcess, js_dir};
use socketio_client::{EventStream, ManagerEvent, ManagerEvents, SocketEvent};

/// How long any expected event may take.
pub const WAIT: Duration = Duration::from_secs(10);

/// Which fixture server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fixture {
    /// `tests/js/fixture-server.mjs` on Node `socket.io` 4.8.
    Node,
    /// `sio-fixture`, on our server.
    Rust,
}

impl Fixture {
    /// Starts the fixture on `port` (0: any) with extra flags.
    pub async fn start_on(self, port: u16, flags: &[&str]) -> ServerProcess {
        let port = port.to_string();
        let mut args: Vec<String> = Vec::new();
        let program = match self {
            Self::Node => {
                args.push(js_dir().join("fixture-server.mjs").display().to_string());
                "node"
            }
            Self::Rust => env!("CARGO_BIN_EXE_sio-fixture"),
        };
        args.extend(["--port".to_owned(), port]);
        args.extend(flags.iter().map(|flag| (*flag).to_owned()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ServerProcess::start(program, &args)
            .await
            .unwrap_or_else(|err| panic!("{self:?} fixture: {err}"))
    }

    /// Starts the fixture on any port.
    pub async fn start(self, flags: &[&str]) -> ServerProcess {
        self.start_on(0, flags).await
    }
}

/// Runs one scenario against both fixtures, as two tests.
#[allow(clippy::crate_in_macro_def)]
#[macro_export]
macro_rules! both {
    ($($name:ident => $scenario:ident;)*) => {
        $(
            mod $name {
                #[tokio::test]
                async fn on_node() {
                    super::$scenario(crate::client_support::Fixture::Node).await;
                }

                #[tokio::test]
                async fn on_rust() {
                    super::$scenario(crate::client_support::Fixture::Rust).await;
                }
            }
        )*
    };
}

/// Awaits `future`, failing the test after [`WAIT`].
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// The next event `name` on the stream (skipping others), with its arguments as JSON.
pub async fn next_event(events: &mut EventStream, name: &str) -> socketio_client::Args {
    within(name, async {
        loop {
            match events.recv().await {
                Some(SocketEvent::Event { event, args, .. }) if &*event == name => return args,
                Some(_) => {}
                None => panic!("the event stream ended before {name}"),
            }
        }
    })
    .await
}

/// The next socket event that matches.
pub async fn next_matching(
    events: &mut EventStream,
    what: &str,
    matches: impl Fn(&SocketEvent) -> bool,
) -> SocketEvent {
    within(what, async {
        loop {
            match events.recv().await {
                Some(event) if matches(&event) => return event,
                Some(_) => {}
                None => panic!("the event stream ended before {what}"),
            }
        }
    })
    .await
}

/// The next manager event that matches.
pub async fn next_manager(
    events: &mut ManagerEvents,
    what: &str,
    matches: impl Fn(&ManagerEvent) -> bool,
) -> ManagerEvent {
    within(what, async {
        loop {
            match events.recv().await {
                Some(event) if matches(&event) => return event,
                Some(_) => {}
                None => panic!("the manager events ended before {what}"),
            }
        }
    })
    .await
}

/// A port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .unwrap_or_else(|err| panic!("no free port: {err}"))
}

/// The `ARGS` of the fixture contract, with binary top-level, nested, and several.
pub fn args_json() -> serde_json::Value {
    serde_json::json!([1, "two", {"three": [3]}, null, true, "é✓"])
}
