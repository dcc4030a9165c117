//! A Redis that stops answering: what the adapter queues for it is bounded, and refused
//! past the bound at once; when Redis answers again, what was queued goes out and new
//! traffic flows. Runs a private `redis-server`, paused with SIGSTOP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use futures_util::FutureExt;
use interop_tests::PrivateRedis;
use socketio_redis::{RedisAdapter, RedisAdapterConfig};
use socketio_server::{
    Args, Namespace, SocketIo,
    adapter::{Adapter, BroadcastOptions},
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_waits_for_a_silent_redis_is_bounded_and_goes_out_when_it_answers() {
    let redis = PrivateRedis::start().await.expect("redis-server starts");
    let config = RedisAdapterConfig::default().max_queued(50);
    let adapter = RedisAdapter::connect(&redis.url(), config).await.unwrap();
    let (_layer, io) = SocketIo::builder()
        .adapter(adapter.clone())
        .build()
        .unwrap();
    io.ns("/", Namespace::new());
    adapter.subscribed("/").await;
    let opts = BroadcastOptions::default();
    let args = |n: u64| Args::from_values(vec![n.into()]);
    // Answered while Redis runs.
    Adapter::broadcast(&adapter, "/", "e", &args(0), &opts)
        .await
        .unwrap();

    redis.signal("-STOP").unwrap();
    let mut waiting = Vec::new();
    let mut refused = 0;
    for n in 1..=200 {
        let mut sent = Adapter::broadcast(&adapter, "/", "e", &args(n), &opts);
        match (&mut sent).now_or_never() {
            Some(Err(_)) => refused += 1,
            Some(Ok(())) => panic!("published while Redis is stopped"),
            None => waiting.push(sent),
        }
    }
    assert_eq!(waiting.len(), 50, "the bound");
    assert_eq!(refused, 150);

    redis.signal("-CONT").unwrap();
    tokio::time::timeout(Duration::from_secs(20), async {
        for sent in waiting {
            sent.await.unwrap();
        }
    })
    .await
    .expect("what was queued goes out");
    Adapter::broadcast(&adapter, "/", "e", &args(201), &opts)
        .await
        .unwrap();
    adapter.close().await;
}
