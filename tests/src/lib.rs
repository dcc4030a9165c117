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
        let mut child = Command::new("node")
            .arg(dir.join(script))
            .args(args)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()?;
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
