//! Against real memcached processes: one server, three behind a `Cluster`, TLS
//! (`memcached -Z` with a certificate made here), a watcher, a server killed
//! mid-pipeline and a server stopped with SIGSTOP.
//!
//! Each test starts its own memcached on a free loopback port and kills it by pid
//! (`MEMCACHED_ADDR` points the single-server test at another). Without memcached
//! they print a loud "skipped" and pass, except under `CI=true`, where they fail.

mod common;

use std::io::ErrorKind;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{TIMEOUT, live_addr, memcached, prefix};
use memcache_codec::command::{MetaGet, Stats, Store, Watch, WatchKind};
use memcache_codec::distribution::{
    Distribution, HealthConfig, Mode, Policy, ServerState, Unavailable, parse_servers,
};
use memcache_codec::response::LogLine;
use memcache_codec::response::MetaStatus;
use memcache_codec::{ConnectionError, Response};
use memcache_codec_tokio::{Builder, Client, Cluster, Error, Tcp, Tls};

fn builder() -> Builder {
    Client::builder().inactivity_timeout(Some(TIMEOUT))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_server() {
    let Some((addr, _server)) = live_addr() else {
        return;
    };
    let client = builder().connect(Tcp::new(&addr)).await.unwrap();
    let p = prefix("single");
    let key = |s: &str| format!("{p}{s}");

    client.set(key("a"), "alpha").await.unwrap();
    assert_eq!(client.get(key("a")).await.unwrap().unwrap().data, "alpha");
    assert_eq!(client.get(key("absent")).await.unwrap(), None);
    assert!(!client.add(key("a"), "x").await.unwrap());
    assert_eq!(client.incr(key("n"), 1).await.unwrap(), None);
    client.set(key("n"), "9").await.unwrap();
    assert_eq!(client.incr(key("n"), 1).await.unwrap(), Some(10));
    assert!(client.delete(key("n")).await.unwrap());
    assert!(matches!(
        client.call(&Stats::new()).await.unwrap(),
        Response::Stats(_)
    ));

    // A 512 KiB value: several writes and several reads.
    let big: Vec<u8> = (0..512 * 1024).map(|i| (i % 251) as u8).collect();
    client.set(key("big"), &big).await.unwrap();
    assert_eq!(client.get(key("big")).await.unwrap().unwrap().data, big);

    // 64 separate gets in flight from one task, and 8 tasks on clones.
    let keys: Vec<String> = (0..64).map(|i| key(&i.to_string())).collect();
    for k in &keys {
        client.noreply(&Store::set(k, k)).await.unwrap();
    }
    client.noop().await.unwrap();
    let gets: Vec<_> = keys.iter().map(|k| Box::pin(client.get(k))).collect();
    let mut results = Vec::new();
    for get in gets {
        results.push(get.await.unwrap().unwrap().data);
    }
    assert_eq!(results, keys);
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let (client, keys) = (client.clone(), keys.clone());
            tokio::spawn(async move {
                for k in keys.iter().skip(t).step_by(8) {
                    assert_eq!(client.get(k).await.unwrap().unwrap().data, k.as_bytes());
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(client.get_multi(&keys).await.unwrap().len(), 64);

    // A quiet batch: misses inferred.
    let gets = [
        MetaGet::new(&keys[0]).return_value(),
        MetaGet::new(&keys[0][..4]).return_value(),
    ];
    let replies = client.meta_get_many(&gets).await.unwrap();
    assert_eq!(replies[0].as_ref().unwrap().status, MetaStatus::Value);
    assert!(replies[1].as_ref().unwrap().inferred);

    // Cancel: the reply of a dropped get is read and dropped.
    let abandoned = tokio::time::timeout(Duration::from_nanos(1), client.get(&keys[1])).await;
    drop(abandoned);
    assert_eq!(
        client.get(&keys[2]).await.unwrap().unwrap().data,
        keys[2].as_bytes()
    );
    assert!(client.is_reusable());
}

/// The next line of `log` of type `kind` about `key`, skipping the others (other
/// clients' lines, and the fetch a `set` makes before it stores).
async fn line_about(log: &mut memcache_codec_tokio::WatchStream, kind: &str, key: &str) -> LogLine {
    let find = async {
        loop {
            let line = log.next().await.expect("the log goes on").unwrap();
            if line.key().as_deref() == Some(key.as_bytes()) && line.kind() == Some(kind.as_bytes())
            {
                return line;
            }
        }
    };
    tokio::time::timeout(TIMEOUT, find)
        .await
        .expect("a log line about the key")
}

/// The `log_watchers` stat: watch connections memcached serves.
async fn watchers(client: &Client) -> u64 {
    let Response::Stats(stats) = client.call(&Stats::new()).await.unwrap() else {
        panic!("stats");
    };
    let value = stats.value("log_watchers").expect("log_watchers");
    std::str::from_utf8(value).unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_watcher_sees_another_clients_commands() {
    let Some((addr, server)) = live_addr() else {
        return;
    };
    let client = builder().connect(Tcp::new(&addr)).await.unwrap();
    let other = builder().connect(Tcp::new(&addr)).await.unwrap();
    let key = format!("{}k", prefix("watch"));
    let watch = Watch::new()
        .kind(WatchKind::Mutations)
        .kind(WatchKind::Fetchers);
    let mut log = client.watch(&watch).await.unwrap();

    other.set(&key, "v").await.unwrap();
    let stored = line_about(&mut log, "item_store", &key).await;
    assert_eq!(stored.get("status"), Some(&b"stored"[..]), "{stored:?}");
    assert_eq!(stored.get("cmd"), Some(&b"set"[..]), "{stored:?}");
    assert!(other.get(&key).await.unwrap().is_some());
    let fetched = line_about(&mut log, "item_get", &key).await;
    assert_eq!(fetched.get("status"), Some(&b"found"[..]), "{fetched:?}");
    assert!(fetched.gid() > stored.gid());

    // The watching client's own connection still answers; a watch on it is
    // refused, and nothing of it is sent.
    assert_eq!(client.get(&key).await.unwrap().unwrap().data, "v");
    assert!(matches!(
        client.call(&watch).await,
        Err(Error::WatchNeedsOwnConnection)
    ));
    assert_eq!(client.get(&key).await.unwrap().unwrap().data, "v");

    let Some(server) = server else {
        return; // a shared server: other watchers may come and go
    };
    assert_eq!(watchers(&client).await, 1);
    // Dropping the stream closes its connection: the watcher is gone.
    drop(log);
    let deadline = Instant::now() + TIMEOUT;
    while watchers(&client).await != 0 {
        assert!(Instant::now() < deadline, "the watcher was not closed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The server's end ends the stream: its error, then nothing.
    let mut log = client.watch(&Watch::new()).await.unwrap();
    server.signal("KILL").unwrap();
    let end = tokio::time::timeout(TIMEOUT, log.next()).await.unwrap();
    assert!(
        matches!(
            end,
            Some(Err(Error::Connection(
                ConnectionError::Closed | ConnectionError::Io(ErrorKind::ConnectionReset)
            )))
        ),
        "{end:?}"
    );
    assert!(log.next().await.is_none());
}

#[tokio::test]
async fn killed_server_fails_everything_in_flight_then_reconnects_on_demand() {
    let Some(server) = memcached(&[]) else {
        return;
    };
    let addr = server.addr().to_string();
    let client = builder()
        .connect_timeout(Some(Duration::from_secs(2)))
        .connect(Tcp::new(&addr))
        .await
        .unwrap();
    client.set("k", "v").await.unwrap();
    server.pause().unwrap();
    let waiting = tokio::spawn({
        let client = client.clone();
        async move { common::join_all((0..200).map(|_| client.get("k")).collect()).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    server.signal("KILL").unwrap();
    let results = waiting.await.unwrap();
    assert!(started.elapsed() < TIMEOUT / 2, "noticed from the socket");
    for result in &results {
        assert!(
            matches!(
                result,
                Err(Error::Connection(
                    ConnectionError::Closed | ConnectionError::Io(ErrorKind::ConnectionReset)
                ))
            ),
            "{result:?}"
        );
    }
    assert!(!client.is_reusable());
    drop(server);
    // The next call reconnects: nobody listens there any more.
    let next = client.get("k").await;
    assert!(matches!(&next, Err(Error::Connect(_))), "{next:?}");
}

#[tokio::test]
async fn stopped_server_times_out_then_the_next_call_reconnects() {
    let Some(server) = memcached(&[]) else {
        return;
    };
    let timeout = Duration::from_millis(500);
    let client = Client::builder()
        .inactivity_timeout(Some(timeout))
        .connect(Tcp::new(server.addr().to_string()))
        .await
        .unwrap();
    client.set("k", "kept").await.unwrap();
    server.pause().unwrap();
    let started = Instant::now();
    let (a, b, c) = tokio::join!(client.get("k"), client.get("k"), client.set("k", "lost?"));
    let elapsed = started.elapsed();
    assert!(
        matches!(a, Err(Error::Connection(ConnectionError::Timeout))),
        "{a:?}"
    );
    assert!(
        matches!(b, Err(Error::Connection(ConnectionError::Timeout))),
        "{b:?}"
    );
    assert!(
        matches!(c, Err(Error::Connection(ConnectionError::Timeout))),
        "{c:?}"
    );
    assert!(elapsed >= timeout && elapsed < timeout * 10, "{elapsed:?}");
    assert!(!client.is_reusable());
    server.resume().unwrap();
    // The stopped connection's set ran when the server woke up, or not: either way
    // a fresh connection sees one of the two values.
    let value = client.get("k").await.unwrap().unwrap().data;
    assert!(value == "kept" || value == "lost?", "{value:?}");
    assert!(client.is_reusable());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_behind_a_cluster() {
    let servers: Vec<_> = (0..3).filter_map(|_| memcached(&[])).collect();
    if servers.len() < 3 {
        return;
    }
    let list = servers
        .iter()
        .map(|s| s.addr().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let distribution = Distribution::new(Mode::KetamaWeighted, parse_servers(&list).unwrap())
        .unwrap()
        .with_health(
            HealthConfig::DEFAULT
                .failure_limit(1)
                .retry_after(Duration::from_secs(3600)),
        );
    let ring = distribution.clone();
    let cluster = Cluster::with_builder(distribution, builder());
    let keys: Vec<String> = (0..300).map(|i| format!("user:{i}")).collect();
    for k in &keys {
        cluster.set(k, k).await.unwrap();
    }
    // Each key is on the server the distribution names, and only there.
    let mut per_server = [0; 3];
    for k in &keys {
        let home = ring.server_for(k.as_bytes());
        per_server[home] += 1;
        for s in 0..3 {
            let found = cluster.client(s).get(k).await.unwrap().is_some();
            assert_eq!(found, s == home, "{k} on server {s}");
        }
    }
    assert!(per_server.iter().all(|&n| n > 50), "{per_server:?}");

    // A multi-key get: split per server, merged in key order, misses in place.
    let mut asked = keys.clone();
    asked.insert(5, "absent".into());
    let merged = cluster.get_multi(&asked).await;
    assert_eq!(merged.len(), 301);
    for (k, r) in asked.iter().zip(&merged) {
        let item = r.as_ref().unwrap();
        match item {
            Some(item) => assert_eq!(item.value.data, k.as_bytes()),
            None => assert_eq!(k, "absent"),
        }
    }
    let metas = cluster
        .meta_get_many(&asked, |k| MetaGet::new(k).return_value())
        .await;
    assert_eq!(metas[5].as_ref().unwrap().status, MetaStatus::Miss);
    assert_eq!(metas[6].as_ref().unwrap().value(), Some(keys[5].as_bytes()));

    // Server 1 dies: its keys fail (first with the connection error, then at once
    // as unavailable under fail-fast); the others' keys are unaffected.
    let dead = 1;
    let mut servers = servers;
    drop(servers.remove(dead));
    let dead_key = keys
        .iter()
        .find(|k| ring.server_for(k.as_bytes()) == dead)
        .unwrap();
    let live_key = keys
        .iter()
        .find(|k| ring.server_for(k.as_bytes()) != dead)
        .unwrap();
    let first = cluster.get(dead_key).await;
    assert!(first.as_ref().is_err_and(Error::is_connection), "{first:?}");
    assert!(matches!(cluster.state(dead), ServerState::Dead { .. }));
    assert!(matches!(
        cluster.get(dead_key).await,
        Err(Error::Unavailable(Unavailable::Down { server })) if server == dead
    ));
    assert!(cluster.get(live_key).await.unwrap().is_some());
    let merged = cluster.get_multi(&keys).await;
    for (k, r) in keys.iter().zip(&merged) {
        if ring.server_for(k.as_bytes()) == dead {
            assert!(matches!(r, Err(Error::Unavailable(_))), "{k}: {r:?}");
        } else {
            assert!(matches!(r, Ok(Some(_))), "{k}: {r:?}");
        }
    }

    // Redistribute: the dead server's keys go to the others.
    let list = parse_servers(&list).unwrap();
    let config = HealthConfig::DEFAULT
        .failure_limit(1)
        .retry_after(Duration::from_secs(3600))
        .policy(Policy::Redistribute);
    let ejecting = Cluster::with_builder(
        Distribution::new(Mode::KetamaWeighted, list)
            .unwrap()
            .with_health(config),
        builder(),
    );
    assert!(ejecting.set(dead_key, "moved").await.is_err());
    let moved_to = ejecting.route(dead_key).unwrap();
    assert_ne!(moved_to, dead);
    ejecting.set(dead_key, "moved").await.unwrap();
    assert_eq!(
        ejecting
            .client(moved_to)
            .get(dead_key)
            .await
            .unwrap()
            .unwrap()
            .data,
        "moved"
    );
}

#[tokio::test]
async fn tls_against_memcached_z() {
    use memcache_codec_tokio::rustls;
    let dir = std::env::temp_dir().join(prefix("tls"));
    std::fs::create_dir_all(&dir).unwrap();
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let (cert_pem, key_pem) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_pem, cert.cert.pem()).unwrap();
    std::fs::write(&key_pem, cert.signing_key.serialize_pem()).unwrap();
    let option = format!(
        "ssl_chain_cert={},ssl_key={}",
        cert_pem.display(),
        key_pem.display()
    );
    let server = memcached(&["-Z", "-o", &option]);
    let _ = std::fs::remove_dir_all(&dir);
    let Some(server) = server else {
        return;
    };
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    // rustls 0.23.48 deprecates the ring provider for lacking post-quantum key
    // exchange; memcached 1.6.18's OpenSSL offers none either, and ring keeps the
    // build light (no aws-lc-rs C build).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let config = Arc::new(config);
    let addr = server.addr().to_string();

    let client = builder()
        .connect(Tls::new(&addr, "localhost", Arc::clone(&config)).unwrap())
        .await
        .unwrap();
    client.set("secret", "over tls").await.unwrap();
    assert_eq!(
        client.get("secret").await.unwrap().unwrap().data,
        "over tls"
    );
    let big = vec![7u8; 300 * 1024];
    client.set("big", &big).await.unwrap();
    let keys: Vec<String> = (0..100).map(|i| format!("k{i}")).collect();
    for k in &keys {
        client.set(k, k).await.unwrap();
    }
    assert_eq!(client.get_multi(&keys).await.unwrap().len(), 100);
    assert_eq!(client.get("big").await.unwrap().unwrap().data, big);

    // The certificate is checked: another name fails the handshake.
    let wrong = Client::builder()
        .connect(Tls::new(&addr, "example.com", config).unwrap())
        .await;
    assert!(matches!(wrong, Err(Error::Connect(_))), "{wrong:?}");
    // Plain text to the TLS port gets no answer memcached would give.
    let plain = Client::builder()
        .inactivity_timeout(Some(Duration::from_secs(2)))
        .connect(Tcp::new(&addr))
        .await
        .unwrap();
    assert!(plain.get("secret").await.is_err());
}
