//! `runner`: builds the three echo servers and the load generator, then, one server and
//! one scenario at a time, starts a fresh server pinned to CPU 0, runs `loadgen` pinned to
//! CPU 1 against it, and stops the server. Writes a Markdown table (stdout and
//! `<out>/latest.md`, or `quick.md` with `--quick`) and the raw numbers as JSON.
//!
//! ```text
//! runner [--quick] [--servers ours,socketioxide,node] [--scenarios ID,ID,...]
//!        [--no-build] [--no-codecs] [--retries N] [--rounds N] [--budget SECS] [--out DIR] [--root DIR] [--max-quiet-wait SECS]
//! ```
//!
//! With `--rounds N`, each scenario runs N times per server, the servers taking turns
//! within each round; each cell of the table comes from one whole run, the one with the
//! median server CPU per operation among its server's rounds, and a second table gives the
//! CPU ratio of every round (neighbouring runs, the fairest comparison on a noisy machine).
//!
//! Before each scenario it waits (bounded) until the machine is quiet, because a build
//! running beside the benchmark halves the numbers; what other processes still took during
//! each window is measured and printed beside the results.

use std::{
    fmt::Write as _,
    fs,
    io::Read as _,
    net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    RoundTrip,
    Broadcast,
    /// A broadcast across two nodes of the same server joined by a private Redis.
    Cluster,
    Idle,
}

/// One scenario: what `loadgen` is told, and how to present it.
#[derive(Clone, Debug)]
struct Spec {
    id: String,
    title: String,
    kind: Kind,
    args: Vec<String>,
    /// The longest the load generator may take.
    limit: Duration,
    /// About how long one run takes, server start and stop included.
    estimate: Duration,
}

fn specs(quick: bool) -> Vec<Spec> {
    let (warmup, duration) = if quick { (0.5, 1.5) } else { (2.0, 10.0) };
    let timed = |scenario: &str, clients: usize| -> Vec<String> {
        vec![
            "--scenario".into(),
            scenario.into(),
            "--clients".into(),
            clients.to_string(),
            "--warmup".into(),
            warmup.to_string(),
            "--duration".into(),
            duration.to_string(),
        ]
    };
    let limit = Duration::from_secs_f64(warmup + duration + 90.0);
    let estimate = Duration::from_secs_f64(warmup + duration + 2.5);
    let mut specs = Vec::new();
    let echo_counts: &[usize] = if quick { &[1, 50, 100] } else { &[1, 50, 500] };
    for &clients in echo_counts {
        specs.push(Spec {
            id: format!("echo-ws-{clients}"),
            title: format!(
                "echo, WebSocket, {clients} client{}",
                if clients == 1 { "" } else { "s" }
            ),
            kind: Kind::RoundTrip,
            args: timed("echo", clients),
            limit,
            estimate,
        });
    }
    specs.push(Spec {
        id: "ack-ws-50".into(),
        title: "ack, WebSocket, 50 clients".into(),
        kind: Kind::RoundTrip,
        args: timed("ack", 50),
        limit,
        estimate,
    });
    let receivers: &[usize] = if quick { &[100, 200] } else { &[100, 1000] };
    for &count in receivers {
        let mut args = timed("broadcast", count);
        args.extend(["--window".into(), "32".into()]);
        specs.push(Spec {
            id: format!("broadcast-{count}"),
            title: format!("broadcast to {count} receivers (window 32)"),
            kind: Kind::Broadcast,
            args,
            limit,
            estimate,
        });
    }
    let across = if quick { 200 } else { 1000 };
    let mut args = timed("broadcast", across);
    args.extend(["--window".into(), "32".into()]);
    specs.push(Spec {
        id: format!("cluster-broadcast-{across}"),
        title: format!(
            "broadcast to {across} receivers on two nodes joined by Redis, half on each (window 32)"
        ),
        kind: Kind::Cluster,
        args,
        limit,
        estimate: estimate + Duration::from_secs(2),
    });
    let idle = if quick { 1000 } else { 10_000 };
    specs.push(Spec {
        id: format!("idle-{idle}"),
        title: format!("{idle} idle WebSocket connections (200 handshakes in flight)"),
        kind: Kind::Idle,
        args: vec![
            "--scenario".into(),
            "idle".into(),
            "--clients".into(),
            idle.to_string(),
            "--concurrency".into(),
            "200".into(),
            "--settle".into(),
            if quick { "1" } else { "3" }.into(),
            "--warmup".into(),
            "0".into(),
            "--duration".into(),
            "0".into(),
        ],
        limit: Duration::from_secs(150),
        estimate: Duration::from_secs(if quick { 5 } else { 10 }),
    });
    let polling = if quick { 10 } else { 50 };
    specs.push(Spec {
        id: format!("echo-polling-{polling}"),
        title: format!("echo, long-polling, {polling} clients"),
        kind: Kind::RoundTrip,
        args: timed("polling", polling),
        limit,
        estimate,
    });
    specs
}

/// A server under test.
#[derive(Clone, Debug)]
struct Server {
    name: &'static str,
    label: String,
    program: PathBuf,
    args: Vec<String>,
    /// A cluster node: the program and its arguments (`--redis URL` follows).
    node: Option<(PathBuf, Vec<String>)>,
}

struct Cli {
    quick: bool,
    servers: Vec<String>,
    scenarios: Option<Vec<String>>,
    build: bool,
    codecs: bool,
    retries: Option<u32>,
    rounds: u32,
    budget: Option<Duration>,
    out: Option<PathBuf>,
    root: Option<PathBuf>,
    max_quiet_wait: Option<Duration>,
}

fn parse_cli() -> Result<Cli, String> {
    let mut cli = Cli {
        quick: false,
        servers: vec!["ours".into(), "socketioxide".into(), "node".into()],
        scenarios: None,
        build: true,
        codecs: true,
        retries: None,
        rounds: 1,
        budget: None,
        out: None,
        root: None,
        max_quiet_wait: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--quick" => cli.quick = true,
            "--no-build" => cli.build = false,
            "--no-codecs" => cli.codecs = false,
            "--budget" => {
                let secs: f64 = value()?.parse().map_err(|err| format!("--budget: {err}"))?;
                cli.budget = Some(Duration::from_secs_f64(secs.clamp(0.0, 86_400.0)));
            }
            "--retries" => {
                cli.retries = Some(
                    value()?
                        .parse()
                        .map_err(|err| format!("--retries: {err}"))?,
                )
            }
            "--rounds" => {
                let rounds: u32 = value()?.parse().map_err(|err| format!("--rounds: {err}"))?;
                cli.rounds = rounds.clamp(1, 9);
            }
            "--servers" => cli.servers = value()?.split(',').map(str::to_owned).collect(),
            "--scenarios" => cli.scenarios = Some(value()?.split(',').map(str::to_owned).collect()),
            "--out" => cli.out = Some(PathBuf::from(value()?)),
            "--root" => cli.root = Some(PathBuf::from(value()?)),
            "--max-quiet-wait" => {
                let secs: f64 = value()?
                    .parse()
                    .map_err(|err| format!("--max-quiet-wait: {err}"))?;
                cli.max_quiet_wait = Some(Duration::from_secs_f64(secs.clamp(0.0, 3600.0)));
            }
            "-h" | "--help" => {
                println!(
                    "runner [--quick] [--servers ours,socketioxide,node] [--scenarios ID,...] [--no-build] [--no-codecs] [--retries N] [--rounds N] [--budget SECS] [--out DIR] [--root DIR] [--max-quiet-wait SECS]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    for server in &cli.servers {
        if !["ours", "socketioxide", "node"].contains(&server.as_str()) {
            return Err(format!("unknown server {server}"));
        }
    }
    Ok(cli)
}

fn output(program: &str, args: &[&str], dir: &Path) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn run(program: &str, args: &[&str], dir: &Path) -> Result<(), String> {
    eprintln!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|err| format!("{program}: {err}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{program} {} failed: {status}", args.join(" ")))
    }
}

/// The target directory cargo uses for the workspace of `manifest`.
fn target_dir(manifest: &Path, dir: &Path) -> Result<PathBuf, String> {
    let manifest = manifest.to_string_lossy();
    let json = output(
        "cargo",
        &[
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
            &manifest,
        ],
        dir,
    )
    .ok_or("cargo metadata failed")?;
    let value: Value = serde_json::from_str(&json).map_err(|err| err.to_string())?;
    value["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| "no target_directory".into())
}

fn raise_nofile() -> u64 {
    // SAFETY: getrlimit/setrlimit read and write the struct we own.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        limit.rlim_cur = limit.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur
    }
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|err| err.to_string())?;
    Ok(listener.local_addr().map_err(|err| err.to_string())?.port())
}

fn start_server(server: &Server, port: u16, log: &Path) -> Result<Child, String> {
    start_server_with(server, port, log, &[])
}

fn start_server_with(
    server: &Server,
    port: u16,
    log: &Path,
    extra: &[String],
) -> Result<Child, String> {
    let file = fs::File::create(log).map_err(|err| format!("{}: {err}", log.display()))?;
    let err_file = file.try_clone().map_err(|err| err.to_string())?;
    let mut command = Command::new("taskset");
    command
        .arg("-c")
        .arg("0")
        .arg(&server.program)
        .args(&server.args)
        .args(extra)
        .arg("--port")
        .arg(port.to_string())
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err_file);
    if server.name == "ours" {
        // The server's own default (info); set here so that RUST_LOG of the caller does not
        // change what the benchmark measures.
        command.env("RUST_LOG", "info");
    }
    let child = command
        .spawn()
        .map_err(|err| format!("start {}: {err}", server.name))?;
    wait_listening(child, server.name, port, log)
}

/// Waits until `child` accepts connections on `port`.
fn wait_listening(mut child: Child, name: &str, port: u16, log: &Path) -> Result<Child, String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let begin = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "{name} exited at start: {status} (see {})",
                log.display()
            ));
        }
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(child);
        }
        if begin.elapsed() > Duration::from_secs(30) {
            stop(&mut child);
            return Err(format!("{name} did not listen on {port} in 30 s"));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// A private Redis for one cluster run, pinned to the servers' CPU, keeping nothing.
fn start_redis(port: u16, log: &Path) -> Result<Child, String> {
    let file = fs::File::create(log).map_err(|err| format!("{}: {err}", log.display()))?;
    let err_file = file.try_clone().map_err(|err| err.to_string())?;
    let child = Command::new("taskset")
        .args(["-c", "0", "redis-server", "--port"])
        .arg(port.to_string())
        .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err_file)
        .spawn()
        .map_err(|err| format!("start redis-server: {err}"))?;
    wait_listening(child, "redis-server", port, log)
}

/// Two nodes of `server` on a private Redis, all pinned to CPU 0; the load generator's
/// receivers alternate between them, its sender on the first.
fn run_cluster(server: &Server, spec: &Spec, loadgen: &Path, logs: &Path) -> Value {
    let log = |what: &str| logs.join(format!("{}-{}-{what}.log", server.name, spec.id));
    let outcome = (|| {
        let redis_port = free_port()?;
        let mut redis = start_redis(redis_port, &log("redis"))?;
        let url = [
            "--redis".to_owned(),
            format!("redis://127.0.0.1:{redis_port}"),
        ];
        let (program, args) = server
            .node
            .clone()
            .ok_or_else(|| format!("{} has no cluster node", server.name))?;
        let server = &Server {
            program,
            args,
            node: None,
            ..server.clone()
        };
        let mut nodes = Vec::new();
        let mut ports = Vec::new();
        for node in ["a", "b"] {
            let started = free_port()
                .and_then(|port| Ok((port, start_server_with(server, port, &log(node), &url)?)));
            match started {
                Ok((port, child)) => {
                    ports.push(port);
                    nodes.push(child);
                }
                Err(err) => {
                    nodes.iter_mut().for_each(stop);
                    stop(&mut redis);
                    return Err(err);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(500));
        let (a, b) = (&nodes[0], &nodes[1]);
        let extra = vec![
            "--peer-port".to_owned(),
            ports[1].to_string(),
            "--extra-pid".to_owned(),
            b.id().to_string(),
            "--extra-pid".to_owned(),
            redis.id().to_string(),
        ];
        let outcome = run_loadgen_with(loadgen, spec, ports[0], a.id(), &extra);
        let survived = nodes
            .iter_mut()
            .all(|node| matches!(node.try_wait(), Ok(None)));
        nodes.iter_mut().for_each(stop);
        stop(&mut redis);
        let mut result = outcome?;
        result["server_survived"] = json!(survived);
        Ok(result)
    })();
    outcome.unwrap_or_else(|err: String| json!({ "failed": err }))
}

fn signal(pid: u32, signal: i32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill has no memory preconditions; the pid is our own child.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

/// SIGTERM, then SIGKILL after 5 s.
fn stop(child: &mut Child) {
    signal(child.id(), libc::SIGTERM);
    let begin = Instant::now();
    while begin.elapsed() < Duration::from_secs(5) {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn run_loadgen(loadgen: &Path, spec: &Spec, port: u16, pid: u32) -> Result<Value, String> {
    run_loadgen_with(loadgen, spec, port, pid, &[])
}

fn run_loadgen_with(
    loadgen: &Path,
    spec: &Spec,
    port: u16,
    pid: u32,
    extra: &[String],
) -> Result<Value, String> {
    let mut child = Command::new("taskset")
        .arg("-c")
        .arg("1")
        .arg(loadgen)
        .args(&spec.args)
        .args([
            "--port",
            &port.to_string(),
            "--server-pid",
            &pid.to_string(),
        ])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| format!("loadgen: {err}"))?;
    let loadgen_pid = child.id();
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let mut stderr = child.stderr.take().ok_or("no stderr")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut out = String::new();
        let mut err = String::new();
        let _ = stdout.read_to_string(&mut out);
        let _ = stderr.read_to_string(&mut err);
        let status = child.wait();
        let _ = tx.send((out, err, status));
    });
    let (out, err, status) = match rx.recv_timeout(spec.limit) {
        Ok(result) => result,
        Err(_) => {
            signal(loadgen_pid, libc::SIGKILL);
            return Err(format!("loadgen ran past {:?} and was killed", spec.limit));
        }
    };
    let line = out
        .lines()
        .rev()
        .find(|line| line.starts_with('{'))
        .unwrap_or("");
    let value: Value = serde_json::from_str(line)
        .map_err(|_| format!("loadgen printed no result ({status:?}): {}", err.trim()))?;
    Ok(value)
}

/// Busy and total clock ticks of the whole machine (`/proc/stat`, line `cpu`).
fn machine_ticks() -> (u64, u64) {
    let stat = fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|line| line.starts_with("cpu ")) else {
        return (0, 0);
    };
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|field| field.parse().ok())
        .collect();
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

/// Waits until other processes use less than 10 % of one core for a whole second (two
/// samples of 0.5 s), at most `max`. Returns (seconds waited, quiet, last load in % of a core).
fn wait_quiet(max: Duration, cores: usize) -> (f64, bool, f64) {
    let begin = Instant::now();
    let mut quiet_samples = 0;
    loop {
        let (busy0, total0) = machine_ticks();
        std::thread::sleep(Duration::from_millis(500));
        let (busy1, total1) = machine_ticks();
        let total = total1.saturating_sub(total0).max(1) as f64;
        let load = busy1.saturating_sub(busy0) as f64 / total * cores as f64 * 100.0;
        quiet_samples = if load < 10.0 { quiet_samples + 1 } else { 0 };
        if quiet_samples >= 2 {
            return (begin.elapsed().as_secs_f64(), true, load);
        }
        if begin.elapsed() >= max {
            return (begin.elapsed().as_secs_f64(), false, load);
        }
    }
}

/// Lines of a server log that report a problem.
fn log_warnings(log: &Path) -> Vec<String> {
    let text = fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter(|line| {
            let lower = line.to_ascii_lowercase();
            lower.contains("error") || lower.contains("warn") || lower.contains("panick")
        })
        .map(|line| line.chars().filter(|c| !c.is_control()).take(300).collect())
        .collect()
}

fn machine(root: &Path) -> Value {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| {
            line.strip_prefix("model name")
                .and_then(|rest| rest.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = cpuinfo
        .lines()
        .filter(|line| line.starts_with("processor"))
        .count();
    let memory = fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|line| {
            line.strip_prefix("MemTotal:")
                .map(|rest| rest.trim().to_owned())
        })
        .unwrap_or_default();
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let socketio = fs::read_to_string(root.join("bench/node/node_modules/socket.io/package.json"))
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .and_then(|value| value["version"].as_str().map(str::to_owned));
    let lock = fs::read_to_string(root.join("bench/Cargo.lock")).unwrap_or_default();
    let socketioxide = lock
        .split("[[package]]")
        .find(|block| block.contains("name = \"socketioxide\"\n"))
        .and_then(|block| {
            block
                .lines()
                .find_map(|line| line.strip_prefix("version = "))
        })
        .map(|version| version.trim_matches('"').to_owned());
    let commit = output("git", &["rev-parse", "--short", "HEAD"], root).map(|commit| {
        let dirty = output(
            "git",
            &["status", "--porcelain", "--untracked-files=no"],
            root,
        )
        .is_some_and(|s| !s.is_empty());
        if dirty {
            format!("{commit} (with uncommitted changes)")
        } else {
            commit
        }
    });
    json!({
        "cpu": model,
        "cores": cores,
        "memory": memory,
        "kernel": kernel,
        "rustc": output("rustc", &["--version"], root),
        "node": output("node", &["--version"], root),
        "socket.io": socketio,
        "socketioxide": socketioxide,
        "commit": commit,
        "clk_tck": output("getconf", &["CLK_TCK"], root),
    })
}

/// Other processes' load during a window above which a run is done again (% of a core).
const NOISY: f64 = 20.0;

/// The larger of the loads other processes put on the server's and the load
/// generator's CPU during the window (% of a core).
fn other_load(result: &Value) -> f64 {
    let other = &result["other_load"];
    let server = other["other_on_server_cpus_pct"].as_f64().unwrap_or(0.0);
    let loadgen = other["other_on_loadgen_cpus_pct"].as_f64().unwrap_or(0.0);
    server.max(loadgen)
}

/// What limited a run: the server's core, the load generator's, other processes, or
/// neither (a closed loop with few clients waits on latency).
/// CPU time (% of a core) of each process on the server's side: the server, then those
/// that work for it (the other node and Redis of a cluster run).
fn side_cpu_pcts(result: &Value) -> Vec<f64> {
    let window = result["window_secs"].as_f64().filter(|secs| *secs > 0.0);
    let mut pcts = vec![result["server_cpu_pct"].as_f64().unwrap_or(0.0)];
    if let (Some(window), Some(extra)) = (window, result["extra_cpu_secs"].as_array()) {
        pcts.extend(
            extra
                .iter()
                .filter_map(Value::as_f64)
                .map(|secs| secs / window * 100.0),
        );
    }
    pcts
}

fn bound_by(result: &Value) -> &'static str {
    // Every process of the server's side shares its core.
    let server: f64 = side_cpu_pcts(result).iter().sum();
    let loadgen = result["loadgen_cpu_pct"].as_f64().unwrap_or(0.0);
    if server >= 90.0 {
        "server CPU"
    } else if loadgen >= 90.0 {
        "**loadgen**"
    } else if other_load(result) > NOISY {
        "other load"
    } else {
        "latency"
    }
}

/// One scenario against one fresh server.
fn run_one(
    server: &Server,
    spec: &Spec,
    loadgen: &Path,
    logs: &Path,
    max_quiet_wait: Duration,
    cores: usize,
) -> Value {
    let (waited, quiet, load) = wait_quiet(max_quiet_wait, cores);
    eprintln!(
        "== {} / {} (machine {} after {waited:.1} s: {load:.0}% of a core in use)",
        server.name,
        spec.id,
        if quiet { "quiet" } else { "NOT quiet" }
    );
    let log = logs.join(format!("{}-{}.log", server.name, spec.id));
    let mut result = if spec.kind == Kind::Cluster {
        run_cluster(server, spec, loadgen, logs)
    } else {
        match free_port().and_then(|port| Ok((port, start_server(server, port, &log)?))) {
            Err(err) => json!({ "failed": err }),
            Ok((port, mut child)) => {
                // Let the server finish starting (Node compiles its code lazily).
                std::thread::sleep(Duration::from_millis(500));
                let outcome = run_loadgen(loadgen, spec, port, child.id());
                let survived = matches!(child.try_wait(), Ok(None));
                stop(&mut child);
                let mut result = outcome.unwrap_or_else(|err| json!({ "failed": err }));
                result["server_survived"] = json!(survived);
                result
            }
        }
    };
    if result.get("failed").is_some() {
        eprintln!("   failed: {}", result["failed"]);
    } else {
        eprintln!(
            "   {} ops/s, p50 {} µs, p99 {} µs, server CPU {} µs/op ({}%), loadgen {}%, other load {:.0}%, errors {}",
            result["ops_per_sec"],
            result["p50_us"],
            result["p99_us"],
            result["server_cpu_us_per_op"],
            result["server_cpu_pct"],
            result["loadgen_cpu_pct"],
            other_load(&result),
            result["errors"]
        );
    }
    result["server"] = json!(server.name);
    result["spec"] = json!(spec.id);
    result["title"] = json!(spec.title);
    result["quiet_before"] = json!(quiet);
    result["log_warnings"] = json!(log_warnings(&log));
    result
}

/// Runs the codec micro-benchmarks (divan) pinned to CPU 1; returns divan's table.
fn run_codecs(root: &Path, quick: bool) -> Result<String, String> {
    let bench = [
        "bench",
        "--manifest-path",
        "bench/Cargo.toml",
        "-p",
        "codecs",
        "--bench",
        "codecs",
    ];
    let mut build = bench.to_vec();
    build.push("--no-run");
    run("cargo", &build, root)?;
    let mut args = vec!["-c", "1", "cargo"];
    args.extend(bench);
    if quick {
        args.extend(["--", "--sample-count", "10"]);
    }
    eprintln!("$ taskset {}", args.join(" "));
    let out = Command::new("taskset")
        .args(&args)
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|err| format!("cargo bench: {err}"))?;
    if !out.status.success() {
        return Err(format!("cargo bench -p codecs failed: {}", out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_owned())
}

// ---------------------------------------------------------------------------------------
// The report.

struct Metric {
    label: &'static str,
    key: &'static str,
    scale: f64,
    digits: usize,
}

const fn metric(label: &'static str, key: &'static str, scale: f64, digits: usize) -> Metric {
    Metric {
        label,
        key,
        scale,
        digits,
    }
}

/// The row under a server CPU row: the user-space part of it, with as many digits.
const fn user_space(digits: usize) -> Metric {
    metric(
        "of which in user space (µs)",
        "server_user_us_per_op",
        1.0,
        digits,
    )
}

fn metrics(kind: Kind) -> &'static [Metric] {
    const ROUND_TRIP: &[Metric] = &[
        metric("round trips/s", "ops_per_sec", 1.0, 0),
        metric("p50 latency (ms)", "p50_us", 1e-3, 2),
        metric("p99 latency (ms)", "p99_us", 1e-3, 2),
        metric(
            "server CPU per round trip (µs)",
            "server_cpu_us_per_op",
            1.0,
            2,
        ),
        user_space(2),
    ];
    const BROADCAST: &[Metric] = &[
        metric("deliveries/s", "ops_per_sec", 1.0, 0),
        metric("broadcasts/s", "broadcasts_per_sec", 1.0, 0),
        metric("p50 delivery latency (ms)", "p50_us", 1e-3, 2),
        metric("p99 delivery latency (ms)", "p99_us", 1e-3, 2),
        metric(
            "server CPU per delivery (µs)",
            "server_cpu_us_per_op",
            1.0,
            2,
        ),
        user_space(2),
    ];
    const CLUSTER: &[Metric] = &[
        metric("deliveries/s", "ops_per_sec", 1.0, 0),
        metric("broadcasts/s", "broadcasts_per_sec", 1.0, 0),
        metric("p50 delivery latency (ms)", "p50_us", 1e-3, 2),
        metric("p99 delivery latency (ms)", "p99_us", 1e-3, 2),
        metric(
            "CPU per delivery, both nodes and Redis (µs)",
            "side_cpu_us_per_op",
            1.0,
            2,
        ),
        metric(
            "CPU per broadcast, both nodes and Redis (µs)",
            "side_cpu_us_per_broadcast",
            1.0,
            1,
        ),
        metric(
            "the same on one node, no adapter (µs)",
            "single_cpu_us_per_broadcast",
            1.0,
            1,
        ),
        metric(
            "added by the second node and Redis (µs)",
            "added_cpu_us_per_broadcast",
            1.0,
            1,
        ),
    ];
    const IDLE: &[Metric] = &[
        metric("handshakes/s", "ops_per_sec", 1.0, 0),
        metric("handshake p50 (ms)", "p50_us", 1e-3, 2),
        metric("handshake p99 (ms)", "p99_us", 1e-3, 2),
        metric(
            "server CPU per handshake (µs)",
            "server_cpu_us_per_op",
            1.0,
            1,
        ),
        user_space(1),
        metric(
            "idle server RSS, no connection (MiB)",
            "rss_before_kb",
            1.0 / 1024.0,
            1,
        ),
        metric(
            "server RSS with the connections (MiB)",
            "rss_after_kb",
            1.0 / 1024.0,
            1,
        ),
        metric(
            "server memory per connection (KiB)",
            "rss_per_conn_kb",
            1.0,
            2,
        ),
    ];
    match kind {
        Kind::RoundTrip => ROUND_TRIP,
        Kind::Broadcast => BROADCAST,
        Kind::Cluster => CLUSTER,
        Kind::Idle => IDLE,
    }
}

fn format_number(value: f64, digits: usize) -> String {
    let text = format!("{value:.digits$}");
    let (int, frac) = text
        .split_once('.')
        .map_or((text.as_str(), None), |(i, f)| (i, Some(f)));
    let (sign, int) = int.strip_prefix('-').map_or(("", int), |rest| ("-", rest));
    let mut grouped = String::new();
    for (index, digit) in int.chars().enumerate() {
        if index > 0 && (int.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    match frac {
        Some(frac) => format!("{sign}{grouped}.{frac}"),
        None => format!("{sign}{grouped}"),
    }
}

/// The run each cell of the table shows: of a server's rounds of a scenario, the one with
/// the median server CPU per operation (the lower middle one of an even count); a failed
/// run only when every round failed.
fn median_runs(results: &[Value], specs: &[Spec], servers: &[Server]) -> Vec<Value> {
    let mut shown = Vec::new();
    for spec in specs {
        for server in servers {
            let runs: Vec<&Value> = results
                .iter()
                .filter(|result| result["server"] == server.name && result["spec"] == spec.id)
                .collect();
            let mut measured: Vec<(f64, &Value)> = runs
                .iter()
                .filter_map(|run| Some((run["server_cpu_us_per_op"].as_f64()?, *run)))
                .collect();
            measured.sort_by(|a, b| a.0.total_cmp(&b.0));
            let chosen = measured
                .get(measured.len().saturating_sub(1) / 2)
                .map(|(_, run)| *run)
                .or_else(|| runs.first().copied());
            shown.extend(chosen.cloned());
        }
    }
    shown
}

/// The ratio of ours to each peer's server CPU per operation in every round, with its
/// median: the two runs of a round are neighbours in time.
fn render_rounds(specs: &[Spec], servers: &[Server], results: &[Value], rounds: u32) -> String {
    let mut md = String::new();
    let peers: Vec<&Server> = servers.iter().filter(|s| s.name != "ours").collect();
    if peers.is_empty() || !servers.iter().any(|s| s.name == "ours") {
        return md;
    }
    let _ = writeln!(
        md,
        "\n### Server CPU per operation, ours ÷ peer, round by round\n\n\
         Each scenario ran {rounds} times per server, the servers taking turns within a round; \
         the table above shows, for each server, its run with the median server CPU per \
         operation. Here is the ratio of every round (ours and the peer ran one after the \
         other) and the median of those ratios; then the same for the server's CPU time in \
         user space alone (its own code and libraries, without the kernel's work for its \
         system calls).\n"
    );
    let _ = writeln!(
        md,
        "| scenario | peer | each round | median | user space: each round | median |"
    );
    let _ = writeln!(md, "| --- | --- | --- | ---: | --- | ---: |");
    let per_op = |key: &str, server: &str, spec: &str, round: u32| {
        results
            .iter()
            .find(|r| r["server"] == server && r["spec"] == spec && r["round"] == round)
            .and_then(|r| r[key].as_f64())
    };
    for spec in specs {
        for peer in &peers {
            let ratios = |key: &str| -> Vec<f64> {
                (0..rounds)
                    .filter_map(|round| {
                        let ours = per_op(key, "ours", &spec.id, round)?;
                        let theirs = per_op(key, peer.name, &spec.id, round)?;
                        (theirs > 0.0).then(|| ours / theirs)
                    })
                    .collect()
            };
            let total = ratios("server_cpu_us_per_op");
            if total.is_empty() {
                continue;
            }
            let (each, median) = each_and_median(total);
            let (user_each, user_median) = each_and_median(ratios("server_user_us_per_op"));
            let _ = writeln!(
                md,
                "| {} | {} | {each} | {median} | {user_each} | {user_median} |",
                spec.id, peer.name
            );
        }
    }
    md
}

/// Ratios as a list ("0.81×, 0.79×") and their median; dashes when there are none.
fn each_and_median(mut ratios: Vec<f64>) -> (String, String) {
    if ratios.is_empty() {
        return ("–".into(), "–".into());
    }
    let each = ratios
        .iter()
        .map(|ratio| format!("{ratio:.2}×"))
        .collect::<Vec<_>>()
        .join(", ");
    ratios.sort_by(f64::total_cmp);
    let middle = ratios.len() / 2;
    let median = if ratios.len().is_multiple_of(2) {
        (ratios[middle - 1] + ratios[middle]) / 2.0
    } else {
        ratios[middle]
    };
    (each, format!("{median:.2}×"))
}

fn find<'a>(results: &'a [Value], server: &str, spec: &str) -> Option<&'a Value> {
    results
        .iter()
        .find(|result| result["server"] == server && result["spec"] == spec)
}

fn cell(result: Option<&Value>, metric: &Metric) -> (String, Option<f64>) {
    match result {
        None => ("–".into(), None),
        Some(result) if result.get("failed").is_some() => ("failed".into(), None),
        Some(result) => match result[metric.key].as_f64() {
            Some(value) => {
                let mark = if other_load(result) > NOISY {
                    " †"
                } else {
                    ""
                };
                (
                    format!(
                        "{}{mark}",
                        format_number(value * metric.scale, metric.digits)
                    ),
                    Some(value),
                )
            }
            None => ("–".into(), None),
        },
    }
}

fn render(
    machine: &Value,
    command: &str,
    mode: &str,
    specs: &[Spec],
    servers: &[Server],
    results: &[Value],
) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "## Benchmarks ({mode})\n");
    let _ = writeln!(md, "Command: `{command}`\n");
    let _ = writeln!(
        md,
        "Machine: {} × {} cores, {} RAM, Linux {}; {}; Node {}; socket.io {}; socketioxide {}; our commit {}.\n",
        machine["cpu"].as_str().unwrap_or("?"),
        machine["cores"],
        machine["memory"].as_str().unwrap_or("?"),
        machine["kernel"].as_str().unwrap_or("?"),
        machine["rustc"].as_str().unwrap_or("rustc ?"),
        machine["node"].as_str().unwrap_or("?"),
        machine["socket.io"].as_str().unwrap_or("?"),
        machine["socketioxide"].as_str().unwrap_or("?"),
        machine["commit"].as_str().unwrap_or("?"),
    );
    let _ = writeln!(
        md,
        "Each server runs alone, fresh for each scenario, pinned to CPU 0 (`taskset -c 0`); the load \
         generator (`bench/loadgen`, one thread) is pinned to CPU 1. Server CPU is utime + stime from \
         `/proc/<pid>/stat` over the measured window; memory is VmRSS. A ratio is ours ÷ peer: above 1 \
         means more of that metric on our side (better for throughput, worse for latency, CPU and memory).\n"
    );
    let peers: Vec<&Server> = servers
        .iter()
        .filter(|server| server.name != "ours")
        .collect();
    let has_ours = servers.iter().any(|server| server.name == "ours");
    let mut header = String::from("| scenario | metric |");
    let mut rule = String::from("| --- | --- |");
    for server in servers {
        let _ = write!(header, " {} |", server.label);
        rule.push_str(" ---: |");
    }
    if has_ours {
        for peer in &peers {
            let _ = write!(header, " ours / {} |", peer.name);
            rule.push_str(" ---: |");
        }
    }
    let _ = writeln!(md, "{header}\n{rule}");
    for spec in specs {
        for (index, metric) in metrics(spec.kind).iter().enumerate() {
            let title = if index == 0 { spec.title.as_str() } else { "" };
            let mut row = format!("| {title} | {} |", metric.label);
            let mut ours_value = None;
            for server in servers {
                let (text, value) = cell(find(results, server.name, &spec.id), metric);
                if server.name == "ours" {
                    ours_value = value;
                }
                let _ = write!(row, " {text} |");
            }
            if has_ours {
                for peer in &peers {
                    let (_, peer_value) = cell(find(results, peer.name, &spec.id), metric);
                    let ratio = match (ours_value, peer_value) {
                        (Some(ours), Some(peer)) if peer > 0.0 => format!("{:.2}×", ours / peer),
                        _ => "–".into(),
                    };
                    let _ = write!(row, " {ratio} |");
                }
            }
            let _ = writeln!(md, "{row}");
        }
    }

    if results.iter().any(|result| other_load(result) > NOISY) {
        let _ = writeln!(
            md,
            "\n† Other processes took more than {NOISY:.0} % of a core during that window, even after \
             retries (see the health table): its throughput and latency are not comparable; its \
             CPU per operation holds better."
        );
    }
    let _ = writeln!(md, "\n### Health of each run\n");
    let _ = writeln!(
        md,
        "CPU columns are % of one core over the measured window (the opening phase for idle \
         connections); for a cluster run, the first node + the second + Redis, all on CPU 0. \"Other load\" is what other processes took on CPU 0 / CPU 1 meanwhile \
         (near 0 on a quiet machine; kernel threads working for the benchmark, such as ksoftirqd \
         during bursts of handshakes, count here too). \"Bound by\" names what limited the run: \
         the server's core (≥ 90 %), the load generator's, other processes, or neither (a closed \
         loop that waits on latency). Errors are connect / closed / timed out. Per-client counts \
         show fairness (a client with far fewer round trips than the others is starved).\n"
    );
    let _ = writeln!(
        md,
        "| scenario | server | server CPU % | loadgen CPU % | other load % | bound by | connected | errors | per-client min–max | server log warnings | server survived |"
    );
    let _ = writeln!(
        md,
        "| --- | --- | ---: | ---: | ---: | --- | ---: | --- | --- | ---: | --- |"
    );
    for spec in specs {
        for server in servers {
            let Some(result) = find(results, server.name, &spec.id) else {
                continue;
            };
            if let Some(failed) = result.get("failed") {
                let _ = writeln!(
                    md,
                    "| {} | {} | failed: {} | | | | | | | |",
                    spec.id,
                    server.name,
                    failed.as_str().unwrap_or("?").replace('|', "/")
                );
                continue;
            }
            let pct = |value: &Value| value.as_f64().map_or("–".into(), |v| format!("{v:.0}"));
            let other = &result["other_load"];
            let errors = &result["errors"];
            let fairness = match (
                result["client_ops_min"].as_u64(),
                result["client_ops_max"].as_u64(),
            ) {
                (Some(min), Some(max)) if spec.kind != Kind::Idle => format!("{min}–{max}"),
                _ => "–".into(),
            };
            let server_pct = side_cpu_pcts(result)
                .iter()
                .map(|pct| format!("{pct:.0}"))
                .collect::<Vec<_>>()
                .join(" + ");
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} / {} | {} | {} | {} / {} / {} | {} | {} | {} |",
                spec.id,
                server.name,
                server_pct,
                pct(&result["loadgen_cpu_pct"]),
                pct(&other["other_on_server_cpus_pct"]),
                pct(&other["other_on_loadgen_cpus_pct"]),
                bound_by(result),
                result["connected"],
                errors["connect"],
                errors["closed"],
                errors["timeouts"],
                fairness,
                result["log_warnings"].as_array().map_or(0, Vec::len),
                if result["server_survived"].as_bool() == Some(false) {
                    "**no**"
                } else {
                    "yes"
                },
            );
        }
    }
    let notes: Vec<String> = results
        .iter()
        .filter_map(|result| {
            let first = result["errors"]["first"]
                .as_array()
                .filter(|first| !first.is_empty())?;
            Some(format!(
                "- {} / {}: {}",
                result["server"].as_str().unwrap_or("?"),
                result["spec"].as_str().unwrap_or("?"),
                first
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("; ")
                    .replace('|', "/")
            ))
        })
        .collect();
    if !notes.is_empty() {
        let _ = writeln!(
            md,
            "\nFirst errors seen by the clients:\n\n{}",
            notes.join("\n")
        );
    }
    let noisy: Vec<String> = results
        .iter()
        .filter(|result| result["quiet_before"].as_bool() == Some(false))
        .map(|result| {
            format!(
                "{} / {}",
                result["server"].as_str().unwrap_or("?"),
                result["spec"].as_str().unwrap_or("?")
            )
        })
        .collect();
    if !noisy.is_empty() {
        let _ = writeln!(
            md,
            "\nThe machine was not quiet before: {} (other processes were running; see \"other load\").",
            noisy.join(", ")
        );
    }
    md
}

/// For each cluster run: its CPU per broadcast, that of the same server's single-node
/// broadcast to as many receivers, and the difference.
fn add_cluster_costs(specs: &[Spec], results: &mut [Value]) {
    let per_broadcast = |result: &Value, keys: &[&str]| -> Option<f64> {
        let broadcasts = result["broadcasts"].as_f64().filter(|n| *n > 0.0)?;
        let mut cpu = 0.0;
        for key in keys {
            cpu += match &result[*key] {
                Value::Array(values) => values.iter().filter_map(Value::as_f64).sum(),
                value => value.as_f64()?,
            };
        }
        Some(cpu * 1e6 / broadcasts)
    };
    for spec in specs.iter().filter(|spec| spec.kind == Kind::Cluster) {
        let single_id = spec.id.trim_start_matches("cluster-").to_owned();
        for index in 0..results.len() {
            if results[index]["spec"] != spec.id.as_str() {
                continue;
            }
            let server = results[index]["server"].clone();
            let single = results
                .iter()
                .find(|result| result["spec"] == single_id.as_str() && result["server"] == server)
                .and_then(|result| per_broadcast(result, &["server_cpu_secs"]));
            let result = &mut results[index];
            let cluster = per_broadcast(result, &["server_cpu_secs", "extra_cpu_secs"]);
            let round = |value: f64| (value * 10.0).round() / 10.0;
            result["side_cpu_us_per_broadcast"] = json!(cluster.map(round));
            result["single_cpu_us_per_broadcast"] = json!(single.map(round));
            result["added_cpu_us_per_broadcast"] = json!(match (cluster, single) {
                (Some(cluster), Some(single)) => Some(round(cluster - single)),
                _ => None,
            });
        }
    }
}

fn main() {
    if let Err(err) = main_inner() {
        eprintln!("runner: {err}");
        std::process::exit(1);
    }
}

fn main_inner() -> Result<(), String> {
    let cli = parse_cli()?;
    let root = match &cli.root {
        Some(root) => root.clone(),
        None => {
            let cwd = std::env::current_dir().map_err(|err| err.to_string())?;
            if cwd.join("bench/Cargo.toml").exists() {
                cwd
            } else {
                PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            }
        }
    };
    let root = root
        .canonicalize()
        .map_err(|err| format!("{}: {err}", root.display()))?;
    let bench = root.join("bench");
    let out_dir = cli.out.clone().unwrap_or_else(|| bench.join("results"));
    let logs = out_dir.join("logs");
    fs::create_dir_all(&logs).map_err(|err| format!("{}: {err}", logs.display()))?;
    let nofile = raise_nofile();
    for tool in ["taskset", "getconf"] {
        if output("which", &[tool], &root).is_none() {
            return Err(format!("{tool} is needed (util-linux / libc-bin)"));
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if cores < 2 {
        return Err("two CPUs are needed: one for the server, one for the load generator".into());
    }

    if cli.build {
        run(
            "cargo",
            &[
                "build",
                "--release",
                "--manifest-path",
                "Cargo.toml",
                "-p",
                "example-echo",
            ],
            &root,
        )?;
        run(
            "cargo",
            &[
                "build",
                "--release",
                "--manifest-path",
                "bench/Cargo.toml",
                "-p",
                "loadgen",
                "-p",
                "socketioxide-echo",
            ],
            &root,
        )?;
    }
    let root_target = target_dir(&root.join("Cargo.toml"), &root)?;
    let bench_target = target_dir(&bench.join("Cargo.toml"), &root)?;
    let loadgen = bench_target.join("release/loadgen");
    if cli.servers.iter().any(|server| server == "node")
        && !bench
            .join("node/node_modules/socket.io/package.json")
            .exists()
    {
        run(
            "npm",
            &[
                "ci",
                "--prefix",
                "bench/node",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
            ],
            &root,
        )?;
    }
    let all_servers = [
        Server {
            name: "ours",
            label: "ours".into(),
            program: root_target.join("release/example-echo"),
            args: vec![],
            node: Some((root_target.join("release/echo-cluster"), vec![])),
        },
        Server {
            name: "socketioxide",
            label: "socketioxide".into(),
            program: bench_target.join("release/socketioxide-echo"),
            args: vec![],
            node: None,
        },
        Server {
            name: "node",
            label: "node socket.io".into(),
            program: PathBuf::from("node"),
            args: vec![
                bench
                    .join("node/echo-server.mjs")
                    .to_string_lossy()
                    .into_owned(),
            ],
            node: Some((
                PathBuf::from("node"),
                vec![
                    bench
                        .join("node/echo-server.mjs")
                        .to_string_lossy()
                        .into_owned(),
                ],
            )),
        },
    ];
    let servers: Vec<Server> = all_servers
        .iter()
        .filter(|server| cli.servers.iter().any(|name| name == server.name))
        .cloned()
        .collect();
    let specs: Vec<Spec> = specs(cli.quick)
        .into_iter()
        .filter(|spec| {
            cli.scenarios
                .as_ref()
                .is_none_or(|ids| ids.contains(&spec.id))
        })
        .collect();
    if specs.is_empty() {
        return Err("no scenario selected".into());
    }

    let command = std::env::var("BENCH_COMMAND")
        .unwrap_or_else(|_| std::env::args().collect::<Vec<_>>().join(" "));
    let mode = if cli.quick {
        "quick smoke run"
    } else {
        "full run"
    };
    let max_quiet_wait = cli
        .max_quiet_wait
        .unwrap_or(Duration::from_secs(if cli.quick { 5 } else { 60 }));
    let machine = machine(&root);
    let started = Instant::now();
    let mut results = Vec::new();
    let mut harness_failures = 0;
    let retries = cli.retries.unwrap_or(if cli.quick { 0 } else { 2 });
    // Waiting for a quiet machine and doing noisy runs again must not make the whole run
    // endless: they only spend the slack left in the budget.
    let budget = cli
        .budget
        .unwrap_or(Duration::from_secs(if cli.quick { 300 } else { 780 }));
    let rounds = cli.rounds;
    let mut remaining: Duration = specs
        .iter()
        .map(|spec| spec.estimate * servers.len() as u32 * rounds)
        .sum();
    let mut runs_left = specs.len() * servers.len() * rounds as usize;
    // Scenario by scenario, each server in turn: a noisy spell on the machine then hits
    // neighbours in the table rather than one server's whole column.
    for (spec, round) in specs
        .iter()
        .flat_map(|spec| (0..rounds).map(move |round| (spec, round)))
    {
        for server in &servers {
            if spec.kind == Kind::Cluster && server.node.is_none() {
                // Its Redis adapter speaks a format of its own, not Node's: no cluster of
                // the same contract to compare.
                remaining = remaining.saturating_sub(spec.estimate);
                runs_left -= 1;
                continue;
            }
            let mut attempt = 0;
            let mut result = loop {
                let slack = budget
                    .saturating_sub(started.elapsed())
                    .saturating_sub(remaining);
                let wait =
                    (slack / runs_left.max(1) as u32).clamp(Duration::from_secs(1), max_quiet_wait);
                let result = run_one(server, spec, &loadgen, &logs, wait, cores);
                let noise = other_load(&result);
                let slack = budget
                    .saturating_sub(started.elapsed())
                    .saturating_sub(remaining);
                if noise > NOISY
                    && attempt < retries
                    && result.get("failed").is_none()
                    && slack > spec.estimate * 3
                {
                    attempt += 1;
                    eprintln!(
                        "   other processes took {noise:.0}% of a core during the window: again"
                    );
                    continue;
                }
                break result;
            };
            remaining = remaining.saturating_sub(spec.estimate);
            runs_left -= 1;
            if result.get("failed").is_some() {
                harness_failures += 1;
            }
            result["round"] = json!(round);
            results.push(result);
        }
    }

    add_cluster_costs(&specs, &mut results);

    let codecs = if cli.codecs {
        wait_quiet(max_quiet_wait, cores);
        match run_codecs(&root, cli.quick) {
            Ok(table) => Some(table),
            Err(err) => {
                harness_failures += 1;
                eprintln!("codecs: {err}");
                Some(format!("failed: {err}"))
            }
        }
    } else {
        None
    };
    let shown = median_runs(&results, &specs, &servers);
    let mut markdown = render(&machine, &command, mode, &specs, &servers, &shown);
    if rounds > 1 {
        markdown.push_str(&render_rounds(&specs, &servers, &results, rounds));
    }
    if let Some(codecs) = &codecs {
        let _ = writeln!(
            markdown,
            "\n### Codec micro-benchmarks (`bench/codecs`, divan{}, pinned to CPU 1)\n\n```text\n{codecs}\n```",
            if cli.quick { ", 10 samples" } else { "" }
        );
    }
    println!("{markdown}");
    let stem = if cli.quick { "quick" } else { "latest" };
    let report = json!({
        "mode": mode,
        "command": command,
        "machine": machine,
        "nofile_limit": nofile,
        "elapsed_secs": started.elapsed().as_secs(),
        "scenarios": specs.iter().map(|spec| json!({ "id": spec.id, "title": spec.title, "loadgen_args": spec.args })).collect::<Vec<_>>(),
        "results": results,
        "codecs": codecs,
    });
    let json_text = serde_json::to_string_pretty(&report).map_err(|err| err.to_string())?;
    fs::write(out_dir.join(format!("{stem}.md")), &markdown).map_err(|err| err.to_string())?;
    fs::write(out_dir.join(format!("{stem}.json")), json_text + "\n")
        .map_err(|err| err.to_string())?;
    eprintln!(
        "wrote {} and {} in {} s",
        out_dir.join(format!("{stem}.md")).display(),
        out_dir.join(format!("{stem}.json")).display(),
        started.elapsed().as_secs()
    );
    if harness_failures > 0 {
        return Err(format!("{harness_failures} run(s) failed"));
    }
    Ok(())
}
