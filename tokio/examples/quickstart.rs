//! The README's quick start: `cargo run -p memcache-codec-tokio --example quickstart`.
//!
//! Talks to `MEMCACHED_ADDR=host:port` if it is set, else starts memcached from
//! `PATH` on a free loopback port (and stops it on exit).

#[allow(dead_code)] // the example uses part of the helper
#[path = "../../examples/adapters/memcached.rs"]
mod memcached;

use std::time::Duration;

use memcache_codec::command::{MetaGet, MetaSet};
use memcache_codec_tokio::Client;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(server) = memcached::Server::from_env()? else {
        eprintln!(
            "memcached not found: set MEMCACHED_ADDR=host:port, or apt-get install memcached"
        );
        std::process::exit(2);
    };
    println!("{}", server.describe());
    let client = Client::builder()
        .inactivity_timeout(Some(Duration::from_secs(5)))
        .connect(memcache_codec_tokio::Tcp::new(server.addr()))
        .await?;
    println!("memcached {}", client.version().await?);

    // One command at a time.
    client.set("quickstart:greeting", "hello").await?;
    let greeting = client.get("quickstart:greeting").await?;
    println!("get: {:?}", greeting.map(|v| v.data));

    // Many at once: futures polled together are pipelined (none waits for another's reply).
    client.set("quickstart:visits", "41").await?;
    let (visits, missing, hits) = tokio::join!(
        client.incr("quickstart:visits", 1),
        client.get("quickstart:absent"),
        client.get_multi(&["quickstart:greeting", "quickstart:visits"]),
    );
    println!(
        "incr: {:?}, absent: {:?}, get_multi: {} hits",
        visits?,
        missing?,
        hits?.len()
    );

    // Clones share the connection: tasks pipeline on it.
    let tasks: Vec<_> = (0..4)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move { client.incr("quickstart:visits", i).await })
        })
        .collect();
    for task in tasks {
        task.await??;
    }

    // The meta protocol, and a quiet batch: only hits are answered.
    let set = MetaSet::new("quickstart:meta", "m").return_cas();
    println!("ms: cas {:?}", client.meta_set(&set).await?.cas());
    let gets = [
        MetaGet::new("quickstart:meta").return_value(),
        MetaGet::new("quickstart:absent").return_value(),
    ];
    for reply in client.meta_get_many(&gets).await? {
        let reply = reply?;
        println!("mg: {:?} (inferred: {})", reply.status, reply.inferred);
    }

    // A caller that gives up: its reply is read and dropped; the connection stays usable.
    let abandoned = client.get("quickstart:greeting");
    let _ = tokio::time::timeout(Duration::from_nanos(1), abandoned).await;
    println!(
        "after a cancel: {:?}, reusable: {}",
        client.get("quickstart:visits").await?.map(|v| v.data),
        client.is_reusable()
    );
    Ok(())
}
