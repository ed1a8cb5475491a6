//! A short tour of the codec: set, get, cas, incr, multi-get, stats and the meta
//! protocol, printing every byte sent (`>>>`) and received (`<<<`) and what each
//! command completed with (`=>`).
//!
//! `cargo run --example demo` talks to the first of these it finds, and says which in
//! its first line:
//!
//! 1. the server at `MEMCACHED_ADDR=host:port`;
//! 2. a memcached started from `PATH` on a free loopback port (stopped on exit);
//! 3. the in-process reference model of memcached 1.6.18 (`memcache-testkit`): the
//!    bytes go codec -> `Server::feed` -> codec, with no socket at all.
//!
//! In every mode the commands go through the blocking adapter of
//! `examples/adapters/blocking.rs`, over a stream that prints what passes.

#[allow(dead_code)] // each target uses part of the adapter
#[path = "adapters/blocking.rs"]
mod blocking;
#[allow(dead_code)]
#[path = "adapters/memcached.rs"]
mod memcached;

use std::error::Error;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use blocking::{BlockingClient, Transport};
use memcache_codec::command::Arithmetic;
use memcache_codec::command::{
    Command, Exptime, Get, GetMulti, MetaArithmetic, MetaDelete, MetaGet, MetaSet, Quit, Stats,
    Store,
};
use memcache_codec::response::{MetaResponse, Ttl};
use memcache_codec::{CommandError, Config, Response};

fn main() -> Result<(), Box<dyn Error>> {
    let config = Config::DEFAULT.with_inactivity_timeout(Some(Duration::from_secs(5)));
    let found = memcached::Server::from_env();
    match &found {
        Ok(Some(server)) => {
            println!("demo: talking to {}", server.describe());
            let stream = TcpStream::connect(server.addr())
                .map_err(|e| format!("cannot connect to {}: {e}", server.addr()))?;
            stream.set_nodelay(true)?;
            stream.set_write_timeout(config.inactivity_timeout)?;
            tour(&mut BlockingClient::new(Traced(stream), config))
        }
        Ok(None) | Err(_) => {
            let why = match &found {
                Err(e) => format!("memcached from PATH did not start ({e})"),
                _ => {
                    "memcached not found (set MEMCACHED_ADDR, or apt-get install memcached)".into()
                }
            };
            println!(
                "demo: {why}: talking to the in-process model of memcached 1.6.18 \
                 (memcache-testkit), no socket"
            );
            let model = Model {
                server: memcache_testkit::Server::new(),
                replies: Vec::new(),
                timeout: None,
            };
            tour(&mut BlockingClient::new(Traced(model), config))
        }
    }
}

/// The commands of the tour, one at a time (and one batch).
fn tour<S: Transport>(client: &mut BlockingClient<Traced<S>>) -> Result<(), Box<dyn Error>> {
    step(
        client,
        "store a value with client flags",
        &Store::set("demo:greeting", "hello").client_flags(7),
    )?;
    step(client, "read it back", &Get::new("demo:greeting"))?;
    let Ok(Response::Hit(value)) = ask(
        client,
        "read it with its cas unique",
        &Get::new("demo:greeting").with_cas(),
    )?
    else {
        return Err("gets missed".into());
    };
    let unique = value.cas.ok_or("gets returned no cas")?;
    step(
        client,
        "compare-and-swap with that unique",
        &Store::cas("demo:greeting", "hello, world", unique),
    )?;
    step(
        client,
        "the same unique again: the item changed since",
        &Store::cas("demo:greeting", "too late", unique),
    )?;
    step(client, "a counter", &Store::set("demo:visits", "41"))?;
    step(client, "incr", &Arithmetic::incr("demo:visits", 1))?;
    let keys = ["demo:greeting", "demo:nobody", "demo:visits"];
    step(
        client,
        "multi-get: hits in request order, misses left out",
        &GetMulti::new(&keys),
    )?;
    step(client, "server statistics", &Stats::new())?;
    let minute = Exptime::in_seconds(60)?;
    let set = MetaSet::new("demo:meta", "via meta")
        .client_flags(3)
        .ttl(minute)
        .return_cas();
    step(client, "meta set with flags and a TTL", &set)?;
    let get = MetaGet::new("demo:meta")
        .return_value()
        .return_client_flags()
        .return_ttl()
        .return_cas();
    step(client, "meta get: value, flags, TTL and cas", &get)?;
    step(
        client,
        "meta arithmetic",
        &MetaArithmetic::incr("demo:visits", 10).return_value(),
    )?;
    step(client, "meta delete", &MetaDelete::new("demo:greeting"))?;

    println!("\n-- quiet meta gets and their mn fence, one write: misses stay silent");
    let gets = keys.map(|k| MetaGet::new(k).return_value());
    let batch = client.send_quiet_batch(&gets)?;
    client.flush()?;
    for (key, token) in keys.iter().zip(batch.tokens()) {
        println!("=> {key}: {}", show(&client.wait(token)));
    }
    println!("=> fence: {}", show(&client.wait(batch.fence())));

    step(client, "quit: the server closes the connection", &Quit)?;
    Ok(())
}

/// Sends one command, waits for it, prints the outcome and returns it.
fn ask<S: Transport, C: Command + ?Sized>(
    client: &mut BlockingClient<Traced<S>>,
    title: &str,
    command: &C,
) -> Result<Result<Response, CommandError>, Box<dyn Error>> {
    println!("\n-- {title}");
    let result = client.call(command)?;
    println!("=> {}", show(&result));
    Ok(result)
}

/// [`ask`], for commands whose outcome the tour only shows.
fn step<S: Transport, C: Command + ?Sized>(
    client: &mut BlockingClient<Traced<S>>,
    title: &str,
    command: &C,
) -> Result<(), Box<dyn Error>> {
    ask(client, title, command).map(drop)
}

/// A completion, shortly.
fn show(result: &Result<Response, CommandError>) -> String {
    let text = |b: &[u8]| format!("\"{}\"", b.escape_ascii());
    match result {
        Ok(Response::Hit(v)) => match v.cas {
            Some(cas) => format!("hit: {} (flags {}, cas {cas})", text(&v.data), v.flags),
            None => format!("hit: {} (flags {})", text(&v.data), v.flags),
        },
        Ok(Response::Items(items)) => {
            let items: Vec<String> = items
                .iter()
                .map(|i| format!("{} = {}", i.key.escape_ascii(), text(i.data)))
                .collect();
            format!("{} values: {}", items.len(), items.join(", "))
        }
        Ok(Response::Stats(stats)) => {
            let pick = [
                "version",
                "uptime",
                "curr_items",
                "total_items",
                "get_hits",
                "get_misses",
            ];
            let shown: Vec<String> = stats
                .iter()
                .filter(|s| pick.contains(&&*String::from_utf8_lossy(s.name)))
                .map(|s| format!("{}={}", s.name.escape_ascii(), s.value.escape_ascii()))
                .collect();
            format!("{} stats, among them {}", stats.len(), shown.join(" "))
        }
        Ok(Response::Meta(m)) => show_meta(m),
        Ok(other) => format!("{other:?}"),
        Err(CommandError::Server(e)) => format!("server error: {e}"),
        Err(e) => format!("failed: {e}"),
    }
}

fn show_meta(m: &MetaResponse) -> String {
    let mut parts = vec![format!("{:?}", m.status)];
    if m.inferred {
        parts[0].push_str(" (inferred: memcached said nothing)");
    }
    if let Some(value) = m.value() {
        parts.push(format!("\"{}\"", value.escape_ascii()));
    }
    if let Some(flags) = m.client_flags() {
        parts.push(format!("flags {flags}"));
    }
    match m.ttl() {
        Some(Ttl::Seconds(s)) => parts.push(format!("ttl {s}s")),
        Some(Ttl::Never) => parts.push("no ttl".into()),
        None => {}
    }
    if let Some(cas) = m.cas() {
        parts.push(format!("cas {cas}"));
    }
    parts.join(", ")
}

/// A stream that prints what passes through it, one protocol line per output line.
struct Traced<S>(S);

fn trace(arrow: &str, bytes: &[u8]) {
    const LINES: usize = 6;
    const WIDTH: usize = 76;
    let lines: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
    for line in lines.iter().take(LINES) {
        let shown = line.escape_ascii().to_string();
        if shown.len() > WIDTH {
            println!("{arrow} {}... ({} bytes)", &shown[..WIDTH - 10], line.len());
        } else {
            println!("{arrow} {shown}");
        }
    }
    if lines.len() > LINES {
        println!("{arrow} ... {} more lines", lines.len() - LINES);
    }
}

impl<S: Read> Read for Traced<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.read(buf)?;
        trace("<<<", &buf[..n]);
        Ok(n)
    }
}

impl<S: Write> Write for Traced<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.0.write(buf)?;
        trace(">>>", &buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<S: Transport> Transport for Traced<S> {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.0.set_read_timeout(timeout)
    }
}

/// The in-process model as a byte stream: what is written is fed to the model, what
/// it answers is there to read.
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
                return Ok(0); // end of stream
            }
            // Nothing more will come: behave like a silent socket with a read timeout.
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
