//! Faults, each on a memcached this test starts and kills: the server killed
//! mid-pipeline, a server that stops answering (SIGSTOP), and reconnecting after both.

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use memcache_codec::command::{Get, Store, Version};
use memcache_codec::response::Value;
use memcache_codec::{CommandError, Config, ConnectionError, EncodeError, Response};

use crate::blocking::BlockingClient;
use crate::harness::{self, ok, prefix};

#[test]
fn server_killed_mid_pipeline_fails_each_pending_command_once() {
    let Some(server) = harness::own_server(&[]) else {
        return;
    };
    let mut c = BlockingClient::connect(server.addr(), harness::config()).unwrap();
    let p = prefix("kill");
    let keys: Vec<String> = (0..1000).map(|i| format!("{p}{i}")).collect();

    // 1000 sets in flight; half of their replies read.
    let mut sent: Vec<_> = keys
        .iter()
        .map(|k| c.send(&Store::set(k, "v")).unwrap())
        .collect();
    c.flush().unwrap();
    let mut done: Vec<_> = (0..500).map(|_| c.recv().unwrap()).collect();
    // 1000 gets the server never reads: it is stopped, then killed.
    server.pause().unwrap();
    sent.extend(keys.iter().map(|k| c.send(&Get::new(k)).unwrap()));
    c.flush().unwrap();
    server.signal("KILL").unwrap();
    let started = Instant::now();
    done.extend(std::iter::from_fn(|| c.recv()));
    let elapsed = started.elapsed();

    // Every command completed exactly once, in send order.
    let tokens: Vec<_> = done.iter().map(|d| d.token).collect();
    assert_eq!(tokens, sent);
    // Replies that made it out before the kill, then connection-lost for the rest.
    let first_lost = done.iter().position(|d| d.result.is_err()).unwrap();
    assert!((500..=1000).contains(&first_lost), "{first_lost}");
    assert!(
        done[..first_lost]
            .iter()
            .all(|d| d.result == Ok(Response::Stored))
    );
    // Connection-lost: end of stream, or the reset the kernel sends for a killed
    // process with unread bytes; every command fails with the same error.
    let lost = done[first_lost].connection_error().cloned();
    assert!(
        matches!(
            lost,
            Some(ConnectionError::Closed | ConnectionError::Io(ErrorKind::ConnectionReset))
        ),
        "{lost:?}"
    );
    for d in &done[first_lost..] {
        assert_eq!(d.connection_error(), lost.as_ref(), "{d:?}");
    }
    // Noticed from the socket (end of stream or reset), not by waiting out the timeout.
    assert!(elapsed < harness::TIMEOUT / 2, "{elapsed:?}");
    println!(
        "{} lost after {elapsed:?}; I/O error: {:?}",
        2000 - first_lost,
        c.io_error()
    );
    assert_eq!(c.codec().pending(), 0);
    assert_eq!(
        c.send(&Version),
        Err(EncodeError::Poisoned(lost.expect("checked above")))
    );
    drop(server);

    // Reconnect (to a fresh server) and continue.
    let Some(server) = harness::own_server(&[]) else {
        return;
    };
    let mut c = BlockingClient::connect(server.addr(), harness::config()).unwrap();
    let tokens: Vec<_> = keys[..100]
        .iter()
        .map(|k| c.send(&Store::set(k, k)).unwrap())
        .collect();
    for token in tokens {
        assert_eq!(c.wait(token), Ok(Response::Stored));
    }
    let Response::Hit(Value { data, .. }) = ok(&mut c, &Get::new(&keys[7])) else {
        panic!()
    };
    assert_eq!(data, keys[7].as_bytes());
}

#[test]
fn stopped_server_trips_the_inactivity_timeout_then_reconnect() {
    let Some(server) = harness::own_server(&[]) else {
        return;
    };
    let timeout = Duration::from_millis(500);
    let config = Config::DEFAULT.with_inactivity_timeout(Some(timeout));
    let mut c = BlockingClient::connect(server.addr(), config).unwrap();
    let k = format!("{}k", prefix("stop"));
    assert_eq!(ok(&mut c, &Store::set(&k, "kept")), Response::Stored);

    server.pause().unwrap();
    let started = Instant::now();
    let sent: Vec<_> = (0..10).map(|_| c.send(&Get::new(&k)).unwrap()).collect();
    let done: Vec<_> = std::iter::from_fn(|| c.recv()).collect();
    let elapsed = started.elapsed();
    assert_eq!(done.iter().map(|d| d.token).collect::<Vec<_>>(), sent);
    for d in &done {
        assert_eq!(
            d.result,
            Err(CommandError::Connection(ConnectionError::Timeout))
        );
    }
    assert!(elapsed >= timeout && elapsed < timeout * 10, "{elapsed:?}");
    assert_eq!(c.codec().poisoned(), Some(&ConnectionError::Timeout));
    assert!(matches!(c.send(&Version), Err(EncodeError::Poisoned(_))));

    // The server wakes up; a new connection carries on where the data was left.
    server.resume().unwrap();
    let mut c = BlockingClient::connect(server.addr(), config).unwrap();
    let Response::Hit(value) = ok(&mut c, &Get::new(&k)) else {
        panic!()
    };
    assert_eq!(value.data, &b"kept"[..]);
    assert!(matches!(ok(&mut c, &Version), Response::Version(_)));
}
