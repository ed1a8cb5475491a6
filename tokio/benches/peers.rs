//! End to end against a real memcached on loopback: this client beside the clients
//! users would pick instead, `async-memcached` 0.9 and `memcache` (rust-memcache)
//! 0.21, on the same workload, runs interleaved, medians reported.
//!
//! `cargo bench -p memcache-codec-tokio --bench peers`; `BENCH_ROUNDS` (default 5)
//! and `BENCH_SECS` (seconds per run, default 1) change the length, `BENCH_ONLY`
//! runs only the modes whose name contains it, `BENCH_CLIENT` only the clients whose
//! name contains it or one of its comma-separated words (e.g. to profile one client
//! alone), and `BENCH_VERBOSE` prints every run.
//!
//! * memcached `-t 1` (one worker thread: the server is the bottleneck at depth),
//!   started with `taskset -c 1`; this process pins itself to core 0 (when the
//!   machine has two cores and `taskset` exists).
//! * Every client runs on one thread (tokio's current-thread runtime; `memcache`
//!   is blocking). Client CPU is `getrusage(RUSAGE_SELF)` user + system over the
//!   run: the server is another process. Server CPU is read from `/proc`.
//! * 32-byte values; every get hits. Modes: one get in flight; 64 separate gets in
//!   flight (64 tasks on one connection; the peers cannot pipeline separate calls);
//!   a multi-get of 64 keys, one in flight; 8 multi-gets of 64 keys in flight on one
//!   connection (this client only). `raw` is the ceiling: a blocking loop that keeps
//!   64 precomputed `get`s in flight and only counts `END\r\n`s.

#![allow(unsafe_code)] // getrusage

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_memcached::AsciiProtocol as _;
use memcache_codec_tokio::Client;

const VALUE: &[u8; 32] = b"0123456789abcdef0123456789abcdef";
const KEYS: usize = 64;
const DEPTH: usize = 64;
const MULTI_DEPTH: usize = 8;

fn key(i: usize) -> String {
    format!("bench:key:{i:04}")
}

/// Client CPU (user + system) of this process so far.
fn cpu() -> Duration {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage; RUSAGE_SELF is a valid `who`.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    assert_eq!(rc, 0, "getrusage");
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// A process's CPU (user + system) from `/proc/<pid>/stat`, in clock ticks of 10 ms.
fn process_cpu(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // Fields 14 and 15 (utime, stime), counted from the state at index 0 = field 3.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

struct Memcached {
    child: Child,
    addr: String,
    dir: std::path::PathBuf,
}

impl Memcached {
    fn start(pin: bool) -> Option<Self> {
        let dir = std::env::temp_dir().join(format!("memcache-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok()?;
        let port_file = dir.join("port");
        let mut command = if pin {
            let mut c = Command::new("taskset");
            c.args(["-c", "1", "memcached"]);
            c
        } else {
            Command::new("memcached")
        };
        command
            .args([
                "-t",
                "1",
                "-p",
                "-1",
                "-U",
                "0",
                "-l",
                "127.0.0.1",
                "-u",
                "root",
            ])
            .args(["-m", "64", "-c", "1024"])
            .env("MEMCACHED_PORT_FILENAME", &port_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = command.spawn().ok()?;
        let mut server = Self {
            child,
            addr: String::new(),
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let text = std::fs::read_to_string(&port_file).unwrap_or_default();
            if let Some(port) = text.lines().find_map(|l| l.strip_prefix("TCP INET: ")) {
                server.addr = format!("127.0.0.1:{}", port.trim());
                return Some(server);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        None
    }
}

impl Drop for Memcached {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One run: keys answered, wall time, client CPU, server CPU.
#[derive(Debug, Clone, Copy)]
struct Run {
    keys: u64,
    wall: Duration,
    cpu: Duration,
    server: Duration,
}

impl Run {
    fn keys_per_sec(&self) -> f64 {
        self.keys as f64 / self.wall.as_secs_f64()
    }
    fn cpu_per_key_us(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.keys as f64
    }
    fn server_busy(&self) -> f64 {
        self.server.as_secs_f64() / self.wall.as_secs_f64()
    }
}

/// Measures `body`, which runs until `stop` is set and returns the keys answered.
fn measure(pid: u32, secs: f64, body: &mut dyn FnMut(Arc<AtomicBool>) -> u64) -> Run {
    let stop = Arc::new(AtomicBool::new(false));
    let timer = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs_f64(secs));
            stop.store(true, Ordering::Relaxed);
        })
    };
    let (cpu0, server0, wall0) = (cpu(), process_cpu(pid), Instant::now());
    let keys = body(stop);
    let (cpu1, server1, wall1) = (cpu(), process_cpu(pid), Instant::now());
    timer.join().unwrap();
    Run {
        keys,
        wall: wall1 - wall0,
        cpu: cpu1 - cpu0,
        server: server1.saturating_sub(server0),
    }
}

/// The ceiling: keeps `depth` gets in flight with no client work but counting.
fn raw(addr: &str, depth: usize, stop: &AtomicBool) -> u64 {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    let gets: Vec<Vec<u8>> = (0..KEYS)
        .map(|i| format!("get {}\r\n", key(i)).into_bytes())
        .collect();
    let mut batch = Vec::new();
    for i in 0..depth {
        batch.extend_from_slice(&gets[i % KEYS]);
    }
    stream.write_all(&batch).unwrap();
    let (mut in_flight, mut done, mut next) = (depth, 0u64, depth);
    let mut buf = vec![0u8; 256 * 1024];
    let mut carry = 0usize; // bytes of a partial "END\r\n" kept at the front
    let finder = memchr::memmem::Finder::new(b"END\r\n");
    while in_flight > 0 {
        let n = stream.read(&mut buf[carry..]).unwrap();
        assert!(n > 0, "memcached closed");
        let end = carry + n;
        let mut completed = 0;
        let mut last = 0;
        for at in finder.find_iter(&buf[..end]) {
            completed += 1;
            last = at + 5;
        }
        // Keep the tail that could be the start of an END.
        let keep = (end - last).min(4);
        buf.copy_within(end - keep..end, 0);
        carry = keep;
        in_flight -= completed;
        done += completed as u64;
        if !stop.load(Ordering::Relaxed) {
            batch.clear();
            for _ in 0..completed {
                batch.extend_from_slice(&gets[next % KEYS]);
                next += 1;
            }
            stream.write_all(&batch).unwrap();
            in_flight += completed;
        }
    }
    done
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() {
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let secs: f64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.0);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let taskset = Command::new("taskset")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    let pin = cores >= 2 && taskset;
    if pin {
        let pid = std::process::id().to_string();
        let _ = Command::new("taskset")
            .args(["-a", "-p", "-c", "0", &pid])
            .stdout(Stdio::null())
            .status();
    }
    let Some(server) = Memcached::start(pin) else {
        println!("peers bench skipped: memcached not found (apt-get install memcached)");
        return;
    };
    let pid = server.child.id();
    let addr = server.addr.clone();
    println!(
        "memcached -t 1 on {addr} (pid {pid}); {}; {rounds} rounds of {secs} s per run",
        if pin {
            "server on core 1, client on core 0"
        } else {
            "not pinned"
        }
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let keys: Vec<String> = (0..KEYS).map(key).collect();

    let ours = rt.block_on(async {
        let client = Client::connect(addr.clone()).await.unwrap();
        for k in &keys {
            client.set(k, VALUE).await.unwrap();
        }
        client
    });
    let mut am = rt
        .block_on(async_memcached::Client::new(format!("tcp://{addr}")))
        .unwrap();
    let mc = memcache::Client::connect(format!("memcache://{addr}?tcp_nodelay=true")).unwrap();
    let manager = memcache::ConnectionManager::new(
        memcache::Url::parse(&format!("memcache://{addr}?tcp_nodelay=true")).unwrap(),
    );
    let pool = r2d2::Pool::builder()
        .max_size(1)
        .test_on_check_out(false)
        .build(manager)
        .unwrap();
    let mc_unchecked = memcache::Client::with_pool(pool).unwrap();
    let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();

    type Cell = (&'static str, &'static str); // (mode, client)
    let mut results: Vec<(Cell, Vec<Run>)> = Vec::new();
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    let only_client = std::env::var("BENCH_CLIENT").unwrap_or_default();
    let verbose = std::env::var_os("BENCH_VERBOSE").is_some();
    let wanted = |(mode, client): Cell| {
        mode.contains(only.as_str()) && only_client.split(',').any(|c| client.contains(c))
    };
    let mut record = |cell: Cell, run: &mut dyn FnMut(Arc<AtomicBool>) -> u64| {
        if !wanted(cell) {
            return;
        }
        let run = measure(pid, secs, run);
        if verbose {
            eprintln!("{cell:?}: {run:?}");
        }
        match results.iter_mut().find(|(c, _)| *c == cell) {
            Some((_, runs)) => runs.push(run),
            None => results.push((cell, vec![run])),
        }
    };

    for round in 0..rounds {
        eprintln!("round {}/{rounds}", round + 1);
        // 1 in flight.
        record(("1 in flight", "memcache-codec-tokio"), &mut |stop| {
            rt.block_on(async {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let v = ours.get(&keys[n as usize % KEYS]).await.unwrap();
                    assert!(v.is_some());
                    n += 1;
                }
                n
            })
        });
        record(("1 in flight", "async-memcached 0.9"), &mut |stop| {
            rt.block_on(async {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let v = am.get(&keys[n as usize % KEYS]).await.unwrap();
                    assert!(v.is_some());
                    n += 1;
                }
                n
            })
        });
        record(("1 in flight", "memcache 0.21"), &mut |stop| {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let v: Option<Vec<u8>> = mc.get(&keys[n as usize % KEYS]).unwrap();
                assert!(v.is_some());
                n += 1;
            }
            n
        });
        record(
            ("1 in flight", "memcache 0.21, no version check"),
            &mut |stop| {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let v: Option<Vec<u8>> = mc_unchecked.get(&keys[n as usize % KEYS]).unwrap();
                    assert!(v.is_some());
                    n += 1;
                }
                n
            },
        );
        // 64 separate gets in flight.
        record(
            ("64 separate gets in flight", "memcache-codec-tokio"),
            &mut |stop| {
                rt.block_on(async {
                    let tasks: Vec<_> = (0..DEPTH)
                        .map(|t| {
                            let (client, stop, key) =
                                (ours.clone(), Arc::clone(&stop), keys[t % KEYS].clone());
                            tokio::spawn(async move {
                                let mut n = 0u64;
                                while !stop.load(Ordering::Relaxed) {
                                    assert!(client.get(&key).await.unwrap().is_some());
                                    n += 1;
                                }
                                n
                            })
                        })
                        .collect();
                    let mut n = 0;
                    for task in tasks {
                        n += task.await.unwrap();
                    }
                    n
                })
            },
        );
        record(("64 separate gets in flight", "raw ceiling"), &mut |stop| {
            raw(&addr, DEPTH, &stop)
        });
        // A multi-get of 64 keys, one in flight.
        record(
            ("multi-get of 64 keys", "memcache-codec-tokio"),
            &mut |stop| {
                rt.block_on(async {
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        assert_eq!(ours.get_multi(&keys).await.unwrap().len(), KEYS);
                        n += KEYS as u64;
                    }
                    n
                })
            },
        );
        record(
            ("multi-get of 64 keys", "async-memcached 0.9"),
            &mut |stop| {
                rt.block_on(async {
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        assert_eq!(am.get_multi(&keys).await.unwrap().len(), KEYS);
                        n += KEYS as u64;
                    }
                    n
                })
            },
        );
        record(
            ("multi-get of 64 keys", "memcache 0.21, no version check"),
            &mut |stop| {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let map: std::collections::HashMap<String, Vec<u8>> =
                        mc_unchecked.gets(&key_refs).unwrap();
                    assert_eq!(map.len(), KEYS);
                    n += KEYS as u64;
                }
                n
            },
        );
        // Several multi-gets in flight on one connection.
        record(
            ("8 multi-gets of 64 keys in flight", "memcache-codec-tokio"),
            &mut |stop| {
                rt.block_on(async {
                    let tasks: Vec<_> = (0..MULTI_DEPTH)
                        .map(|_| {
                            let (client, stop, keys) =
                                (ours.clone(), Arc::clone(&stop), keys.clone());
                            tokio::spawn(async move {
                                let mut n = 0u64;
                                while !stop.load(Ordering::Relaxed) {
                                    assert_eq!(client.get_multi(&keys).await.unwrap().len(), KEYS);
                                    n += KEYS as u64;
                                }
                                n
                            })
                        })
                        .collect();
                    let mut n = 0;
                    for task in tasks {
                        n += task.await.unwrap();
                    }
                    n
                })
            },
        );
    }

    println!("\n| mode | client | keys/s | client CPU/key | server CPU busy |");
    println!("|---|---|---:|---:|---:|");
    for ((mode, client), runs) in &results {
        let rate = median(runs.iter().map(Run::keys_per_sec).collect());
        let cpu = median(runs.iter().map(Run::cpu_per_key_us).collect());
        let busy = median(runs.iter().map(Run::server_busy).collect());
        let rate = if rate >= 1e6 {
            format!("{:.2} M", rate / 1e6)
        } else {
            format!("{:.0} k", rate / 1e3)
        };
        println!(
            "| {mode} | {client} | {rate} | {cpu:.3} µs | {:.0} % |",
            busy * 100.0
        );
    }
    drop(server);
}
