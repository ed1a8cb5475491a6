//! The tokio adapter (`examples/adapters/tokio_client.rs`): a task owns the
//! connection, callers await one future per command, and dropping a future cancels
//! its command.
//!
//! `cargo run --example tokio` talks to `MEMCACHED_ADDR` if it is set, else starts
//! memcached from `PATH` on a free loopback port (and stops it on exit).

#[allow(dead_code)] // each target uses part of the adapter
#[path = "adapters/memcached.rs"]
mod memcached;
#[allow(dead_code)]
#[path = "adapters/tokio_client.rs"]
mod tokio_client;

use std::time::Duration;

use memcache_codec::Config;
use memcache_codec::command::Arithmetic;
use memcache_codec::command::{Get, MetaGet, Store};
use tokio_client::Client;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(server) = memcached::Server::from_env()? else {
        eprintln!(
            "memcached not found: set MEMCACHED_ADDR=host:port, or apt-get install memcached"
        );
        std::process::exit(2);
    };
    println!("{}", server.describe());
    let config = Config::DEFAULT.with_inactivity_timeout(Some(Duration::from_secs(5)));
    let client = Client::connect(server.addr(), config).await?;

    // One command at a time.
    let stored = client
        .call(&Store::set("example:greeting", "hello"))
        .await?;
    println!("set: {stored:?}");

    // Many at once: every send is pipelined on the one connection; await in any order.
    let counter = client.call(&Store::set("example:visits", "41")).await?;
    println!("set: {counter:?}");
    let incr = client.send(&Arithmetic::incr("example:visits", 1))?;
    let get = client.send(&Get::new("example:greeting"))?;
    let meta = client.send(&MetaGet::new("example:visits").return_value().return_ttl())?;
    let (meta, get, incr) = tokio::join!(meta, get, incr);
    println!("incr: {incr:?}\nget: {get:?}\nmg: {meta:?}");

    // A caller that gives up: its reply is read and dropped, the next one still pairs.
    let abandoned = client.send(&Get::new("example:greeting"))?;
    drop(abandoned);
    let after = client.call(&Get::new("example:visits")).await?;
    println!("after a cancelled get: {after:?}");

    // Clones share the connection, so concurrent tasks pipeline too.
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.call(&Arithmetic::incr("example:visits", i)).await })
        })
        .collect();
    for task in tasks {
        println!("incr from a task: {:?}", task.await??);
    }
    Ok(())
}
