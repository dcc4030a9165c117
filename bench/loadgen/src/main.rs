//! `loadgen`: a raw-protocol Socket.IO v5 / Engine.IO v4 load generator.
//!
//! ```text
//! loadgen --scenario echo|ack|broadcast|idle|polling --port P [--server-pid PID]
//!         [--clients N] [--warmup SECS] [--duration SECS] [--window W]
//!         [--concurrency C] [--settle SECS] [--op-timeout SECS]
//!         [--peer-port P2] [--extra-pid PID]...
//! ```
//!
//! It only connects to 127.0.0.1. It runs on one thread (a current_thread runtime; pin
//! it to a core with `taskset`), connects its clients (at most `--concurrency` handshakes
//! in flight), lets them run for `--warmup`, then measures a window of `--duration`:
//! operations, latency percentiles, its own CPU time, and, with `--server-pid`, the
//! server's CPU time (`/proc/<pid>/stat`) and memory (`/proc/<pid>/status`). It prints one
//! JSON object on stdout. Every loop stops at a hard deadline, whatever the server does.
//!
//! Scenarios:
//! - `echo`: each client emits `echo` and waits for the echo, over and over;
//! - `ack`: each client emits `ack` with an ack id and waits for the ack;
//! - `broadcast`: `--clients` sockets receive; the first also emits `broadcast` with a
//!   sequence number and a timestamp, keeping at most `--window` broadcasts in flight (one
//!   leaves the window when every socket got it); latency is the delivery latency. With
//!   `--peer-port`, every other receiver connects to that port (another node of a cluster)
//!   and the sender stays on `--port`;
//! - `idle`: opens `--clients` connections, then holds them: handshakes per second, and
//!   the server's memory per connection after `--settle`;
//! - `polling`: the echo over HTTP long-polling only.
//!
//! `--extra-pid` (repeatable) names other processes that work for the server (the other
//! node of a cluster, Redis): their CPU time is reported apart and with the server's.

mod polling;
mod procfs;
mod ws;

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
    sync::Arc,
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use tokio::{
    sync::{Notify, Semaphore, mpsc},
    task::spawn_local,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scenario {
    Echo,
    Ack,
    Broadcast,
    Idle,
    Polling,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Self::Echo => "echo",
            Self::Ack => "ack",
            Self::Broadcast => "broadcast",
            Self::Idle => "idle",
            Self::Polling => "polling",
        }
    }
}

#[derive(Clone, Debug)]
struct Options {
    scenario: Scenario,
    port: u16,
    server_pid: Option<u32>,
    peer_port: Option<u16>,
    extra_pids: Vec<u32>,
    clients: usize,
    warmup: Duration,
    duration: Duration,
    window: u64,
    concurrency: usize,
    settle: Duration,
    op_timeout: Duration,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        scenario: Scenario::Echo,
        port: 0,
        server_pid: None,
        peer_port: None,
        extra_pids: Vec::new(),
        clients: 1,
        warmup: Duration::from_secs(2),
        duration: Duration::from_secs(10),
        window: 32,
        concurrency: 200,
        settle: Duration::from_secs(2),
        op_timeout: Duration::from_secs(5),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let secs = || {
            value
                .parse::<f64>()
                .ok()
                .filter(|secs| secs.is_finite() && *secs >= 0.0 && *secs < 3600.0)
                .map(Duration::from_secs_f64)
                .ok_or_else(|| format!("{flag}: not a number of seconds: {value}"))
        };
        let int = || value.parse::<u64>().map_err(|err| format!("{flag}: {err}"));
        match flag.as_str() {
            "--scenario" => {
                options.scenario = match value.as_str() {
                    "echo" => Scenario::Echo,
                    "ack" => Scenario::Ack,
                    "broadcast" => Scenario::Broadcast,
                    "idle" => Scenario::Idle,
                    "polling" => Scenario::Polling,
                    other => return Err(format!("unknown scenario {other}")),
                }
            }
            "--port" => options.port = u16::try_from(int()?).map_err(|err| err.to_string())?,
            "--server-pid" => {
                options.server_pid = Some(u32::try_from(int()?).map_err(|err| err.to_string())?)
            }
            "--peer-port" => {
                options.peer_port = Some(u16::try_from(int()?).map_err(|err| err.to_string())?)
            }
            "--extra-pid" => options
                .extra_pids
                .push(u32::try_from(int()?).map_err(|err| err.to_string())?),
            "--clients" => {
                options.clients = usize::try_from(int()?).map_err(|err| err.to_string())?
            }
            "--warmup" => options.warmup = secs()?,
            "--duration" => options.duration = secs()?,
            "--window" => options.window = int()?.max(1),
            "--concurrency" => {
                options.concurrency = usize::try_from(int()?)
                    .map_err(|err| err.to_string())?
                    .max(1)
            }
            "--settle" => options.settle = secs()?,
            "--op-timeout" => options.op_timeout = secs()?,
            other => return Err(format!("unknown option {other}")),
        }
    }
    if options.port == 0 {
        return Err("--port is required".into());
    }
    if options.clients == 0 || options.clients > 100_000 {
        return Err("--clients must be in 1..=100000".into());
    }
    Ok(options)
}

/// Errors seen by the clients.
#[derive(Default)]
struct Errors {
    connect: Cell<u64>,
    closed: Cell<u64>,
    timeouts: Cell<u64>,
    first: RefCell<Vec<String>>,
}

impl Errors {
    fn note(&self, message: String) {
        let mut first = self.first.borrow_mut();
        if first.len() < 5 && !first.contains(&message) {
            first.push(message);
        }
    }
}

/// The state every client of a run shares (one thread: `Cell`s, no locks).
pub(crate) struct Shared {
    /// The zero of the timestamps in broadcast payloads.
    base: Instant,
    /// Every loop ends here, whatever happens.
    deadline: Instant,
    op_timeout: Duration,
    recording: Cell<bool>,
    stopped: Cell<bool>,
    latency: RefCell<Histogram<u64>>,
    ops: Cell<u64>,
    per_client: RefCell<Vec<u64>>,
    alive: Cell<u64>,
    errors: Errors,
}

impl Shared {
    /// Whether the run goes on. The hard deadline is enforced around the whole run (see
    /// `main`): reading the clock here, once per message, cost the generator more than a
    /// tenth of its time.
    fn running(&self) -> bool {
        !self.stopped.get()
    }

    fn record(&self, client: usize, latency: Duration) {
        if self.recording.get() {
            let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX).max(1);
            self.latency.borrow_mut().saturating_record(nanos);
            self.ops.set(self.ops.get() + 1);
            if let Some(count) = self.per_client.borrow_mut().get_mut(client) {
                *count += 1;
            }
        }
    }

    fn closed(&self, reason: String) {
        self.errors.closed.set(self.errors.closed.get() + 1);
        self.errors.note(reason);
    }

    fn timed_out(&self) {
        self.errors.timeouts.set(self.errors.timeouts.get() + 1);
        self.errors.note("operation timed out".into());
    }
}

/// The pacing of the broadcast scenario.
pub(crate) struct Broadcast {
    receivers: u32,
    window: u64,
    /// Deliveries of broadcast `k`, at `k % window`.
    counts: Vec<Cell<u32>>,
    /// The oldest broadcast that some socket has not received yet.
    lowest: Cell<u64>,
    /// The next sequence number to send.
    sent: Cell<u64>,
    /// Wakes the sender when a broadcast completes or a pong is due.
    wake: Notify,
    pong_wanted: Cell<u32>,
    completed_in_window: Cell<u64>,
    stalls: Cell<u64>,
    out_of_window: Cell<u64>,
}

impl Broadcast {
    fn delivered(&self, shared: &Shared, seq: u64) {
        let lowest = self.lowest.get();
        if seq < lowest || seq >= lowest + self.window {
            self.out_of_window.set(self.out_of_window.get() + 1);
            return;
        }
        let Some(count) = self.counts.get((seq % self.window) as usize) else {
            return;
        };
        count.set(count.get() + 1);
        let mut lowest = lowest;
        let mut advanced = false;
        while let Some(count) = self.counts.get((lowest % self.window) as usize) {
            if count.get() < self.receivers || lowest >= self.sent.get() {
                break;
            }
            count.set(0);
            lowest += 1;
            advanced = true;
            if shared.recording.get() {
                self.completed_in_window
                    .set(self.completed_in_window.get() + 1);
            }
        }
        if advanced {
            self.lowest.set(lowest);
            self.wake.notify_one();
        }
    }
}

/// CPU and time at one edge of the measured window.
struct Mark {
    at: Instant,
    /// The server's user-space and kernel ticks.
    server_ticks: Option<(u64, u64)>,
    extra_ticks: Vec<Option<u64>>,
    own_cpu: f64,
    cpu_busy: Vec<u64>,
}

fn mark(options: &Options) -> Mark {
    Mark {
        at: Instant::now(),
        server_ticks: options.server_pid.and_then(procfs::cpu_ticks_split),
        extra_ticks: options
            .extra_pids
            .iter()
            .map(|pid| procfs::cpu_ticks(*pid))
            .collect(),
        own_cpu: procfs::self_cpu_secs(),
        cpu_busy: procfs::busy_ticks_per_cpu(),
    }
}

/// CPU time (%) that other processes took during the window on the server's CPUs and
/// on the load generator's: busy time of those CPUs less the server's or our own.
fn foreign_load(
    options: &Options,
    start: &Mark,
    end: &Mark,
    server_cpu: Option<f64>,
    own_cpu: f64,
    secs: f64,
) -> Value {
    let tick = procfs::clk_tck();
    let busy = |cpus: &[usize]| -> f64 {
        cpus.iter()
            .map(
                |cpu| match (start.cpu_busy.get(*cpu), end.cpu_busy.get(*cpu)) {
                    (Some(a), Some(b)) => b.saturating_sub(*a) as f64 / tick,
                    _ => 0.0,
                },
            )
            .sum()
    };
    let own_cpus = procfs::own_cpus();
    let server_cpus = options.server_pid.map(procfs::cpus_of).unwrap_or_default();
    let shared_cpus = own_cpus.iter().any(|cpu| server_cpus.contains(cpu));
    let pct = |value: f64| round((value / secs * 100.0).max(0.0), 1);
    if shared_cpus || own_cpus.len() > 4 || server_cpus.len() > 4 {
        return json!({ "note": "server and load generator not pinned to separate CPUs" });
    }
    json!({
        "server_cpus": server_cpus,
        "loadgen_cpus": own_cpus,
        "other_on_server_cpus_pct": server_cpu.map(|cpu| pct(busy(&server_cpus) - cpu)),
        "other_on_loadgen_cpus_pct": pct(busy(&own_cpus) - own_cpu),
    })
}

fn micros(nanos: u64) -> f64 {
    (nanos as f64 / 1000.0 * 10.0).round() / 10.0
}

fn round(value: f64, digits: i32) -> f64 {
    let scale = 10f64.powi(digits);
    (value * scale).round() / scale
}

/// The measured numbers of a window, as JSON fields.
fn window_report(options: &Options, shared: &Shared, start: &Mark, end: &Mark, ops: u64) -> Value {
    let secs = end.at.duration_since(start.at).as_secs_f64();
    let (server_cpu, server_user) = match (start.server_ticks, end.server_ticks) {
        (Some(a), Some(b)) => {
            let user = b.0.saturating_sub(a.0) as f64 / procfs::clk_tck();
            let system = b.1.saturating_sub(a.1) as f64 / procfs::clk_tck();
            (Some(user + system), Some(user))
        }
        _ => (None, None),
    };
    let extra_cpu: Vec<f64> = start
        .extra_ticks
        .iter()
        .zip(&end.extra_ticks)
        .map(|ticks| match ticks {
            (Some(a), Some(b)) => b.saturating_sub(*a) as f64 / procfs::clk_tck(),
            _ => 0.0,
        })
        .collect();
    // The server's side of the machine: the server and what works for it.
    let side_cpu = server_cpu.map(|cpu| cpu + extra_cpu.iter().sum::<f64>());
    let latency = shared.latency.borrow();
    let percentile = |q: f64| (!latency.is_empty()).then(|| micros(latency.value_at_quantile(q)));
    let per_client = shared.per_client.borrow();
    json!({
        "window_secs": round(secs, 3),
        "ops": ops,
        "ops_per_sec": round(ops as f64 / secs, 1),
        "p50_us": percentile(0.5),
        "p90_us": percentile(0.9),
        "p99_us": percentile(0.99),
        "max_us": (!latency.is_empty()).then(|| micros(latency.max())),
        "server_cpu_secs": server_cpu.map(|cpu| round(cpu, 3)),
        "server_cpu_pct": server_cpu.map(|cpu| round(cpu / secs * 100.0, 1)),
        "server_cpu_us_per_op": server_cpu.filter(|_| ops > 0).map(|cpu| round(cpu * 1e6 / ops as f64, 2)),
        "server_user_us_per_op": server_user.filter(|_| ops > 0).map(|cpu| round(cpu * 1e6 / ops as f64, 3)),
        "extra_cpu_secs": extra_cpu.iter().map(|cpu| round(*cpu, 3)).collect::<Vec<_>>(),
        "side_cpu_us_per_op": side_cpu.filter(|_| ops > 0).map(|cpu| round(cpu * 1e6 / ops as f64, 2)),
        "loadgen_cpu_pct": round((end.own_cpu - start.own_cpu) / secs * 100.0, 1),
        "client_ops_min": per_client.iter().min(),
        "client_ops_max": per_client.iter().max(),
        "clients_without_ops": per_client.iter().filter(|ops| **ops == 0).count(),
        "scenario": options.scenario.name(),
        "other_load": foreign_load(options, start, end, side_cpu, end.own_cpu - start.own_cpu, secs),
    })
}

fn errors_report(shared: &Shared) -> Value {
    let errors = &shared.errors;
    json!({
        "connect": errors.connect.get(),
        "closed": errors.closed.get(),
        "timeouts": errors.timeouts.get(),
        "first": *errors.first.borrow(),
    })
}

/// Connects `count` clients with at most `concurrency` handshakes in flight; returns the
/// connected ones with their index and the handshake latencies.
async fn connect_all<C, F>(
    shared: &Shared,
    options: &Options,
    connect: C,
) -> Vec<(usize, F::Output)>
where
    C: Fn(usize) -> F,
    F: Future,
    F::Output: IsConnected,
{
    let mut connected = Vec::with_capacity(options.clients);
    let mut stream = futures_util::stream::iter(0..options.clients)
        .map(|index| {
            let attempt = connect(index);
            async move { (index, attempt.await) }
        })
        .buffer_unordered(options.concurrency);
    while let Some((index, result)) = stream.next().await {
        match result.error() {
            Some(error) => {
                shared.errors.connect.set(shared.errors.connect.get() + 1);
                shared.errors.note(error);
            }
            None => connected.push((index, result)),
        }
    }
    connected
}

trait IsConnected {
    fn error(&self) -> Option<String>;
}

impl<T> IsConnected for Result<T, String> {
    fn error(&self) -> Option<String> {
        self.as_ref().err().cloned()
    }
}

/// Opens `clients` WebSocket sessions, `concurrency` at a time, each handshake in a task of
/// its own, and hands over each outcome with its latency as it ends. (Polled together in
/// one task, as `buffer_unordered` does, the handshakes were served unevenly once the load
/// generator neared its core's limit: some waited on our side far longer than the server
/// took, and the handshake p99 of a fast server showed that rather than the server.)
fn open_sessions(
    port: u16,
    timeout: Duration,
    clients: usize,
    concurrency: usize,
) -> mpsc::UnboundedReceiver<(Result<ws::Ws, String>, Duration)> {
    let (done_tx, done) = mpsc::unbounded_channel();
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    spawn_local(async move {
        for _ in 0..clients {
            let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                return;
            };
            let done_tx = done_tx.clone();
            spawn_local(async move {
                let begin = Instant::now();
                let result = ws::connect(port, timeout).await;
                let latency = begin.elapsed();
                drop(permit);
                let _ = done_tx.send((result, latency));
            });
        }
    });
    done
}

/// Runs the warm-up and the measured window while the clients loop; returns the report.
async fn measure(options: &Options, shared: &Shared) -> (Mark, Mark, u64) {
    tokio::time::sleep(options.warmup).await;
    let start = mark(options);
    shared.recording.set(true);
    tokio::time::sleep(options.duration).await;
    shared.recording.set(false);
    let end = mark(options);
    shared.stopped.set(true);
    (start, end, shared.ops.get())
}

async fn run(options: Options, shared: Rc<Shared>) -> Value {
    let rss_before = options.server_pid.and_then(procfs::rss_kb);
    let connect_timeout = Duration::from_secs(10);
    let port = options.port;
    let mut report = match options.scenario {
        Scenario::Echo | Scenario::Ack => {
            let kind = if options.scenario == Scenario::Echo {
                ws::RoundTrip::Echo
            } else {
                ws::RoundTrip::Ack
            };
            let clients =
                connect_all(&shared, &options, |_| ws::connect(port, connect_timeout)).await;
            let connected = clients.len();
            for (index, ws) in clients {
                if let Ok(ws) = ws {
                    spawn_local(ws::round_trip_loop(Rc::clone(&shared), index, ws, kind));
                }
            }
            let (start, end, ops) = measure(&options, &shared).await;
            let mut report = window_report(&options, &shared, &start, &end, ops);
            report["connected"] = json!(connected);
            report
        }
        Scenario::Polling => {
            let clients = connect_all(&shared, &options, |_| {
                polling::connect(port, connect_timeout)
            })
            .await;
            let connected = clients.len();
            for (index, client) in clients {
                if let Ok(client) = client {
                    spawn_local(polling::echo_loop(Rc::clone(&shared), index, client));
                }
            }
            let (start, end, ops) = measure(&options, &shared).await;
            let mut report = window_report(&options, &shared, &start, &end, ops);
            report["connected"] = json!(connected);
            report
        }
        Scenario::Broadcast => {
            // The sender (index 0) on `--port`; with a peer, every other receiver on it.
            let peer = options.peer_port.unwrap_or(port);
            let mut clients = connect_all(&shared, &options, |index| {
                ws::connect(if index % 2 == 1 { peer } else { port }, connect_timeout)
            })
            .await;
            let connected = clients.len();
            clients.sort_by_key(|(index, _)| *index);
            let broadcast = Rc::new(Broadcast {
                receivers: u32::try_from(connected).unwrap_or(u32::MAX),
                window: options.window,
                counts: (0..options.window).map(|_| Cell::new(0)).collect(),
                lowest: Cell::new(0),
                sent: Cell::new(0),
                wake: Notify::new(),
                pong_wanted: Cell::new(0),
                completed_in_window: Cell::new(0),
                stalls: Cell::new(0),
                out_of_window: Cell::new(0),
            });
            let mut sockets = clients.into_iter().filter_map(|(_, ws)| ws.ok());
            if let Some(first) = sockets.next() {
                for (index, ws) in sockets.enumerate() {
                    spawn_local(ws::receiver(
                        Rc::clone(&shared),
                        Rc::clone(&broadcast),
                        index + 1,
                        ws,
                    ));
                }
                spawn_local(ws::sender(Rc::clone(&shared), Rc::clone(&broadcast), first));
            }
            let (start, end, ops) = measure(&options, &shared).await;
            let mut report = window_report(&options, &shared, &start, &end, ops);
            let secs = end.at.duration_since(start.at).as_secs_f64();
            report["connected"] = json!(connected);
            report["window"] = json!(options.window);
            report["broadcasts"] = json!(broadcast.completed_in_window.get());
            report["broadcasts_per_sec"] =
                json!(round(broadcast.completed_in_window.get() as f64 / secs, 1));
            report["stalls"] = json!(broadcast.stalls.get());
            report["out_of_window"] = json!(broadcast.out_of_window.get());
            report
        }
        Scenario::Idle => {
            shared.recording.set(true);
            let start = mark(&options);
            let mut done =
                open_sessions(port, connect_timeout, options.clients, options.concurrency);
            let mut opened = 0u64;
            while let Some((result, latency)) = done.recv().await {
                match result {
                    Ok(ws) => {
                        opened += 1;
                        shared.record(0, latency);
                        spawn_local(ws::hold(Rc::clone(&shared), ws));
                    }
                    Err(err) => {
                        shared.errors.connect.set(shared.errors.connect.get() + 1);
                        shared.errors.note(err);
                    }
                }
            }
            let end = mark(&options);
            shared.recording.set(false);
            let mut report = window_report(&options, &shared, &start, &end, opened);
            tokio::time::sleep(options.settle).await;
            let rss_after = options.server_pid.and_then(procfs::rss_kb);
            let alive = shared.alive.get();
            report["connected"] = json!(opened);
            report["alive_after_settle"] = json!(alive);
            report["rss_after_kb"] = json!(rss_after);
            if let (Some(before), Some(after)) = (rss_before, rss_after)
                && alive > 0
            {
                report["rss_per_conn_kb"] =
                    json!(round(after.saturating_sub(before) as f64 / alive as f64, 2));
            }
            // Per-client numbers mean nothing here.
            for key in ["client_ops_min", "client_ops_max", "clients_without_ops"] {
                report.as_object_mut().map(|object| object.remove(key));
            }
            shared.stopped.set(true);
            report
        }
    };
    report["clients"] = json!(options.clients);
    report["rss_before_kb"] = json!(rss_before);
    if options.scenario != Scenario::Idle {
        report["rss_after_kb"] = json!(options.server_pid.and_then(procfs::rss_kb));
    }
    report["errors"] = errors_report(&shared);
    report
}

fn main() {
    let options = match parse_options() {
        Ok(options) => options,
        Err(err) => {
            eprintln!("loadgen: {err}");
            std::process::exit(2);
        }
    };
    let nofile = procfs::raise_nofile();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("loadgen: runtime: {err}");
            std::process::exit(1);
        }
    };
    let base = Instant::now();
    // Connecting, warm-up, window, settling, and a minute of margin.
    let limit = options.warmup + options.duration + options.settle + Duration::from_secs(60);
    let shared = Rc::new(Shared {
        base,
        deadline: base + limit,
        op_timeout: options.op_timeout,
        recording: Cell::new(false),
        stopped: Cell::new(false),
        latency: RefCell::new(
            Histogram::new_with_bounds(1, 120_000_000_000, 3).expect("static histogram bounds"),
        ),
        ops: Cell::new(0),
        per_client: RefCell::new(vec![0; options.clients]),
        alive: Cell::new(0),
        errors: Errors::default(),
    });
    let local = tokio::task::LocalSet::new();
    let outcome = local.block_on(&runtime, async {
        tokio::time::timeout(limit, run(options.clone(), Rc::clone(&shared))).await
    });
    match outcome {
        Ok(mut report) => {
            report["nofile_limit"] = json!(nofile);
            println!("{report}");
            // The connections close with the process: no orderly goodbye to wait for.
            std::process::exit(0);
        }
        Err(_) => {
            println!(
                "{}",
                json!({ "scenario": options.scenario.name(), "failed": "hard time limit", "errors": errors_report(&shared) })
            );
            std::process::exit(1);
        }
    }
}
