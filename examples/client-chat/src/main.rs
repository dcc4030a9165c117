//! `cargo run -p example-client-chat -- --name alice [--url http://127.0.0.1:3000]`: chat
//! from the terminal with the people on the chat page (`scripts/chat`). Type a line and
//! press Enter to send it; Ctrl-D quits.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut url = "http://127.0.0.1:3000".to_owned();
    let mut name = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next()) {
            ("--url", Some(value)) => url = value,
            ("--name", Some(value)) => name = Some(value),
            _ => return Err("usage: example-client-chat --name NAME [--url URL]".into()),
        }
    }
    let name = name.ok_or("usage: example-client-chat --name NAME [--url URL]")?;
    let (lines, mut shown) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(line) = shown.recv().await {
            println!("{line}");
        }
    });
    let socket = example_client_chat::join(&url, &name, lines).await?;
    let mut input = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = input.next_line().await? {
        let line = line.trim();
        if !line.is_empty() {
            example_client_chat::send(&socket, line)?;
        }
    }
    socket.disconnect();
    Ok(())
}
