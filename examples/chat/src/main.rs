//! `cargo run --release -p example-chat [-- --port P]`; `scripts/chat` installs the
//! browser client from npm first.
#![allow(clippy::print_stdout)]

use std::net::{Ipv4Addr, SocketAddr};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let mut args = std::env::args().skip(1);
    let port = match (args.next().as_deref(), args.next()) {
        (Some("--port"), Some(port)) => port.parse()?,
        (None, _) => 3000,
        _ => return Err("usage: example-chat [--port P]".into()),
    };
    let dir = example_chat::example_dir();
    if !dir.join("node_modules/socket.io-client").is_dir() {
        return Err(
            "the browser client is missing: run `npm ci --prefix examples/chat` (or scripts/chat)"
                .into(),
        );
    }
    let (app, _io) = example_chat::app(&dir);
    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
    println!(
        "Chat on http://{}/ : open it in two browser windows",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}
