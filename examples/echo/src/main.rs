//! `cargo run --release -p example-echo -- --port P [--ping-interval MS --ping-timeout MS
//! --connect-timeout MS --max-payload BYTES --recovery MS] [--redis URL]`
//!
//! With `--redis`, the server is a cluster node: it joins the others on that Redis (key
//! `socket.io`, the classic adapter) and listens once it is subscribed.

use std::net::{Ipv4Addr, SocketAddr};

use example_echo::{Options, builder, custom_namespace, listen, main_namespace, mount};
use socketio_redis::{RedisAdapter, RedisAdapterConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let redis = match args.iter().position(|arg| arg == "--redis") {
        Some(at) if at + 1 < args.len() => Some(args.drain(at..at + 2).nth(1).unwrap_or_default()),
        Some(_) => return Err("--redis needs a value".into()),
        None => None,
    };
    let (options, port) = Options::from_args(args)?;
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
        let (app, _io) = match redis {
            Some(url) => {
                let adapter = RedisAdapter::connect(&url, RedisAdapterConfig::default()).await?;
                let builder = builder(&options).adapter(adapter.clone());
                let mounted = mount(builder, main_namespace(), custom_namespace())?;
                adapter.subscribed("/").await;
                mounted
            }
            None => mount(builder(&options), main_namespace(), custom_namespace())?,
        };
        let listener = listen(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
        let addr = axum::serve::Listener::local_addr(&listener)?;
        tracing::info!("Socket.IO echo on http://{addr}/socket.io/");
        axum::serve(listener, app).await?;
        Ok(())
    })
}
