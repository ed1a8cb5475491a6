//! Finding a real server for each live test, and the skip policy.
//!
//! * `MEMCACHED_ADDR=host:port`: tests run against that server, one at a time (some
//!   flush it or reset its stats), each under its own key prefix.
//! * Otherwise each test starts its own memcached from `PATH` on a free loopback port
//!   and kills it by pid when done, so tests run in parallel.
//! * Fault tests (kill, SIGSTOP, shutdown) always start their own process.
//! * No memcached: with `CI=true` the tests fail; otherwise they print a loud
//!   "skipped" line and pass, so `cargo test` works on a fresh machine.

use std::io::{ErrorKind, Write as _};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, Once, PoisonError};
use std::time::Duration;

use memcache_codec::command::{Command, Stats};
use memcache_codec::response::Item;
use memcache_codec::{CommandError, Config, Response, ServerErrorKind};

use crate::blocking::BlockingClient;
use crate::memcached::Memcached;

/// The inactivity timeout of test clients: generous for a loaded machine, and what
/// keeps any test from hanging.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);

/// The client configuration tests use.
pub(crate) fn config() -> Config {
    Config::DEFAULT.with_inactivity_timeout(Some(TIMEOUT))
}

/// A server one test talks to.
#[derive(Debug)]
pub(crate) enum Server {
    /// This test's own memcached.
    Own(Memcached),
    /// `MEMCACHED_ADDR`, held exclusively for the test.
    Shared {
        addr: SocketAddr,
        _turn: MutexGuard<'static, ()>,
    },
}

impl Server {
    pub(crate) fn addr(&self) -> SocketAddr {
        match self {
            Self::Own(server) => server.addr(),
            Self::Shared { addr, .. } => *addr,
        }
    }

    /// A blocking client with the test configuration.
    pub(crate) fn client(&self) -> BlockingClient {
        BlockingClient::connect(self.addr(), config()).expect("connect to memcached")
    }
}

/// The server for a test: `MEMCACHED_ADDR`, else a memcached of its own; `None` means
/// skip (never under `CI=true`).
pub(crate) fn server() -> Option<Server> {
    if let Some(addr) = std::env::var("MEMCACHED_ADDR")
        .ok()
        .filter(|a| !a.is_empty())
    {
        static TURN: Mutex<()> = Mutex::new(());
        let turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
        let addr = addr
            .to_socket_addrs()
            .ok()
            .and_then(|mut addrs| addrs.next())
            .unwrap_or_else(|| panic!("MEMCACHED_ADDR={addr} is not a host:port"));
        return Some(Server::Shared { addr, _turn: turn });
    }
    own_server(&[]).map(Server::Own)
}

/// A memcached this test starts itself with `extra` arguments (fault tests need the
/// pid); `None` means skip (never under `CI=true`).
pub(crate) fn own_server(extra: &[&str]) -> Option<Memcached> {
    match Memcached::start(extra) {
        Ok(server) => Some(server),
        Err(e) if e.kind() == ErrorKind::NotFound => {
            unavailable();
            None
        }
        Err(e) => panic!("memcached is installed but did not start: {e}"),
    }
}

fn unavailable() {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !ci,
        "CI=true but memcached was not found on PATH: the live tests need it \
         (apt-get install memcached, or set MEMCACHED_ADDR=host:port)"
    );
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Straight to the process's stderr: the test harness captures `eprintln!`.
        let _ = writeln!(
            std::io::stderr(),
            "\n{bar}\n!!! live tests skipped: memcached not found (apt-get install memcached)\n\
             !!! or point them at a server: MEMCACHED_ADDR=host:port cargo test\n{bar}\n",
            bar = "!".repeat(78)
        );
    });
}

/// A key prefix no other test or earlier run uses: `<test>-<pid>-<n>-`.
pub(crate) fn prefix(test: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{test}-{}-{}{nanos}-",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Sends `command` and returns its reply, failing the test on any error.
#[track_caller]
pub(crate) fn ok<C: Command + ?Sized>(client: &mut BlockingClient, command: &C) -> Response {
    match client.call(command) {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => panic!("command failed: {e:?}"),
        Err(e) => panic!("command refused: {e:?}"),
    }
}

/// The error line memcached answered `command` with: its kind and message.
#[track_caller]
pub(crate) fn server_error(
    client: &mut BlockingClient,
    command: &dyn Command,
) -> (ServerErrorKind, String) {
    match client.call(command).expect("sent") {
        Err(CommandError::Server(e)) => (e.kind, String::from_utf8_lossy(&e.message).into_owned()),
        other => panic!("expected an error line, got {other:?}"),
    }
}

/// Sends a multi-key retrieval and returns its items in wire order.
#[track_caller]
pub(crate) fn values_of<C: Command + ?Sized>(
    client: &mut BlockingClient,
    command: &C,
) -> Vec<Item> {
    match ok(client, command) {
        Response::Items(values) => values.into_vec(),
        other => panic!("expected values, got {other:?}"),
    }
}

/// One `stats <arg>` value (`stats settings` → `item_size_max`, ...).
#[track_caller]
pub(crate) fn stat(client: &mut BlockingClient, arg: Option<&str>, name: &str) -> String {
    let command = arg.map_or_else(Stats::new, Stats::arg);
    let Response::Stats(stats) = ok(client, &command) else {
        panic!("stats {arg:?} did not return STAT lines");
    };
    stats
        .iter()
        .find(|s| s.name == name.as_bytes())
        .map(|s| String::from_utf8_lossy(s.value).into_owned())
        .unwrap_or_else(|| panic!("no stat {name}"))
}
