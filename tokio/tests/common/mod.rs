//! Shared by the test files: memcache-testkit's model of memcached served over an
//! in-memory stream (with a log of every byte it received, and switches to stop it
//! reading or answering), and real memcached processes for the live tests.

#![allow(dead_code, unreachable_pub)] // each test file uses part of it

use std::io::{self, ErrorKind, Write as _};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use memcache_codec_tokio::Connect;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::watch;

#[path = "../../../examples/adapters/memcached.rs"]
pub mod memcached;

/// The inactivity timeout of test clients: generous for a loaded machine, and what
/// keeps a test from hanging.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// memcache-testkit's model of memcached 1.6.18, served over in-memory streams.
#[derive(Debug)]
pub struct Model {
    server: Mutex<memcache_testkit::Server>,
    /// Every byte any connection sent to the model, in order.
    received: Mutex<Vec<u8>>,
    /// While true, the model reads nothing (the stream's buffer fills up).
    paused: watch::Sender<bool>,
    /// While true, the model reads but never answers.
    silent: AtomicBool,
    /// Streams opened so far.
    connects: AtomicUsize,
    /// The in-memory stream's buffer size.
    buffer: usize,
}

impl Model {
    pub fn new() -> Arc<Self> {
        Self::with_buffer(64 * 1024)
    }

    /// A model whose streams buffer `buffer` bytes each way.
    pub fn with_buffer(buffer: usize) -> Arc<Self> {
        Arc::new(Self {
            server: Mutex::new(memcache_testkit::Server::new()),
            received: Mutex::new(Vec::new()),
            paused: watch::channel(false).0,
            silent: AtomicBool::new(false),
            connects: AtomicUsize::new(0),
            buffer,
        })
    }

    /// A new connection to the model (same store); the model's side runs in a task.
    pub fn stream(self: &Arc<Self>) -> DuplexStream {
        let (client, mut end) = tokio::io::duplex(self.buffer);
        self.connects.fetch_add(1, Ordering::SeqCst);
        self.server.lock().unwrap().reconnect();
        let model = Arc::clone(self);
        tokio::spawn(async move {
            let mut paused = model.paused.subscribe();
            let mut buf = vec![0; 64 * 1024];
            loop {
                if paused.wait_for(|p| !*p).await.is_err() {
                    break;
                }
                let n = match end.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                model.received.lock().unwrap().extend_from_slice(&buf[..n]);
                if model.silent.load(Ordering::SeqCst) {
                    continue;
                }
                let mut out = Vec::new();
                let closed = {
                    let mut server = model.server.lock().unwrap();
                    server.feed(&buf[..n], &mut out);
                    server.is_closed()
                };
                if end.write_all(&out).await.is_err() || closed {
                    break;
                }
            }
        });
        client
    }

    /// What the model received, as text.
    pub fn received(&self) -> String {
        String::from_utf8_lossy(&self.received.lock().unwrap()).into_owned()
    }

    pub fn pause(&self, paused: bool) {
        self.paused.send_replace(paused);
    }

    pub fn silence(&self, silent: bool) {
        self.silent.store(silent, Ordering::SeqCst);
    }

    pub fn connects(&self) -> usize {
        self.connects.load(Ordering::SeqCst)
    }
}

/// Connects to a [`Model`]; `hold` keeps attempts waiting until released, `refuse`
/// makes them fail.
#[derive(Debug, Clone)]
pub struct ModelConnect {
    pub model: Arc<Model>,
    pub hold: Arc<tokio::sync::Semaphore>,
    pub refuse: Arc<AtomicBool>,
}

impl ModelConnect {
    pub fn new(model: &Arc<Model>) -> Self {
        Self {
            model: Arc::clone(model),
            hold: Arc::new(tokio::sync::Semaphore::new(
                tokio::sync::Semaphore::MAX_PERMITS,
            )),
            refuse: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl Connect for ModelConnect {
    type Stream = DuplexStream;

    async fn connect(&self) -> io::Result<DuplexStream> {
        let _permit = self.hold.acquire().await.expect("never closed");
        if self.refuse.load(Ordering::SeqCst) {
            return Err(ErrorKind::ConnectionRefused.into());
        }
        Ok(self.model.stream())
    }
}

/// A memcached of this test's own, started with `extra` arguments; `None` means skip
/// (never under `CI=true`).
pub fn memcached(extra: &[&str]) -> Option<memcached::Memcached> {
    match memcached::Memcached::start(extra) {
        Ok(server) => Some(server),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            unavailable("memcached not found (apt-get install memcached)");
            None
        }
        Err(e) => panic!("memcached is installed but did not start: {e}"),
    }
}

/// The server of a live test: `MEMCACHED_ADDR` if set, else a memcached of its own.
pub fn live_addr() -> Option<(String, Option<memcached::Memcached>)> {
    if let Some(addr) = std::env::var("MEMCACHED_ADDR")
        .ok()
        .filter(|a| !a.is_empty())
    {
        return Some((addr, None));
    }
    let server = memcached(&[])?;
    Some((server.addr().to_string(), Some(server)))
}

/// Skips loudly, or fails under `CI=true`.
pub fn unavailable(why: &str) {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(!ci, "CI=true but {why}: the live tests need it");
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = writeln!(
            io::stderr(),
            "\n{bar}\n!!! live tests skipped: {why}\n{bar}\n",
            bar = "!".repeat(78)
        );
    });
}

/// A key prefix no other test or run uses.
pub fn prefix(test: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{test}-{}-{}{nanos}-",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs `futures` at once (each is polled as soon as the join is).
pub async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    use std::task::Poll;
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, o) in futures.iter_mut().zip(&mut outputs) {
            if o.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *o = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}
