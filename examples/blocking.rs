//! The crate documentation's drive loop, runnable: the blocking adapter
//! (`examples/adapters/blocking.rs`, a `TcpStream`, a `Codec` and two buffers)
//! pipelines a few commands and prints each completion.
//!
//! `cargo run --example blocking` talks to `MEMCACHED_ADDR` if it is set, else starts
//! memcached from `PATH` on a free loopback port (and stops it on exit).

#[allow(dead_code)] // each target uses part of the adapter
#[path = "adapters/blocking.rs"]
mod blocking;
#[allow(dead_code)]
#[path = "adapters/memcached.rs"]
mod memcached;

use std::time::Duration;

use blocking::BlockingClient;
use memcache_codec::command::Arithmetic;
use memcache_codec::command::{Get, GetMulti, MetaGet, Store};
use memcache_codec::{Config, Response};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(server) = memcached::Server::from_env()? else {
        eprintln!(
            "memcached not found: set MEMCACHED_ADDR=host:port, or apt-get install memcached"
        );
        std::process::exit(2);
    };
    println!("{}", server.describe());
    let config = Config::DEFAULT.with_inactivity_timeout(Some(Duration::from_secs(5)));
    let mut client = BlockingClient::connect(server.addr(), config)?;

    // Sending only encodes: these five commands leave in one write, at the first recv.
    client.send(&Store::set("example:greeting", "hello").client_flags(7))?;
    client.send(&Store::set("example:visits", "41"))?;
    client.send(&Arithmetic::incr("example:visits", 1))?;
    client.send(&GetMulti::new(&[
        "example:greeting",
        "example:visits",
        "example:nobody",
    ]))?;
    client.send(&MetaGet::new("example:greeting").return_value().return_cas())?;
    while let Some(done) = client.recv() {
        println!("#{} {:?}", done.token.index(), done.result?);
    }

    // One command, one result: `call` is send + wait.
    match client.call(&Get::new("example:greeting"))?? {
        Response::Hit(value) => println!("get: flags {} value {:?}", value.flags, value.data),
        other => println!("get: {other:?}"),
    }
    Ok(())
}
