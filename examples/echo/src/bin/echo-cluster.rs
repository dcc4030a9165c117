//! The echo server as a cluster node, joined to the others through Redis (the classic
//! adapter, key `socket.io`); it listens once it is subscribed. A binary of its own, so
//! that the plain echo server does not carry the Redis client.
//!
//! `cargo run --release -p example-echo --bin echo-cluster -- --redis URL --port P
//! [the echo server's options]`

use example_echo::{Options, builder, custom_namespace, main_namespace, mount, run};
use socketio_redis::{RedisAdapter, RedisAdapterConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let url = match args.iter().position(|arg| arg == "--redis") {
        Some(at) if at + 1 < args.len() => args.drain(at..at + 2).nth(1).unwrap_or_default(),
        _ => return Err("--redis URL is required".into()),
    };
    let (options, port) = Options::from_args(args)?;
    run(port, || async {
        let adapter = RedisAdapter::connect(&url, RedisAdapterConfig::default()).await?;
        let builder = builder(&options).adapter(adapter.clone());
        let (app, _io) = mount(builder, main_namespace(), custom_namespace())?;
        adapter.subscribed("/").await;
        Ok(app)
    })
}
