//! The tokio adapter against a real memcached: the common commands, many futures in
//! flight, cancel by drop, concurrent tasks, and the two faults.

use std::time::{Duration, Instant};

use memcache_codec::command::Arithmetic;
use memcache_codec::command::{Get, GetMulti, MetaGet, MetaNoop, Store};
use memcache_codec::response::{MetaStatus, Value};
use memcache_codec::{CommandError, Config, ConnectionError, EncodeError, Response};

use crate::harness::{self, prefix};
use crate::tokio_client::{Client, Reply};

fn hit(data: &str, flags: u64) -> Result<Response, CommandError> {
    Ok(Response::Hit(Value {
        flags,
        cas: None,
        data: data.as_bytes().to_vec().into(),
    }))
}

#[tokio::test]
async fn tokio_adapter_smoke() {
    let Some(server) = harness::server() else {
        return;
    };
    let client = Client::connect(server.addr(), harness::config())
        .await
        .unwrap();
    let p = prefix("tokio");
    let (a, absent, n) = (format!("{p}a"), format!("{p}absent"), format!("{p}n"));

    assert_eq!(
        client.call(&Store::set(&a, "alpha").client_flags(1)).await,
        Ok(Ok(Response::Stored))
    );
    assert_eq!(client.call(&Get::new(&a)).await, Ok(hit("alpha", 1)));
    assert_eq!(
        client.call(&Get::new(&absent)).await,
        Ok(Ok(Response::Miss))
    );

    // 200 futures in flight on one connection, awaited last to first.
    let keys: Vec<String> = (0..100).map(|i| format!("{p}{i}")).collect();
    let mut replies: Vec<Reply> = Vec::new();
    for k in &keys {
        replies.push(client.send(&Store::set(k, k)).unwrap());
        replies.push(client.send(&Get::new(k)).unwrap());
    }
    for (i, reply) in replies.into_iter().enumerate().rev() {
        let expected = if i % 2 == 0 {
            Ok(Response::Stored)
        } else {
            hit(&keys[i / 2], 0)
        };
        assert_eq!(reply.await, expected, "{i}");
    }
    let Ok(Ok(Response::Items(items))) = client.call(&GetMulti::new(&keys)).await else {
        panic!()
    };
    let items = items.into_vec();
    assert_eq!(items.len(), 100);

    // A large value: written in several writes, read in several reads.
    let big: Vec<u8> = (0..512 * 1024).map(|i| (i % 251) as u8).collect();
    let big_key = format!("{p}big");
    assert_eq!(
        client.call(&Store::set(&big_key, &big)).await,
        Ok(Ok(Response::Stored))
    );
    let Ok(Ok(Response::Hit(value))) = client.call(&Get::new(&big_key)).await else {
        panic!()
    };
    assert_eq!(value.data, big);

    // Dropping a future cancels its command; its neighbours still get their own replies.
    let first = client.send(&Get::new(&a)).unwrap();
    let second = client.send(&Get::new(&keys[0])).unwrap();
    let third = client.send(&Get::new(&keys[1])).unwrap();
    drop(second);
    assert_eq!(third.await, hit(&keys[1], 0));
    assert_eq!(first.await, hit("alpha", 1));

    // Tasks share the connection through clones.
    client.call(&Store::set(&n, "0")).await.unwrap().unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            let n = n.clone();
            tokio::spawn(async move { client.call(&Arithmetic::incr(&n, 1)).await })
        })
        .collect();
    let mut counts = Vec::new();
    for task in tasks {
        let Ok(Ok(Ok(Response::Counter(count)))) = task.await else {
            panic!()
        };
        counts.push(count);
    }
    counts.sort_unstable();
    assert_eq!(counts, (1..=8).collect::<Vec<_>>());

    // Meta: a quiet batch, and noreply behind a fence.
    let gets = [
        MetaGet::new(&a).return_value(),
        MetaGet::new(&absent).return_value(),
    ];
    let (gets, fence) = client.send_quiet_batch(&gets).unwrap();
    let mut statuses = Vec::new();
    for get in gets {
        let Ok(Response::Meta(m)) = get.await else {
            panic!()
        };
        statuses.push((m.status, m.inferred));
    }
    assert_eq!(
        statuses,
        [(MetaStatus::Value, false), (MetaStatus::Miss, true)]
    );
    assert_eq!(fence.await, Ok(Response::Noop));
    client
        .send_noreply(&Store::set(&absent, "quietly"))
        .unwrap();
    assert_eq!(client.call(&MetaNoop).await, Ok(Ok(Response::Noop)));
    assert_eq!(client.call(&Get::new(&absent)).await, Ok(hit("quietly", 0)));
}

#[tokio::test]
async fn tokio_adapter_timeout_and_kill() {
    let Some(server) = harness::own_server(&[]) else {
        return;
    };
    let k = format!("{}k", prefix("tokio-faults"));
    let timeout = Duration::from_millis(500);
    let config = Config::DEFAULT.with_inactivity_timeout(Some(timeout));
    let client = Client::connect(server.addr(), config).await.unwrap();
    assert_eq!(
        client.call(&Store::set(&k, "v")).await,
        Ok(Ok(Response::Stored))
    );

    // Stopped: every waiting future completes with Timeout, once.
    server.pause().unwrap();
    let started = Instant::now();
    let replies: Vec<Reply> = (0..20)
        .map(|_| client.send(&Get::new(&k)).unwrap())
        .collect();
    for reply in replies {
        let outcome = tokio::time::timeout(harness::TIMEOUT, reply)
            .await
            .expect("no hang");
        assert_eq!(
            outcome,
            Err(CommandError::Connection(ConnectionError::Timeout))
        );
    }
    let elapsed = started.elapsed();
    assert!(elapsed >= timeout && elapsed < timeout * 10, "{elapsed:?}");
    assert_eq!(
        client.send(&Get::new(&k)).err(),
        Some(EncodeError::Poisoned(ConnectionError::Timeout))
    );

    // Killed with commands in flight: each completes with Closed, well before the timeout.
    let client = Client::connect(server.addr(), harness::config())
        .await
        .unwrap();
    let replies: Vec<Reply> = (0..50)
        .map(|_| client.send(&Get::new(&k)).unwrap())
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await; // let the task write them
    server.signal("KILL").unwrap();
    let started = Instant::now();
    for reply in replies {
        let outcome = tokio::time::timeout(harness::TIMEOUT, reply)
            .await
            .expect("no hang");
        assert_eq!(
            outcome,
            Err(CommandError::Connection(ConnectionError::Closed))
        );
    }
    assert!(started.elapsed() < harness::TIMEOUT / 2);
    drop(server);

    // Reconnect to a new server and continue.
    let Some(server) = harness::own_server(&[]) else {
        return;
    };
    let client = Client::connect(server.addr(), harness::config())
        .await
        .unwrap();
    assert_eq!(
        client.call(&Store::set(&k, "again")).await,
        Ok(Ok(Response::Stored))
    );
    assert_eq!(client.call(&Get::new(&k)).await, Ok(hit("again", 0)));
}
