//! `cargo run -p example-cluster -- --name NAME --port P [--redis URL] [--key PREFIX]`:
//! one cluster node on 127.0.0.1:P; prints `listening <port>` once it is subscribed.
#![allow(clippy::print_stdout)]

use std::net::{Ipv4Addr, SocketAddr};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|arg| arg == name)
        .and_then(|at| args.get(at + 1))
        .cloned()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = arg(&args, "--name").unwrap_or_else(|| "node".to_owned());
    let port: u16 = arg(&args, "--port").map_or(Ok(0), |port| port.parse())?;
    let redis = arg(&args, "--redis").unwrap_or_else(|| "redis://127.0.0.1:6379".to_owned());
    let key = arg(&args, "--key").unwrap_or_else(|| "socket.io".to_owned());
    let (app, _io) = example_cluster::node(&name, &redis, &key).await?;
    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    println!("listening {}", listener.local_addr()?.port());
    axum::serve(listener, app).await?;
    Ok(())
}
