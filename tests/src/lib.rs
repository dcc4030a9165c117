//! Helpers for tests that drive this project's servers with the official JavaScript
//! peers: run a Node script from `tests/js`, read what it prints, wait for its end.

use std::{net::SocketAddr, path::PathBuf, process::Stdio, time::Duration};

use tokio::{
    io::{AsyncBufReadExt, BufReader, Lines},
    process::{Child, ChildStdout, Command},
};

/// The folder of the Node scripts and their `node_modules`.
pub fn js_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("js")
}

/// A server of ours run as its own process (a binary of this package, or any path),
/// reporting on stdout.
#[derive(Debug)]
pub struct ServerProcess {
    script: NodeScript,
    /// The port it listens on.
    pub port: u16,
}

impl ServerProcess {
    /// Starts `program args…`, which must print `listening <port>` first.
    pub async fn start(program: &str, args: &[&str]) -> Result<Self, String> {
        let mut command = Command::new(program);
        let child = command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut script = NodeScript::from_command(child).map_err(|err| err.to_string())?;
        let line = script
            .expect_line("listening ", Duration::from_secs(30))
            .await?;
        let port = line
            .trim_start_matches("listening ")
            .trim()
            .parse()
            .map_err(|err| format!("{line}: {err}"))?;
        Ok(Self { script, port })
    }

    /// The server's URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The output of the server, line by line.
    pub fn output(&mut self) -> &mut NodeScript {
        &mut self.script
    }

    /// Kills the server at once.
    pub async fn kill(self) -> std::io::Result<()> {
        self.script.kill().await
    }
}

/// A running Node script.
#[derive(Debug)]
pub struct NodeScript {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl NodeScript {
    /// Starts `node tests/js/<script> <args>`. Fails when Node or the npm packages are
    /// missing (`npm ci --prefix tests/js` installs them).
    pub fn spawn(script: &str, args: &[&str]) -> std::io::Result<Self> {
        let dir = js_dir();
        if !dir.join("node_modules").is_dir() {
            return Err(std::io::Error::other(format!(
                "{}/node_modules is missing: run `npm ci --prefix tests/js`",
                dir.display()
            )));
        }
        let mut command = Command::new("node");
        command
            .arg(dir.join(script))
            .args(args)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        Self::from_command(&mut command)
    }

    fn from_command(command: &mut Command) -> std::io::Result<Self> {
        let mut child = command.spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("no stdout"))?;
        Ok(Self {
            child,
            lines: BufReader::new(stdout).lines(),
        })
    }

    /// The next line the script prints, within `timeout`.
    pub async fn next_line(&mut self, timeout: Duration) -> Result<String, String> {
        match tokio::time::timeout(timeout, self.lines.next_line()).await {
            Ok(Ok(Some(line))) => Ok(line),
            Ok(Ok(None)) => Err("script ended without printing".to_owned()),
            Ok(Err(err)) => Err(err.to_string()),
            Err(_) => Err(format!("no line within {timeout:?}")),
        }
    }

    /// Waits for the line that starts with `prefix`, skipping others, within `timeout`.
    pub async fn expect_line(&mut self, prefix: &str, timeout: Duration) -> Result<String, String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let line = self.next_line(left).await?;
            if line.starts_with(prefix) {
                return Ok(line);
            }
        }
    }

    /// Waits for the script to exit within `timeout`; `Ok` when it exited with 0.
    pub async fn finish(mut self, timeout: Duration) -> Result<(), String> {
        let mut rest = Vec::new();
        let wait = async {
            while let Ok(Some(line)) = self.lines.next_line().await {
                rest.push(line);
            }
            self.child.wait().await
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => Err(format!("{status}; output: {rest:?}")),
            Ok(Err(err)) => Err(err.to_string()),
            Err(_) => Err(format!("still running after {timeout:?}; output: {rest:?}")),
        }
    }

    /// Kills the script at once (SIGKILL), as a crash or a pulled cable would.
    pub async fn kill(mut self) -> std::io::Result<()> {
        self.child.kill().await
    }
}

/// Serves an axum app on a free port of 127.0.0.1 until the test ends.
pub async fn serve(app: axum::Router) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

impl NodeScript {
    /// Stops the script without ending it (SIGSTOP): its connections stay open but it
    /// answers nothing, as a frozen or suspended peer.
    pub async fn freeze(&self) -> std::io::Result<()> {
        let pid = self
            .child
            .id()
            .ok_or_else(|| std::io::Error::other("script has exited"))?;
        let status = Command::new("kill")
            .args(["-STOP", &pid.to_string()])
            .status()
            .await?;
        if status.success() {
            Ok(())
        } else {
            Err(std::io::Error::other(format!("kill -STOP: {status}")))
        }
    }
}

/// A free port of 127.0.0.1 (bound, then released).
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Spawns `command` (killed when the child is dropped) and waits, 10 s at most, until
/// something accepts connections on 127.0.0.1:`port`.
pub async fn spawn_listening(mut command: Command, port: u16) -> std::io::Result<Child> {
    let child = command.kill_on_drop(true).spawn()?;
    let addr = format!("127.0.0.1:{port}");
    tokio::time::timeout(Duration::from_secs(10), async {
        while tokio::net::TcpStream::connect(&addr).await.is_err() {
            tokio::task::yield_now().await;
        }
    })
    .await
    .map_err(|_| std::io::Error::other(format!("nothing listens on {addr} after 10 s")))?;
    Ok(child)
}

/// A `redis-server` of a test's own, keeping nothing on disk; killed when dropped.
#[derive(Debug)]
pub struct PrivateRedis {
    /// The process.
    pub process: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl PrivateRedis {
    /// Starts one on a free port.
    pub async fn start() -> std::io::Result<Self> {
        let port = free_port()?;
        let mut command = Command::new("redis-server");
        command
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let process = spawn_listening(command, port).await?;
        Ok(Self { process, port })
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Sends a signal to the server (`-STOP` freezes it, `-CONT` wakes it).
    pub fn signal(&self, signal: &str) -> std::io::Result<()> {
        let pid = self
            .process
            .id()
            .ok_or_else(|| std::io::Error::other("redis-server has exited"))?;
        let status = std::process::Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(std::io::Error::other(format!("kill {signal}: {status}")))
        }
    }
}
