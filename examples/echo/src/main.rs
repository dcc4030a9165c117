//! `cargo run --release -p example-echo -- --port P [--ping-interval MS --ping-timeout MS
//! --connect-timeout MS --max-payload BYTES --recovery MS]`

use std::net::{Ipv4Addr, SocketAddr};

use example_echo::{Options, app, listen};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let (options, port) = Options::from_args(std::env::args().skip(1))?;
    // On one CPU (a small container, or a process pinned to a core), a single-threaded
    // runtime serves every connection in turn from one queue: no work stealing, and no
    // task left waiting in an overflow queue while the busy ones take turns.
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut runtime = if cpus == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    runtime.enable_all().build()?.block_on(async {
        let (app, _io) = app(&options)?;
        let listener = listen(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
        let addr = axum::serve::Listener::local_addr(&listener)?;
        tracing::info!("Socket.IO echo on http://{addr}/socket.io/");
        axum::serve(listener, app).await?;
        Ok(())
    })
}
