//! Many servers: three memcached behind one ketama ring, driven through the blocking
//! adapter (`examples/adapters/blocking.rs`), one connection and one codec per server.
//!
//! ```text
//! cargo run --example fleet
//! ```
//!
//! It talks to the first of these it finds, and says which:
//!
//! 1. `MEMCACHED_ADDRS=host:port,host:port,...` (any number of servers);
//! 2. three memcached started from `PATH` on free loopback ports (stopped on exit);
//! 3. three in-process models of memcached 1.6.18 (`memcache-testkit`), no socket.
//!
//! It stores keys on the servers the ring names, reads them back with one multi-get
//! per server and with quiet `mg` batches (merged into the caller's key order), and
//! shows what the two health policies do with the keys of a server that fails.

#[allow(dead_code)] // each target uses part of the adapter
#[path = "adapters/blocking.rs"]
mod blocking;
#[allow(dead_code)]
#[path = "adapters/memcached.rs"]
mod memcached;

use std::error::Error;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use blocking::{BlockingClient, Transport};
use memcache_codec::command::{GetMulti, MetaGet, Store};
use memcache_codec::distribution::{
    Distribution, HealthConfig, Mode, Outcome, Policy, Server, parse_servers,
};
use memcache_codec::{Config, Response};

fn main() -> Result<(), Box<dyn Error>> {
    let config = Config::DEFAULT.with_inactivity_timeout(Some(Duration::from_secs(5)));
    if let Ok(addrs) = std::env::var("MEMCACHED_ADDRS") {
        println!("fleet: the servers of MEMCACHED_ADDRS={addrs}");
        let servers = parse_servers(&addrs)?;
        let clients = connect(&servers, config)?;
        return tour(servers, clients);
    }
    let mut started = Vec::new();
    for _ in 0..3 {
        match memcached::Memcached::start(&[]) {
            Ok(server) => started.push(server),
            Err(e) if e.kind() == io::ErrorKind::NotFound => break,
            Err(e) => return Err(e.into()),
        }
    }
    if started.len() == 3 {
        println!("fleet: three memcached started from PATH (stopped on exit)");
        let servers = started
            .iter()
            .map(|m| Server::new(m.addr().ip().to_string(), m.addr().port()))
            .collect::<Result<Vec<_>, _>>()?;
        let clients = connect(&servers, config)?;
        return tour(servers, clients);
    }
    println!(
        "fleet: memcached not found (set MEMCACHED_ADDRS, or apt-get install memcached): \
         three in-process models of memcached 1.6.18 (memcache-testkit), no socket"
    );
    let servers = parse_servers("model-a:11211, model-b:11211, model-c:11211")?;
    let clients = servers
        .iter()
        .map(|_| BlockingClient::new(Model::default(), config))
        .collect();
    tour(servers, clients)
}

fn connect(servers: &[Server], config: Config) -> io::Result<Vec<BlockingClient>> {
    servers
        .iter()
        .map(|s| BlockingClient::connect(s.address(), config))
        .collect()
}

fn tour<S: Transport>(
    servers: Vec<Server>,
    mut clients: Vec<BlockingClient<S>>,
) -> Result<(), Box<dyn Error>> {
    // The mapping pylibmc, php-memcached and libmemcached use with ketama_weighted.
    let mut ring = Distribution::new(Mode::KetamaWeighted, servers)?;
    for (i, s) in ring.servers().iter().enumerate() {
        println!("  server {i}: {s}");
    }

    println!("\nset: each key on the server the ring names");
    let keys: Vec<String> = (1..=8).map(|i| format!("fleet-example:user:{i}")).collect();
    for key in &keys {
        let server = ring.route(key.as_bytes())?;
        let value = format!("profile of {key}");
        let stored = clients[server].call(&Store::set(key, &value))??;
        ring.record_success(server);
        println!("  {key} -> server {server}: {stored:?}");
    }

    println!("\nget: one multi-get per server, merged back into key order");
    let mut wanted = keys.clone();
    wanted.push("fleet-example:nobody".into());
    let split = ring.split(&wanted);
    let mut merge = split.merge_values(&wanted);
    for group in split.groups() {
        let mine = group.keys(&wanted);
        println!("  server {} <- get of {} keys", group.server(), mine.len());
        let result = clients[group.server()].call(&GetMulti::new(&mine))?;
        merge.add(group.server(), result)?;
    }
    for (key, outcome) in wanted.iter().zip(merge.outcomes()) {
        match outcome {
            Outcome::Done(Some(item)) => println!("  {key}: {:?}", item.value.data),
            Outcome::Done(None) => println!("  {key}: miss"),
            other => println!("  {key}: {other:?}"),
        }
    }

    println!("\nmg: a quiet batch per server (misses stay silent), merged the same way");
    let mut merge = split.merge_meta();
    for group in split.groups() {
        let client = &mut clients[group.server()];
        let gets: Vec<MetaGet<'_>> = group
            .keys(&wanted)
            .iter()
            .map(|k| MetaGet::new(k.as_str()).return_value())
            .collect();
        let batch = client.send_quiet_batch(&gets)?;
        // Completions come in send order: the mg's, then the fence.
        while let Some(completion) = client.recv() {
            let last = completion.token == batch.fence();
            merge.add(group.server(), &batch, completion)?;
            if last {
                break;
            }
        }
    }
    for (key, outcome) in wanted.iter().zip(merge.outcomes()) {
        if let Outcome::Done(reply) = outcome {
            println!("  {key}: {:?} {:?}", reply.status, reply.value());
        }
    }

    let victim = 1.min(ring.len() - 1);
    println!("\nhealth: server {victim} fails once (a timeout, say) with failure_limit 1");
    let t0 = Instant::now();
    let config = HealthConfig::DEFAULT
        .failure_limit(1)
        .retry_after(Duration::from_secs(2));
    for policy in [Policy::FailFast, Policy::Redistribute] {
        let mut sick = ring.clone().with_health(config.policy(policy));
        sick.record_failure(victim, t0);
        println!(
            "  {policy:?} (retry at +{:?}):",
            sick.poll_timeout().map(|t| t - t0)
        );
        for key in &keys {
            let home = sick.server_for(key.as_bytes());
            if home == victim {
                println!("    {key}: home {home} -> {:?}", sick.route(key.as_bytes()));
            }
        }
    }
    let mut sick = ring.clone().with_health(config);
    sick.record_failure(victim, t0);
    sick.handle_timeout(t0 + Duration::from_secs(2));
    println!(
        "  after the retry time: server {victim} is {:?}; a success makes it alive again",
        sick.state(victim)
    );

    // Leave the servers as found.
    for key in &keys {
        let server = ring.server_for(key.as_bytes());
        let deleted = clients[server].call(&memcache_codec::command::Delete::new(key))??;
        debug_assert!(matches!(deleted, Response::Deleted));
    }
    Ok(())
}

/// An in-process model as a byte stream: what is written is fed to the model, what
/// it answers is there to read (as in `examples/demo.rs`).
#[derive(Default)]
struct Model {
    server: memcache_testkit::Server,
    replies: Vec<u8>,
    timeout: Option<Duration>,
}

impl Write for Model {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.server.feed(buf, &mut self.replies);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for Model {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.replies.is_empty() {
            if self.server.is_closed() {
                return Ok(0);
            }
            std::thread::sleep(self.timeout.unwrap_or(Duration::from_secs(1)));
            return Err(io::ErrorKind::TimedOut.into());
        }
        let n = buf.len().min(self.replies.len());
        buf[..n].copy_from_slice(&self.replies[..n]);
        self.replies.drain(..n);
        Ok(n)
    }
}

impl Transport for Model {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.timeout = timeout;
        Ok(())
    }
}
