//! `examples/cluster` behind nginx (Debian's package) with its `ip_hash` sticky sessions:
//! the official client connects over polling, upgrades to WebSocket and stays on its node,
//! and hears what a client of another node says (`tests/js/cluster-nginx.mjs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{process::Stdio, time::Duration};

use interop_tests::{NodeScript, free_port, serve, spawn_listening};

const NGINX_CONF: &str = include_str!("../../examples/cluster/nginx.conf");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cluster_example_behind_nginx_keeps_each_client_on_its_node() {
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or_default();
    let key = format!("sio-test-nginx-{}-{nonce:x}", std::process::id());
    let redis = "redis://127.0.0.1:6379";
    let (one, _io1) = example_cluster::node("node-1", redis, &key).await.unwrap();
    let (two, _io2) = example_cluster::node("node-2", redis, &key).await.unwrap();
    let one = serve(one).await.unwrap();
    let two = serve(two).await.unwrap();

    let port = free_port().unwrap();
    let dir = std::env::temp_dir().join(format!("sio-nginx-{}-{nonce:x}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dir_text = dir.to_str().unwrap();
    let conf = NGINX_CONF
        .replace("__DIR__", dir_text)
        .replace("__PORT__", &port.to_string())
        .replace("__NODE1__", &one.port().to_string())
        .replace("__NODE2__", &two.port().to_string());
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let error_log = dir.join("error.log");
    let mut nginx = tokio::process::Command::new("nginx");
    nginx
        .arg("-c")
        .arg(&conf_path)
        .arg("-p")
        .arg(&dir)
        .arg("-e")
        .arg(&error_log)
        // One process: killing it when the test ends leaves no worker behind.
        .args(["-g", "master_process off;"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let _nginx = spawn_listening(nginx, port)
        .await
        .expect("nginx is installed and listens");
    let addr = format!("127.0.0.1:{port}");

    let result = NodeScript::spawn(
        "cluster-nginx.mjs",
        &[&format!("http://{addr}"), &format!("http://{two}")],
    )
    .unwrap()
    .finish(Duration::from_secs(60))
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    result.unwrap();
}
