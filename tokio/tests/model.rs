//! The client against memcache-testkit's model of memcached over in-memory streams:
//! pipelining, cancellation (what is and is not written), back-pressure, timeouts,
//! reconnecting, refused commands, watches. No memcached needed.

mod common;

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Poll;
use std::time::{Duration, Instant};

use common::{Fleet, Model, ModelConnect, join_all};
use memcache_codec::command::{Command, Get, MetaGet, Quit, Store, Watch, WatchKind};
use memcache_codec::response::MetaStatus;
use memcache_codec::{ConnectionError, EncodeError, Response, ServerErrorKind};
use memcache_codec_tokio::{Client, Connect, Error};

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

const STORED_LINE: &str = "ts=1700000001.000100 gid=11 type=item_store key=user%3A1 status=stored cmd=set ttl=0 clsid=1 cfd=21 size=3";

#[tokio::test]
async fn a_watch_streams_log_lines_on_a_connection_of_its_own() {
    let fleet = Fleet::new();
    let client = Client::builder().connect(fleet.clone()).await.unwrap();
    client.set("k", "v").await.unwrap();
    let mut log = client
        .watch(
            &Watch::new()
                .kind(WatchKind::Mutations)
                .kind(WatchKind::Fetchers),
        )
        .await
        .unwrap();
    assert_eq!(fleet.connects(), 2);
    let watching = fleet.conn(1);
    assert_eq!(watching.received(), "watch fetchers mutations\r\n");

    watching.log(STORED_LINE);
    watching.log("[skipped: 3]");
    watching.log("ts=1700000001.000200 gid=13 type=item_get key=k status=found clsid=1 cfd=21");
    let line = log.next().await.unwrap().unwrap();
    assert_eq!(line.as_bytes(), STORED_LINE.as_bytes());
    assert_eq!(line.kind(), Some(&b"item_store"[..]));
    assert_eq!(line.key().as_deref(), Some(&b"user:1"[..]));
    assert_eq!(line.gid(), Some(11));
    assert_eq!(log.next().await.unwrap().unwrap().skipped(), Some(3));
    let line = log.next().await.unwrap().unwrap();
    assert_eq!(
        (line.gid(), line.get("status")),
        (Some(13), Some(&b"found"[..]))
    );

    // The client's own connection never saw the watch and carries on.
    assert_eq!(client.get("k").await.unwrap().unwrap().data, "v");
    assert!(!fleet.conn(0).received().contains("watch"));
    assert!(client.is_reusable());

    // The server hangs up: the error that ended the stream, then the end.
    watching.hang_up();
    assert!(matches!(
        log.next().await,
        Some(Err(Error::Connection(ConnectionError::Closed)))
    ));
    assert!(log.next().await.is_none());
    assert!(log.next().await.is_none());
    assert_eq!(fleet.connects(), 2);
}

#[tokio::test]
async fn a_watch_stream_is_a_stream() {
    use futures_core::{FusedStream, Stream};

    let fleet = Fleet::new();
    let client = Client::builder().connect_lazy(fleet.clone());
    let mut log = client.watch(&Watch::new()).await.unwrap();
    // The watch's connection is the first and only one: the client never
    // connected for itself.
    assert_eq!(fleet.connects(), 1);
    assert_eq!(fleet.conn(0).received(), "watch\r\n");
    fleet.conn(0).log(STORED_LINE);
    let next = poll_fn(|cx| Pin::new(&mut log).poll_next(cx)).await;
    assert_eq!(next.unwrap().unwrap().gid(), Some(11));
    assert!(
        poll_once(&mut Box::pin(
            poll_fn(|cx| Pin::new(&mut log).poll_next(cx))
        ))
        .await
        .is_pending()
    );
    fleet.conn(0).hang_up();
    let next = poll_fn(|cx| Pin::new(&mut log).poll_next(cx)).await;
    assert!(matches!(next, Some(Err(Error::Connection(_)))));
    assert!(!log.is_terminated());
    let next = poll_fn(|cx| Pin::new(&mut log).poll_next(cx)).await;
    assert!(next.is_none() && log.is_terminated());
}

#[tokio::test]
async fn call_and_pipeline_refuse_a_watch_and_send_nothing_of_it() {
    let model = Model::new();
    let client = Client::builder().open(model.stream());
    client.set("k", "v").await.unwrap();
    let refused = client.call(&Watch::new().kind(WatchKind::Mutations)).await;
    assert!(
        matches!(refused, Err(Error::WatchNeedsOwnConnection)),
        "{refused:?}"
    );
    let watch = Watch::new();
    let commands: [&(dyn Command + Sync); 3] = [&Store::set("p", "1"), &watch, &Get::new("p")];
    let results = client.pipeline(&commands).await;
    assert!(matches!(results[0], Ok(Response::Stored)));
    assert!(matches!(results[1], Err(Error::WatchNeedsOwnConnection)));
    assert!(matches!(results[2], Ok(Response::Hit(_))));
    assert!(!model.received().contains("watch"), "{}", model.received());
    assert!(model.received().ends_with("set p 0 0 1\r\n1\r\nget p\r\n"));
    // The connection is still a connection, not a log stream.
    assert_eq!(client.get("k").await.unwrap().unwrap().data, "v");
    assert!(client.is_reusable());
}

#[tokio::test]
async fn a_refused_watch_is_a_server_error() {
    let fleet = Fleet::with_options(memcache_testkit::Options {
        watch_enabled: false,
        ..Default::default()
    });
    let client = Client::builder().connect(fleet.clone()).await.unwrap();
    let refused = client.watch(&Watch::new()).await;
    let Err(Error::Server(e)) = refused else {
        panic!("{refused:?}");
    };
    assert_eq!(e.kind, ServerErrorKind::ClientError);
    assert_eq!(&e.message[..], b"watch commands not allowed");
    settle().await;
    assert!(
        fleet.conn(1).client_hung_up(),
        "the refused watch's connection is closed"
    );
    assert!(!fleet.conn(0).client_hung_up());
    client.set("k", "v").await.unwrap();
}

#[tokio::test]
async fn a_watching_connection_has_no_inactivity_timeout_but_its_ok_has() {
    let fleet = Fleet::new();
    let timeout = Duration::from_millis(100);
    let client = Client::builder()
        .inactivity_timeout(Some(timeout))
        .connect_lazy(fleet.clone());
    let mut log = client.watch(&Watch::new()).await.unwrap();
    tokio::time::sleep(timeout * 3).await;
    fleet.conn(0).log(STORED_LINE);
    assert_eq!(log.next().await.unwrap().unwrap().gid(), Some(11));

    // No OK within the timeout: the watch fails as any command would.
    fleet.silent.store(true, Ordering::SeqCst);
    let started = Instant::now();
    let timed_out = client.watch(&Watch::new()).await;
    assert!(
        matches!(timed_out, Err(Error::Connection(ConnectionError::Timeout))),
        "{timed_out:?}"
    );
    let elapsed = started.elapsed();
    assert!(elapsed >= timeout && elapsed < timeout * 20, "{elapsed:?}");
}

#[tokio::test]
async fn dropping_a_watch_stream_closes_its_connection() {
    let fleet = Fleet::new();
    let client = Client::builder().connect(fleet.clone()).await.unwrap();
    let log = client.watch(&Watch::new()).await.unwrap();
    settle().await;
    assert!(!fleet.conn(1).client_hung_up());
    drop(log);
    settle().await;
    assert!(fleet.conn(1).client_hung_up());
    assert!(!fleet.conn(0).client_hung_up());
    client.set("k", "v").await.unwrap();
}

#[tokio::test]
async fn a_client_over_a_stream_cannot_open_a_watch_but_a_builder_can_watch_a_stream() {
    let model = Model::new();
    let client = Client::builder().open(model.stream());
    let refused = client.watch(&Watch::new()).await;
    assert!(
        matches!(&refused, Err(Error::Connect(e)) if e.kind() == std::io::ErrorKind::Unsupported),
        "{refused:?}"
    );
    assert!(!model.received().contains("watch"));

    let fleet = Fleet::new();
    let stream = fleet.connect().await.unwrap();
    let mut log = Client::builder()
        .watch(stream, &Watch::new().kind(WatchKind::Evictions))
        .await
        .unwrap();
    assert_eq!(fleet.conn(0).received(), "watch evictions\r\n");
    fleet
        .conn(0)
        .log("ts=1.0 gid=1 type=eviction key=old ttl=0 la=2 clsid=1");
    assert_eq!(
        log.next().await.unwrap().unwrap().kind(),
        Some(&b"eviction"[..])
    );
}

// A caller alone on an idle connection writes and reads itself (no hop through the
// connection task); the tests below are about what must still hold then.

#[tokio::test]
async fn an_idle_connection_closed_by_the_server_is_noticed_after_calls_alone_on_it() {
    // The caller that read the last reply handed the stream back to the task, so
    // the end of stream is seen without a call: not reusable, and the next call
    // reconnects instead of failing.
    let fleet = Fleet::new();
    let client = Client::builder().connect(fleet.clone()).await.unwrap();
    for i in 0..5 {
        client.set("k", i.to_string()).await.unwrap();
        assert!(client.get("k").await.unwrap().is_some());
    }
    assert!(client.is_reusable());
    fleet.conn(0).hang_up();
    settle().await;
    assert!(!client.is_reusable(), "the end of stream went unnoticed");
    assert_eq!(client.get("k").await.unwrap(), None); // a new model, empty
    assert_eq!(fleet.connects(), 2);
    assert!(client.is_reusable());
}

#[tokio::test]
async fn a_call_alone_on_the_connection_still_times_out() {
    // Idle for half the timeout (the task's timer is still armed for the last
    // call), and for twice the timeout (it fired with nothing pending, disarmed).
    let model = Model::new();
    let timeout = Duration::from_millis(200);
    let client = Client::builder()
        .inactivity_timeout(Some(timeout))
        .connect(ModelConnect::new(&model))
        .await
        .unwrap();
    for idle in [timeout / 2, timeout * 2] {
        client.set("k", "v").await.unwrap();
        assert_eq!(client.get("k").await.unwrap().unwrap().data, "v");
        tokio::time::sleep(idle).await;
        model.silence(true);
        let started = Instant::now();
        let result = tokio::time::timeout(timeout * 10, client.get("k"))
            .await
            .expect("the inactivity timeout did not fire");
        let elapsed = started.elapsed();
        assert!(
            matches!(result, Err(Error::Connection(ConnectionError::Timeout))),
            "{result:?}"
        );
        assert!(elapsed >= timeout, "{elapsed:?}");
        model.silence(false);
        assert_eq!(client.get("k").await.unwrap().unwrap().data, "v");
    }
}

#[tokio::test]
async fn callers_joining_a_caller_alone_on_the_connection_are_answered() {
    let model = Model::new();
    let client = Client::builder().open(model.stream());
    for k in ["a", "b", "c"] {
        client.set(k, k.to_uppercase()).await.unwrap();
    }
    model.pause(true);
    let mut first = Box::pin(client.get("a"));
    assert!(poll_once(&mut first).await.is_pending()); // alone: written by itself
    let others = tokio::spawn({
        let client = client.clone();
        async move { tokio::join!(client.get("b"), client.get("c")) }
    });
    settle().await;
    model.pause(false);
    assert_eq!(first.await.unwrap().unwrap().data, "A");
    let (b, c) = others.await.unwrap();
    assert_eq!(
        (b.unwrap().unwrap().data, c.unwrap().unwrap().data),
        ("B".into(), "C".into())
    );
    assert!(model.received().ends_with("get a\r\nget b\r\nget c\r\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_alone_and_pipelined_from_two_threads_keep_their_replies() {
    // Sequential calls on two threads: each is alone on the connection, or joins
    // the other, in every interleaving the scheduler makes; a few are dropped
    // mid-flight, and a few noreply values too large for the stream's buffer
    // leave writes unfinished between polls.
    let model = Model::with_buffer(2048);
    let client = Client::builder().open(model.stream());
    let tasks: Vec<_> = (0..2)
        .map(|t| {
            let client = client.clone();
            tokio::spawn(async move {
                for i in 0..2000 {
                    let key = format!("t{t}-{}", i % 17);
                    if i % 97 == 0 {
                        let mut get = Box::pin(client.get(&key));
                        let _ = poll_once(&mut get).await;
                        drop(get);
                        continue;
                    }
                    if i % 89 == 0 {
                        let big = "b".repeat(5000 + i);
                        let key = format!("big{t}");
                        client.noreply(&Store::set(&key, &big)).await.unwrap();
                    }
                    client.set(&key, format!("{i}")).await.unwrap();
                    let got = client.get(&key).await.unwrap().unwrap();
                    assert_eq!(got.data, i.to_string());
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert!(client.is_reusable());
}

#[tokio::test]
async fn a_call_after_a_noreply_write_still_in_progress_is_written_too() {
    // Nothing is pending (noreply), but the connection is still writing: a call
    // then must not be taken for one alone on an idle connection.
    let model = Model::with_buffer(512);
    let client = Client::builder().open(model.stream());
    client.set("x", "y").await.unwrap();
    model.pause(true);
    let big = "z".repeat(8192);
    client.noreply(&Store::set("big", &big)).await.unwrap();
    settle().await; // the task wrote what the stream takes, and waits
    let get = tokio::spawn({
        let client = client.clone();
        async move { client.get("x").await }
    });
    settle().await;
    model.pause(false);
    let got = tokio::time::timeout(Duration::from_secs(5), get)
        .await
        .expect("the get was never written")
        .unwrap();
    assert_eq!(got.unwrap().unwrap().data, "y");
    assert_eq!(client.get("big").await.unwrap().unwrap().data, big);
}

/// A stream whose reads are scripted: each read returns the next chunk pushed (one
/// chunk per read, however many are queued), else waits (waking the last reader
/// when a chunk is pushed, as a socket does). Writes are accepted and kept.
#[derive(Debug, Clone, Default)]
struct Scripted(Arc<std::sync::Mutex<ScriptState>>);

#[derive(Debug, Default)]
struct ScriptState {
    chunks: std::collections::VecDeque<Vec<u8>>,
    reader: Option<std::task::Waker>,
    written: Vec<u8>,
}

impl Scripted {
    /// Queues a chunk; `wake`: wake the reader waiting for it.
    fn push(&self, chunk: &[u8], wake: bool) {
        let mut state = self.0.lock().unwrap();
        state.chunks.push_back(chunk.to_vec());
        let reader = state.reader.take().filter(|_| wake);
        drop(state);
        reader.into_iter().for_each(std::task::Waker::wake);
    }

    fn written(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap().written).into_owned()
    }
}

impl tokio::io::AsyncRead for Scripted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let mut state = self.0.lock().unwrap();
        match state.chunks.pop_front() {
            Some(chunk) => {
                buf.put_slice(&chunk);
                Poll::Ready(Ok(()))
            }
            None => {
                state.reader = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl tokio::io::AsyncWrite for Scripted {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.0.lock().unwrap().written.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A client over a [`Scripted`] stream, without an inactivity timeout (so a call
/// alone on it drives it), once its task polled the stream and waits.
async fn scripted_client() -> (Scripted, Client) {
    let stream = Scripted::default();
    let client = Client::builder()
        .inactivity_timeout(None)
        .open(stream.clone());
    settle().await;
    (stream, client)
}

/// A waker that counts its wakes.
#[derive(Debug, Default)]
struct Counting(std::sync::atomic::AtomicUsize);

impl std::task::Wake for Counting {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn bytes_that_poison_the_codec_right_after_a_lone_callers_reply_end_the_connection() {
    // The caller alone on the connection reads its reply, then reads once more to
    // hand the stream back to the task: what that read brings (here a line no
    // command asked for) poisons the codec, and the connection must be lost then,
    // not left up with a poisoned codec refusing every later call.
    let (stream, client) = scripted_client().await; // the task polled the stream once and waits
    stream.push(b"VALUE a 0 1\r\nA\r\nEND\r\n", false);
    stream.push(b"STORED\r\n", false);
    let got = client.get("a").await.unwrap().unwrap();
    assert_eq!(got.data, "A");
    assert_eq!(stream.written(), "get a\r\n");
    assert!(!client.is_reusable(), "a poisoned connection is still up");
    let next = client.get("a").await;
    assert!(
        matches!(next, Err(Error::Connection(ConnectionError::Decode(_)))),
        "{next:?}"
    );
}

#[tokio::test]
async fn a_lone_caller_polled_again_after_others_joined_leaves_the_reading_to_the_task() {
    // `a` is alone and reads nothing; `b` is sent (the task writes it and reads);
    // `a` is polled again but not after: the replies must still reach `b`, though
    // the stream wakes only whoever read it last.
    let (stream, client) = scripted_client().await;
    let mut a = Box::pin(client.get("a"));
    assert!(poll_once(&mut a).await.is_pending()); // alone: written by itself
    let b = tokio::spawn({
        let client = client.clone();
        async move { client.get("b").await }
    });
    settle().await; // the task wrote `get b` and waits for the stream
    assert_eq!(stream.written(), "get a\r\nget b\r\n");
    assert!(poll_once(&mut a).await.is_pending());
    stream.push(b"VALUE a 0 1\r\nA\r\nEND\r\n", true);
    stream.push(b"VALUE b 0 1\r\nB\r\nEND\r\n", true);
    let b = tokio::time::timeout(Duration::from_secs(5), b)
        .await
        .expect("b's reply was read by no one")
        .unwrap();
    assert_eq!(b.unwrap().unwrap().data, "B");
    assert_eq!(a.await.unwrap().unwrap().data, "A");
}

#[tokio::test]
async fn a_lone_callers_later_poll_with_another_waker_is_the_one_woken() {
    // A future polled once, then by another waker (moved into a set that polls
    // each future by its own waker, e.g. FuturesUnordered): when the task reads
    // its reply, the waker it wakes must be the last one.
    let (stream, client) = scripted_client().await;
    let mut a = Box::pin(client.get("a"));
    assert!(poll_once(&mut a).await.is_pending());
    let counting = Arc::new(Counting::default());
    let waker = std::task::Waker::from(Arc::clone(&counting));
    let polled = a.as_mut().poll(&mut std::task::Context::from_waker(&waker));
    assert!(polled.is_pending());
    let b = tokio::spawn({
        let client = client.clone();
        async move { client.get("b").await }
    });
    settle().await;
    stream.push(b"VALUE a 0 1\r\nA\r\nEND\r\n", true);
    stream.push(b"VALUE b 0 1\r\nB\r\nEND\r\n", true);
    let b = tokio::time::timeout(Duration::from_secs(5), b)
        .await
        .unwrap();
    assert_eq!(b.unwrap().unwrap().unwrap().data, "B");
    assert!(
        counting.0.load(Ordering::SeqCst) >= 1,
        "the waker of the future's last poll was not woken"
    );
    assert_eq!(a.await.unwrap().unwrap().data, "A");
}
