//! Live interop: three memcached servers on loopback shared by this crate and the
//! Python clients a fleet runs.
//!
//! * pylibmc (libmemcached 1.1.4, `ketama_weighted` on, weights 1, 2, 3) stores
//!   10 000 keys; for every key, [`Mode::KetamaWeighted`] names a server, a plain
//!   `get` to that server through this crate finds the value, and the other two do
//!   not have the key. Then the crate stores 10 000 keys by its ring and pylibmc
//!   reads every one back.
//! * The same with pymemcache's `HashClient` and [`Mode::Rendezvous`].
//!
//! Needs memcached on `PATH` and a Python with pylibmc and pymemcache
//! (`tests/oracle/interop.py`; `MEMCACHE_CODEC_PYTHON` picks the interpreter, else
//! Debian's `/usr/bin/python3`, where apt puts python3-pylibmc). Without them the
//! tests print a loud "skipped" and pass, unless `CI=true`, where they fail.

#[allow(dead_code)] // each target uses part of the adapter
#[path = "../examples/adapters/blocking.rs"]
mod blocking;
#[allow(dead_code)]
#[path = "../examples/adapters/memcached.rs"]
mod memcached;

use std::io::{ErrorKind, Write as _};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use blocking::BlockingClient;
use memcache_codec::command::{Get, GetMulti, Store};
use memcache_codec::distribution::{Distribution, Mode, PythonKeys, Server};
use memcache_codec::{Config, Response};
use memcached::Memcached;

const KEYS: usize = 10_000;
/// Commands in flight per server at a time: well under the socket buffers.
const CHUNK: usize = 500;

fn skip_or_fail(why: &str) {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !ci,
        "CI=true but the live distribution test cannot run: {why} (.ci/run installs \
         memcached, python3-pylibmc, pymemcache)"
    );
    let _ = writeln!(
        std::io::stderr(),
        "\n{bar}\n!!! distribution live test skipped: {why}\n{bar}\n",
        bar = "!".repeat(78)
    );
}

fn python() -> Result<String, String> {
    let python = std::env::var("MEMCACHE_CODEC_PYTHON").unwrap_or_else(|_| {
        if Path::new("/usr/bin/python3").exists() {
            "/usr/bin/python3".into()
        } else {
            "python3".into()
        }
    });
    let out = Command::new(&python)
        .args(["-c", "import pylibmc, pymemcache"])
        .output()
        .map_err(|e| format!("{python}: {e}"))?;
    if out.status.success() {
        Ok(python)
    } else {
        Err(format!(
            "{python} lacks pylibmc or pymemcache (apt-get install python3-pylibmc; \
             pip install pymemcache): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Three memcached, or `None` (skip).
fn three_servers() -> Option<[Memcached; 3]> {
    let mut started = Vec::new();
    for _ in 0..3 {
        match Memcached::start(&[]) {
            Ok(server) => started.push(server),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                skip_or_fail("memcached not found (apt-get install memcached)");
                return None;
            }
            Err(e) => panic!("memcached is installed but did not start: {e}"),
        }
    }
    started.try_into().ok()
}

fn interop(python: &str, client: &str, action: &str, spec: &str, prefix: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/interop.py");
    let out = Command::new(python)
        .arg(script)
        .args([client, action, spec, prefix, &KEYS.to_string()])
        .output()
        .expect("run interop.py");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "interop.py {client} {action} failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{}", text.trim());
}

fn connect(servers: &[Memcached; 3]) -> Vec<BlockingClient> {
    let config = Config::DEFAULT.with_inactivity_timeout(Some(Duration::from_secs(10)));
    servers
        .iter()
        .map(|s| BlockingClient::connect(s.addr(), config).expect("connect"))
        .collect()
}

/// For every key: its server has `value-<i>`, the other two miss. Plain `get`s,
/// pipelined `CHUNK` at a time on each connection. Then the same keys as split
/// multi-gets, merged, must give every value in key order.
fn check_placement(ring: &Distribution, clients: &mut [BlockingClient], prefix: &str) {
    let keys: Vec<String> = (0..KEYS).map(|i| format!("{prefix}{i}")).collect();
    let mut per_server = [0usize; 3];
    for chunk in keys.chunks(CHUNK) {
        for (server, client) in clients.iter_mut().enumerate() {
            let tokens: Vec<_> = chunk
                .iter()
                .map(|k| client.send(&Get::new(k)).expect("send get"))
                .collect();
            for (key, token) in chunk.iter().zip(tokens) {
                let owner = ring.server_for(key.as_bytes());
                let value = format!("value-{}", &key[prefix.len()..]);
                match client.wait(token).expect("get") {
                    Response::Hit(v) if owner == server => {
                        assert_eq!(&v.data[..], value.as_bytes(), "{key}");
                        per_server[server] += 1;
                    }
                    Response::Miss if owner != server => {}
                    other => panic!(
                        "{key}: the ring names server {owner}, server {server} answered {other:?}"
                    ),
                }
            }
        }
    }
    assert_eq!(per_server.iter().sum::<usize>(), KEYS);
    eprintln!("keys per server (the ring's choice, each found there only): {per_server:?}");

    for chunk in keys.chunks(CHUNK) {
        let split = ring.split(chunk);
        let mut merge = split.merge_values(chunk);
        for group in split.groups() {
            let client = &mut clients[group.server()];
            let result = client
                .call(&GetMulti::new(&group.keys(chunk)))
                .expect("send");
            merge.add(group.server(), result).expect("merge");
        }
        let items = merge.items();
        assert_eq!(items.len(), chunk.len(), "every key found by the split");
        for (item, key) in items.iter().zip(chunk) {
            assert_eq!(&item.key[..], key.as_bytes());
            assert_eq!(
                &item.value.data[..],
                format!("value-{}", &key[prefix.len()..]).as_bytes()
            );
        }
    }
}

/// Stores `KEYS` keys through the ring, each on its server only.
fn store_by_ring(ring: &Distribution, clients: &mut [BlockingClient], prefix: &str) {
    let keys: Vec<String> = (0..KEYS).map(|i| format!("{prefix}{i}")).collect();
    let values: Vec<String> = (0..KEYS).map(|i| format!("value-{i}")).collect();
    for (keys, values) in keys.chunks(CHUNK).zip(values.chunks(CHUNK)) {
        let mut sent = Vec::new();
        for (k, v) in keys.iter().zip(values) {
            let server = ring.server_for(k.as_bytes());
            let token = clients[server].send(&Store::set(k, v)).expect("send set");
            sent.push((server, token));
        }
        for (server, token) in sent {
            assert_eq!(clients[server].wait(token), Ok(Response::Stored));
        }
    }
}

fn run(client: &str, mode: Mode, weights: [u32; 3]) {
    let python = match python() {
        Ok(p) => p,
        Err(why) => return skip_or_fail(&why),
    };
    let Some(servers) = three_servers() else {
        return;
    };
    let list: Vec<Server> = servers
        .iter()
        .zip(weights)
        .map(|(s, w)| {
            Server::new(s.addr().ip().to_string(), s.addr().port())
                .and_then(|s| s.with_weight(w))
                .unwrap()
        })
        .collect();
    let spec: Vec<String> = list
        .iter()
        .map(|s| format!("{}:{}:{}", s.host(), s.port(), s.weight()))
        .collect();
    let spec = spec.join(",");
    let ring = Distribution::new(mode, list).unwrap();
    let mut clients = connect(&servers);

    // Theirs, read by us.
    let theirs = format!("{client}-stored-");
    interop(&python, client, "store", &spec, &theirs);
    check_placement(&ring, &mut clients, &theirs);

    // Ours, read by them.
    let ours = format!("{client}-read-");
    store_by_ring(&ring, &mut clients, &ours);
    interop(&python, client, "check", &spec, &ours);
}

#[test]
fn pylibmc_ketama_weighted() {
    run("pylibmc", Mode::KetamaWeighted, [1, 2, 3]);
}

#[test]
fn pymemcache_rendezvous() {
    run(
        "pymemcache",
        Mode::Rendezvous {
            keys: PythonKeys::Str,
        },
        [1, 1, 1],
    );
}
