//! The client against memcache-testkit's model of memcached over in-memory streams:
//! pipelining, cancellation (what is and is not written), back-pressure, timeouts,
//! reconnecting, refused commands, tracing. No memcached needed.

mod common;

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Poll;
use std::time::{Duration, Instant};

use common::{Model, ModelConnect, join_all};
use memcache_codec::command::{Command, Get, MetaGet, Quit, Store};
use memcache_codec::response::MetaStatus;
use memcache_codec::{ConnectionError, EncodeError, Response};
use memcache_codec_tokio::{Client, Error};

/// Polls `future` once.
async fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *future).poll(cx))).await
}

async fn settle() {
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
}

#[tokio::test]
async fn commands_and_replies() {
    let model = Model::new();
    let client = Client::builder().open(model.stream());
    client.set("a", "alpha").await.unwrap();
    assert_eq!(
        client.get("a").await.unwrap().map(|v| v.data),
        Some("alpha".into())
    );
    assert_eq!(client.get("absent").await.unwrap(), None);
    assert!(client.gets("a").await.unwrap().unwrap().cas.is_some());
    assert!(!client.add("a", "again").await.unwrap());
    assert!(client.add("b", "beta").await.unwrap());
    assert!(client.replace("b", "BETA").await.unwrap());
    assert!(!client.replace("c", "x").await.unwrap());
    let values = client.get_multi(&["a", "c", "b"]).await.unwrap();
    let keys: Vec<&[u8]> = values.iter().map(|i| i.key).collect();
    assert_eq!(keys, [&b"a"[..], b"b"]);
    assert_eq!(client.incr("n", 1).await.unwrap(), None);
    client.set("n", "41").await.unwrap();
    assert_eq!(client.incr("n", 1).await.unwrap(), Some(42));
    assert_eq!(client.decr("n", 50).await.unwrap(), Some(0));
    assert!(client.delete("n").await.unwrap());
    assert!(!client.delete("n").await.unwrap());
    let exptime = memcache_codec::command::Exptime::in_seconds(100).unwrap();
    assert!(client.touch("a", exptime).await.unwrap());
    assert!(client.version().await.unwrap().starts_with("1.6"));

    // memcached's error line is Error::Server; the connection carries on.
    client.set("text", "abc").await.unwrap();
    assert!(matches!(
        client.incr("text", 1).await,
        Err(Error::Server(_))
    ));
    assert!(client.is_reusable());

    // Meta, a quiet batch, noreply behind a fence.
    let set = client
        .meta_set(&memcache_codec::command::MetaSet::new("m", "mv").return_cas())
        .await
        .unwrap();
    assert!(set.cas().is_some());
    let got = client
        .meta_get(&MetaGet::new("m").return_value())
        .await
        .unwrap();
    assert_eq!(got.value(), Some(&b"mv"[..]));
    let gets = [
        MetaGet::new("m").return_value(),
        MetaGet::new("nope").return_value(),
        MetaGet::new("a").return_value(),
    ];
    let replies = client.meta_get_many(&gets).await.unwrap();
    let statuses: Vec<_> = replies
        .into_iter()
        .map(|r| {
            let r = r.unwrap();
            (r.status, r.inferred)
        })
        .collect();
    assert_eq!(
        statuses,
        [
            (MetaStatus::Value, false),
            (MetaStatus::Miss, true),
            (MetaStatus::Value, false)
        ]
    );
    client.noreply(&Store::set("quiet", "q")).await.unwrap();
    client.noop().await.unwrap();
    assert!(client.get("quiet").await.unwrap().is_some());
}

#[tokio::test]
async fn a_refused_command_writes_nothing() {
    let model = Model::new();
    let client = Client::builder().open(model.stream());
    let refused = client.get("bad key").await;
    assert!(matches!(
        refused,
        Err(Error::Encode(EncodeError::InvalidKey { .. }))
    ));
    client.set("fine", "1").await.unwrap();
    assert!(!model.received().contains("bad"));

    // A pipeline sends the others, contiguously.
    let commands: [&(dyn Command + Sync); 3] =
        [&Store::set("p", "1"), &Get::new("bad key"), &Get::new("p")];
    let results = client.pipeline(&commands).await;
    assert!(matches!(results[0], Ok(Response::Stored)));
    assert!(matches!(results[1], Err(Error::Encode(_))));
    assert!(matches!(results[2], Ok(Response::Hit(_))));
    assert!(model.received().ends_with("set p 0 0 1\r\n1\r\nget p\r\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clones_pipeline_from_many_tasks() {
    let model = Model::new();
    let client = Client::builder().open(model.stream());
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let client = client.clone();
            tokio::spawn(async move {
                for i in 0..300 {
                    let key = format!("t{t}-{i}");
                    client.set(&key, &key).await.unwrap();
                    let got = client.get(&key).await.unwrap().unwrap();
                    assert_eq!(got.data, key.as_bytes());
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    // 256 gets in flight from one task, each with its own reply.
    let keys: Vec<String> = (0..256).map(|i| format!("t{}-{}", i % 8, i)).collect();
    let results = join_all(keys.iter().map(|k| client.get(k)).collect()).await;
    for (key, result) in keys.iter().zip(results) {
        assert_eq!(result.unwrap().unwrap().data, key.as_bytes());
    }
}

#[tokio::test]
async fn a_future_dropped_before_its_first_poll_sends_nothing() {
    let model = Model::new();
    let client = Client::builder().open(model.stream());
    let never = client.set("never-sent", "x");
    drop(never);
    client.set("sent", "y").await.unwrap();
    assert!(model.received().contains("sent"));
    assert!(!model.received().contains("never-sent"));
}

#[tokio::test]
async fn a_future_dropped_after_encoding_is_cancelled_and_its_reply_dropped() {
    let model = Model::new();
    let client = Client::builder().open(model.stream());
    client.set("a", "A").await.unwrap();
    client.set("b", "B").await.unwrap();
    model.pause(true);
    let mut first = Box::pin(client.get("a"));
    assert!(poll_once(&mut first).await.is_pending()); // encoded, handed to the task
    let second = client.get("b");
    settle().await;
    drop(first); // its reply has not arrived yet
    model.pause(false);
    assert_eq!(second.await.unwrap().unwrap().data, "B");
    assert!(model.received().contains("get a\r\nget b\r\n"));
    assert!(client.is_reusable());
    assert_eq!(client.get("a").await.unwrap().unwrap().data, "A");
}

#[tokio::test]
async fn futures_waiting_for_room_send_nothing_when_dropped() {
    // The model reads nothing and its stream buffers 512 bytes: the first value's
    // write blocks, the next command waits in the output buffer, and with
    // max_unsent(1) every later command waits unencoded.
    let model = Model::with_buffer(512);
    model.pause(true);
    let client = Client::builder().max_unsent(1).open(model.stream());
    let big = "x".repeat(4096);
    let first = tokio::spawn({
        let client = client.clone();
        async move { client.set("first", big).await }
    });
    settle().await;
    let second = tokio::spawn({
        let client = client.clone();
        async move { client.set("second", "2").await }
    });
    settle().await;
    // Waits for room: not encoded, and dropped by the timeout.
    let waited = tokio::time::timeout(Duration::from_millis(50), client.set("dropped", "3")).await;
    assert!(waited.is_err(), "it should still be waiting");
    model.pause(false);
    first.await.unwrap().unwrap();
    second.await.unwrap().unwrap();
    client.set("after", "4").await.unwrap();
    let received = model.received();
    assert!(received.contains("set second") && received.contains("set after"));
    assert!(!received.contains("dropped"), "{received}");
    assert_eq!(client.get("dropped").await.unwrap(), None);
}

#[tokio::test]
async fn futures_waiting_for_a_connection_send_nothing_when_dropped() {
    let model = Model::new();
    let mut connect = ModelConnect::new(&model);
    connect.hold = Arc::new(tokio::sync::Semaphore::new(0)); // attempts wait
    let client = Client::builder().connect_lazy(connect.clone());
    assert!(!client.is_reusable());
    let waited = tokio::time::timeout(Duration::from_millis(50), client.set("dropped", "x")).await;
    assert!(waited.is_err());
    connect.hold.add_permits(1000);
    client.set("kept", "y").await.unwrap();
    assert!(client.is_reusable());
    assert!(!model.received().contains("dropped"));
    assert_eq!(model.connects(), 1);
}

#[tokio::test]
async fn the_inactivity_timeout_fails_what_is_pending_then_it_reconnects_on_demand() {
    let model = Model::new();
    let timeout = Duration::from_millis(200);
    let client = Client::builder()
        .inactivity_timeout(Some(timeout))
        .connect(ModelConnect::new(&model))
        .await
        .unwrap();
    client.set("k", "v").await.unwrap();
    model.silence(true);
    let started = Instant::now();
    let (a, b) = tokio::join!(client.get("k"), client.get("k"));
    let elapsed = started.elapsed();
    for result in [a, b] {
        assert!(
            matches!(result, Err(Error::Connection(ConnectionError::Timeout))),
            "{result:?}"
        );
    }
    assert!(elapsed >= timeout && elapsed < timeout * 10, "{elapsed:?}");
    assert!(!client.is_reusable());
    model.silence(false);
    assert_eq!(client.get("k").await.unwrap().unwrap().data, "v");
    assert!(client.is_reusable());
    assert_eq!(model.connects(), 2);
}

#[tokio::test]
async fn a_failed_connect_fails_the_waiting_calls_and_the_next_call_tries_again() {
    let model = Model::new();
    let connect = ModelConnect::new(&model);
    connect.refuse.store(true, Ordering::SeqCst);
    let client = Client::builder().connect_lazy(connect.clone());
    let (a, b) = tokio::join!(client.get("k"), client.set("k", "v"));
    for result in [a.map(drop), b] {
        assert!(
            matches!(&result, Err(Error::Connect(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused),
            "{result:?}"
        );
    }
    connect.refuse.store(false, Ordering::SeqCst);
    client.set("k", "v").await.unwrap();
    assert!(!model.received().contains("get k"));
}

#[tokio::test]
async fn a_client_over_a_stream_cannot_reconnect() {
    let model = Model::new();
    let client = Client::builder().open(model.stream());
    assert_eq!(client.call(&Quit).await.unwrap(), Response::Closed);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(!client.is_reusable());
    assert!(matches!(
        client.get("k").await,
        Err(Error::Connection(ConnectionError::Closed))
    ));
    assert_eq!(model.connects(), 1);
}
