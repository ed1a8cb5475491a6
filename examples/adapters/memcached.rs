//! A private memcached for the examples and the live tests: started from `PATH` on a
//! free loopback port, killed by its pid when dropped (also when a test panics).
//!
//! memcached picks the port itself: `-p -1` asks for an ephemeral one, and it writes
//! `TCP INET: <port>` to the file named by `MEMCACHED_PORT_FILENAME` (written under a
//! temporary name and renamed, so the file is never seen half written). `-p 0` does
//! not pick a port.

use std::fs;
use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How long memcached gets to write its port file.
const STARTUP: Duration = Duration::from_secs(10);

/// A memcached process this program started, and the directory holding its port file
/// and log.
#[derive(Debug)]
pub(crate) struct Memcached {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Memcached {
    /// Runs `memcached -p -1 -U 0 -l 127.0.0.1 -u root <extra>` (TCP only, loopback
    /// only; `-u root` is needed when running as root and ignored otherwise) and waits
    /// until it listens. An error of kind `NotFound` means memcached is not installed.
    pub(crate) fn start(extra: &[&str]) -> io::Result<Self> {
        static STARTED: AtomicU32 = AtomicU32::new(0);
        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("memcache-codec-{}-{n}", std::process::id()));
        fs::create_dir_all(&dir)?;
        let log = fs::File::create(dir.join("stderr"))?;
        let port_file = dir.join("port");
        let child = Command::new("memcached")
            .args(["-p", "-1", "-U", "0", "-l", "127.0.0.1", "-u", "root"])
            .args(extra)
            .env("MEMCACHED_PORT_FILENAME", &port_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn();
        let child = match child {
            Ok(child) => child,
            Err(e) => {
                let _ = fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        // From here on, dropping `server` kills the process and removes the directory.
        let mut server = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            dir,
        };
        let deadline = Instant::now() + STARTUP;
        loop {
            let text = fs::read_to_string(&port_file).unwrap_or_default();
            let port = text
                .lines()
                .find_map(|line| line.strip_prefix("TCP INET: "))
                .and_then(|port| port.trim().parse::<u16>().ok());
            if let Some(port) = port {
                server.addr.set_port(port);
                return Ok(server);
            }
            if let Some(status) = server.child.try_wait()? {
                let log = fs::read_to_string(server.dir.join("stderr")).unwrap_or_default();
                return Err(io::Error::other(format!(
                    "memcached exited at startup ({status}): {}",
                    log.trim()
                )));
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    ErrorKind::TimedOut,
                    format!("memcached wrote no port file within {STARTUP:?}"),
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Where it listens.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (`"STOP"`, `"CONT"`, `"KILL"`, ...) to this process only, with
    /// `kill(1)`.
    pub(crate) fn signal(&self, signal: &str) -> io::Result<()> {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()?;
        if status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "kill -{signal} {} failed: {status}",
                self.pid()
            )))
        }
    }

    /// Stops the process (SIGSTOP) and waits until every thread has stopped: a stop is
    /// carried out by one thread waking the others, and meanwhile a busy worker thread
    /// can still answer. Reads `/proc`, so Linux only.
    pub(crate) fn pause(&self) -> io::Result<()> {
        self.signal("STOP")?;
        let tasks = PathBuf::from(format!("/proc/{}/task", self.pid()));
        let deadline = Instant::now() + STARTUP;
        loop {
            let mut all_stopped = true;
            for task in fs::read_dir(&tasks)? {
                let stat = fs::read_to_string(task?.path().join("stat")).unwrap_or_default();
                // "pid (comm) S ...": the state follows the last ')'.
                let state = stat
                    .rsplit_once(')')
                    .and_then(|(_, rest)| rest.trim_start().chars().next());
                all_stopped &= matches!(state, Some('T' | 't'));
            }
            if all_stopped {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    ErrorKind::TimedOut,
                    "memcached did not stop",
                ));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Lets a paused process run again (SIGCONT).
    pub(crate) fn resume(&self) -> io::Result<()> {
        self.signal("CONT")
    }

    /// Waits up to `timeout` for the process to exit by itself.
    pub(crate) fn wait_exit(&mut self, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(Some(status));
            }
            if Instant::now() > deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Memcached {
    fn drop(&mut self) {
        // SIGKILL ends a stopped process too; `wait` reaps it.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The server an example talks to.
#[derive(Debug)]
pub(crate) enum Server {
    /// `MEMCACHED_ADDR`.
    Given(String),
    /// A memcached started from `PATH`.
    Started(Memcached),
}

impl Server {
    /// `MEMCACHED_ADDR` if it is set, else a memcached started from `PATH`; `None` if
    /// memcached is not installed.
    pub(crate) fn from_env() -> io::Result<Option<Self>> {
        if let Some(addr) = std::env::var_os("MEMCACHED_ADDR") {
            let addr = addr.into_string().map_err(|_| {
                io::Error::new(ErrorKind::InvalidInput, "MEMCACHED_ADDR is not UTF-8")
            })?;
            return Ok(Some(Self::Given(addr)));
        }
        match Memcached::start(&[]) {
            Ok(server) => Ok(Some(Self::Started(server))),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The address to connect to.
    pub(crate) fn addr(&self) -> String {
        match self {
            Self::Given(addr) => addr.clone(),
            Self::Started(server) => server.addr().to_string(),
        }
    }

    /// One line saying which server this is.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Given(addr) => format!("memcached at {addr} (from MEMCACHED_ADDR)"),
            Self::Started(server) => format!(
                "memcached started from PATH on {} (pid {}, stopped on exit)",
                server.addr(),
                server.pid()
            ),
        }
    }
}
