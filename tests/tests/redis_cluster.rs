//! Clusters joined by the Redis adapter, driven by the official `socket.io-client`
//! (`tests/js/redis-cluster.mjs`): three of our nodes; one of ours with one Node
//! `socket.io` 4.8 + `@socket.io/redis-adapter` 8.3 node; Redis restarted under two of
//! ours. Each test has a key prefix of its own on the shared Redis at 127.0.0.1:6379, or
//! a private `redis-server` on a free port.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use interop_tests::{NodeScript, PrivateRedis, ServerProcess, js_dir};

const NODE: &str = env!("CARGO_BIN_EXE_sio-redis-node");
const REDIS: &str = "redis://127.0.0.1:6379";
const LONG: Duration = Duration::from_secs(120);

/// A key prefix no other test (or run) uses.
fn key(test: &str) -> String {
    let nonce: u32 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or_default();
    format!("sio-test-{test}-{}-{nonce:x}", std::process::id())
}

/// One of our nodes, in adapter mode `mode` (see `sio-redis-node`).
async fn rust_node(name: &str, redis: &str, key: &str, mode: &str) -> ServerProcess {
    let args = [
        "--name", name, "--redis", redis, "--key", key, "--mode", mode,
    ];
    ServerProcess::start(NODE, &args).await.unwrap()
}

/// A Node node, in adapter mode `mode` (see `redis-node-server.mjs`).
async fn node_node(name: &str, redis: &str, key: &str, mode: &str) -> ServerProcess {
    let script = js_dir().join("redis-node-server.mjs");
    let script = script.to_str().unwrap();
    let args = [
        script, "--name", name, "--redis", redis, "--key", key, "--mode", mode,
    ];
    ServerProcess::start("node", &args).await.unwrap()
}

async fn drive(args: &[&str]) {
    NodeScript::spawn("redis-cluster.mjs", args)
        .unwrap()
        .finish(LONG)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_rust_nodes_share_rooms_broadcasts_requests_and_survive_a_killed_node() {
    let key = key("three");
    let a = rust_node("rust0", REDIS, &key, "classic").await;
    let b = rust_node("rust1", REDIS, &key, "classic").await;
    let c = rust_node("rust2", REDIS, &key, "classic").await;
    drive(&["cluster", &a.url(), &b.url(), &c.url()]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rust_node_and_a_node_js_node_form_one_cluster() {
    let key = key("mixed");
    let rust = rust_node("rust", REDIS, &key, "classic").await;
    let node = node_node("node", REDIS, &key, "classic").await;
    drive(&["mixed", &rust.url(), &node.url()]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_node_js_nodes_and_one_of_ours() {
    let key = key("mixed3");
    let first = node_node("node0", REDIS, &key, "classic").await;
    let rust = rust_node("rust", REDIS, &key, "classic").await;
    let second = node_node("node2", REDIS, &key, "classic").await;
    drive(&["mixed", &first.url(), &rust.url(), &second.url()]).await;
}

/// Every node answering on the requester's own response channel
/// (`publishOnSpecificResponseChannel`), Node's and ours.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_on_the_requesters_own_channel_with_node_js() {
    let key = key("specific");
    let rust = rust_node("rust", REDIS, &key, "classic-specific").await;
    let node = node_node("node", REDIS, &key, "classic-specific").await;
    let other = rust_node("rust2", REDIS, &key, "classic-specific").await;
    drive(&["mixed", &rust.url(), &node.url(), &other.url()]).await;
}

/// A private Redis on a free port, killed and started again by the driver.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traffic_resumes_after_redis_restarts() {
    restart_redis_under("classic").await;
}

/// The same in streams mode: the stream readers resume.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_traffic_resumes_after_redis_restarts() {
    restart_redis_under("streams").await;
}

async fn restart_redis_under(mode: &str) {
    let mut redis = PrivateRedis::start().await.expect("redis-server starts");
    let port = redis.port.to_string();
    let url = redis.url();
    let key = key(&format!("restart-{mode}"));
    let a = rust_node("rust0", &url, &key, mode).await;
    let b = rust_node("rust1", &url, &key, mode).await;
    let pid = redis.process.id().unwrap().to_string();
    let scenario = if mode == "classic" {
        "restart"
    } else {
        "restart-streams"
    };
    drive(&[scenario, &port, &pid, &a.url(), &b.url()]).await;
    let _ = redis.process.kill().await;
}

/// `@socket.io/redis-emitter` commands reach our node's clients and sockets; garbage,
/// unknown request types and responses to unknown requests on its channels are ignored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emitter_traffic_is_applied_and_hostile_input_ignored() {
    let key = key("emitter");
    let rust = rust_node("rust", REDIS, &key, "classic").await;
    NodeScript::spawn("redis-emitter.mjs", &[&rust.url(), REDIS, &key])
        .unwrap()
        .finish(LONG)
        .await
        .unwrap();
}

macro_rules! sharded {
    ($($test:ident: $mode:literal;)*) => {
        $(
            /// Sharded mode (SPUBLISH) with a Node node of `createShardedAdapter`.
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                let key = key(stringify!($test));
                let rust = rust_node("rust", REDIS, &key, $mode).await;
                let node = node_node("node", REDIS, &key, $mode).await;
                let other = rust_node("rust2", REDIS, &key, $mode).await;
                drive(&["sharded", &rust.url(), &node.url(), &other.url()]).await;
            }
        )*
    };
}

sharded! {
    sharded_dynamic_with_node_js: "sharded";
    sharded_static_with_node_js: "sharded-static";
    sharded_dynamic_private_with_node_js: "sharded-private";
}

/// Streams mode (`@socket.io/redis-streams-adapter` 0.3) with connection state recovery:
/// every scenario with a Node node between two of ours, each broadcast carrying the same
/// stream id on every node, and clients that drop from one node recovered on the next
/// (ours to Node's, Node's to ours, ours to ours).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_mode_with_node_js_and_recovery_across_nodes() {
    streams_with_node_js("streams").await;
}

/// The same with requests and responses over sharded pub/sub (`useShardedPubSub`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_mode_over_sharded_pubsub_with_node_js() {
    streams_with_node_js("streams-sharded").await;
}

async fn streams_with_node_js(mode: &str) {
    let key = key(mode);
    let rust = rust_node("rust", REDIS, &key, mode).await;
    let node = node_node("node", REDIS, &key, mode).await;
    let other = rust_node("rust2", REDIS, &key, mode).await;
    drive(&[
        "streams",
        REDIS,
        &key,
        &rust.url(),
        &node.url(),
        &other.url(),
    ])
    .await;
}

/// Streams mode: garbage in the stream and on the channels is logged and ignored, and
/// traffic goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_mode_ignores_hostile_entries() {
    let key = key("streams-hostile");
    let a = rust_node("rust0", REDIS, &key, "streams").await;
    let b = rust_node("rust1", REDIS, &key, "streams").await;
    drive(&["streams-hostile", REDIS, &key, &a.url(), &b.url()]).await;
}
