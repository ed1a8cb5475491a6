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

/// Connections to memcache-testkit's model, each with a model of its own (the model
/// serves one connection; a watch needs a second one): what each received, and a
/// way to hand a watching connection log lines or to hang up on it.
#[derive(Debug, Clone, Default)]
pub struct Fleet {
    options: memcache_testkit::Options,
    /// While true, new connections read but never answer.
    pub silent: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<FleetConn>>>,
}

/// One connection of a [`Fleet`].
#[derive(Debug, Clone)]
pub struct FleetConn {
    /// Log lines to write (`Some`), or hang up (`None`).
    inject: tokio::sync::mpsc::UnboundedSender<Option<Vec<u8>>>,
    received: Arc<Mutex<Vec<u8>>>,
    /// The client closed its end.
    hung_up: Arc<AtomicBool>,
}

impl FleetConn {
    /// Gives the watching connection a log line (memcached's format, without `\n`).
    pub fn log(&self, line: &str) {
        let _ = self.inject.send(Some(line.as_bytes().to_vec()));
    }

    /// Closes the connection from the server's side.
    pub fn hang_up(&self) {
        let _ = self.inject.send(None);
    }

    pub fn received(&self) -> String {
        String::from_utf8_lossy(&self.received.lock().unwrap()).into_owned()
    }

    /// Whether the client closed its end.
    pub fn client_hung_up(&self) -> bool {
        self.hung_up.load(Ordering::SeqCst)
    }
}

impl Fleet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Connections whose models run with `options`.
    pub fn with_options(options: memcache_testkit::Options) -> Self {
        Self {
            options,
            ..Self::default()
        }
    }

    /// Connection `i`, in connect order.
    pub fn conn(&self, i: usize) -> FleetConn {
        self.conns.lock().unwrap()[i].clone()
    }

    pub fn connects(&self) -> usize {
        self.conns.lock().unwrap().len()
    }

    fn open(&self) -> DuplexStream {
        let (client, mut end) = tokio::io::duplex(64 * 1024);
        let (inject, mut injected) = tokio::sync::mpsc::unbounded_channel();
        let conn = FleetConn {
            inject,
            received: Arc::default(),
            hung_up: Arc::default(),
        };
        self.conns.lock().unwrap().push(conn.clone());
        let mut server = memcache_testkit::Server::with_options(self.options.clone());
        let silent = self.silent.load(Ordering::SeqCst);
        tokio::spawn(async move {
            let mut buf = vec![0; 64 * 1024];
            loop {
                let mut out = Vec::new();
                tokio::select! {
                    read = end.read(&mut buf) => {
                        let n = match read {
                            Ok(0) | Err(_) => {
                                conn.hung_up.store(true, Ordering::SeqCst);
                                break;
                            }
                            Ok(n) => n,
                        };
                        conn.received.lock().unwrap().extend_from_slice(&buf[..n]);
                        if !silent {
                            server.feed(&buf[..n], &mut out);
                        }
                    }
                    line = injected.recv() => match line {
                        Some(Some(line)) => {
                            assert!(server.watch_log(&line), "not a watching connection");
                            server.feed(b"", &mut out);
                        }
                        Some(None) | None => break,
                    },
                }
                if end.write_all(&out).await.is_err() || server.is_closed() {
                    break;
                }
            }
        });
        client
    }
}

impl Connect for Fleet {
    type Stream = DuplexStream;

    async fn connect(&self) -> io::Result<DuplexStream> {
        Ok(self.open())
    }
}
