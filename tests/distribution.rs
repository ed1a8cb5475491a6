//! `memcache_codec::distribution` through its public API: how many keys move when a
//! server joins, and properties (proptest): routing is deterministic, total, and
//! independent of the list's order where the mode says so; health changes only the
//! servers it should; a retrieval split across servers and merged back equals what
//! one server holding every key answers (the servers are `memcache_testkit` models
//! of memcached 1.6.18, one per server).

use std::time::{Duration, Instant};

use bytes::BytesMut;
use memcache_codec::command::{GetMulti, MetaGet};
use memcache_codec::distribution::{
    Distribution, HealthConfig, LibmemcachedHash, MergeError, Mode, Outcome, Policy, PythonKeys,
    Server, ServerState, Unavailable, parse_servers,
};
use memcache_codec::response::{Item, MetaStatus};
use memcache_codec::{Codec, Completion, Response};
use memcache_testkit::Server as Model;
use proptest::prelude::*;

const ALL_MODES: [Mode; 8] = [
    Mode::KetamaWeighted,
    Mode::Ketama {
        hash: LibmemcachedHash::OneAtATime,
    },
    Mode::Ketama {
        hash: LibmemcachedHash::Md5,
    },
    Mode::ProxyJump { seed: 0 },
    Mode::Rendezvous {
        keys: PythonKeys::Str,
    },
    Mode::Rendezvous {
        keys: PythonKeys::Bytes,
    },
    Mode::GoServerList,
    Mode::Modula {
        hash: LibmemcachedHash::OneAtATime,
    },
];

fn servers(n: usize) -> Vec<Server> {
    (0..n)
        .map(|i| Server::new(format!("10.1.0.{}", i + 1), 11211).unwrap())
        .collect()
}

// ---------------------------------------------------------------------------------
// Adding an 11th server to 10
// ---------------------------------------------------------------------------------

/// The share of 100 000 keys that move when an 11th server is appended to 10, and
/// whether every moved key moved to the new server.
fn moved(mode: Mode) -> (f64, bool) {
    let ten = Distribution::new(mode, servers(10)).unwrap();
    let eleven = Distribution::new(mode, servers(11)).unwrap();
    let (mut moved, mut only_to_new) = (0, true);
    for i in 0..100_000 {
        let key = format!("user:{i}");
        let (a, b) = (
            ten.server_for(key.as_bytes()),
            eleven.server_for(key.as_bytes()),
        );
        if a != b {
            moved += 1;
            only_to_new &= b == 10;
        }
    }
    (f64::from(moved) / 100_000.0, only_to_new)
}

#[test]
fn adding_an_eleventh_server() {
    let mut report = String::from("\nkeys moved by adding an 11th server to 10 (100 000 keys):\n");
    for mode in ALL_MODES {
        let (share, only_to_new) = moved(mode);
        report += &format!(
            "  {:>16}: {:5.2} %\n",
            format!("{mode:?}").split(' ').next().unwrap(),
            share * 100.0
        );
        let consistent = !matches!(mode, Mode::GoServerList | Mode::Modula { .. });
        if consistent {
            // 1/11 = 9.09 %; ketama's 100-160 points per server spread it a little.
            let tolerance = if mode.has_weights() { 0.025 } else { 0.006 };
            assert!(
                (share - 1.0 / 11.0).abs() < tolerance,
                "{mode:?}: {share} moved, expected about 1/11"
            );
            assert!(only_to_new, "{mode:?}: a key moved between old servers");
        } else {
            assert!(
                (share - 10.0 / 11.0).abs() < 0.01,
                "{mode:?}: {share} moved, expected about 10/11"
            );
        }
    }
    eprintln!("{report}");
}

// ---------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------

fn mode_strategy() -> impl Strategy<Value = Mode> {
    prop::sample::select(ALL_MODES.to_vec())
}

/// Distinct servers, weights where the mode has them.
fn fleet_strategy(max: usize) -> impl Strategy<Value = (Mode, Vec<Server>)> {
    (
        mode_strategy(),
        prop::collection::btree_set((0u8..40, 11211u16..11215), 1..=max),
        prop::collection::vec(1u32..5, max),
    )
        .prop_map(|(mode, addresses, weights)| {
            let list = addresses
                .into_iter()
                .zip(weights)
                .map(|((host, port), w)| {
                    let s = Server::new(format!("mc{host}.example"), port).unwrap();
                    if mode.has_weights() {
                        s.with_weight(w).unwrap()
                    } else {
                        s
                    }
                })
                .collect();
            (mode, list)
        })
}

fn key_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[a-z:0-9]{1,40}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

/// The key hash ketama looks up with.
fn ketama_hash(mode: Mode, key: &[u8]) -> u32 {
    match mode {
        Mode::Ketama { hash } => hash.hash(key),
        _ => LibmemcachedHash::Md5.hash(key),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    /// The same list gives the same answer, always within the list.
    #[test]
    fn deterministic_and_in_range(
        (mode, list) in fleet_strategy(12),
        keys in prop::collection::vec(key_strategy(), 1..40),
    ) {
        let a = Distribution::new(mode, list.clone()).unwrap();
        let b = Distribution::new(mode, list.clone()).unwrap();
        for key in &keys {
            let s = a.server_for(key);
            prop_assert!(s < list.len());
            prop_assert_eq!(s, b.server_for(key));
            prop_assert_eq!(a.route(key), Ok(s));
        }
    }

    /// Reordering the list changes nothing for ketama and rendezvous (ketama: up to
    /// points of equal value, which go to the server listed first, as in
    /// libmemcached).
    #[test]
    fn order_independent_where_the_mode_says_so(
        (mode, list) in fleet_strategy(10),
        keys in prop::collection::vec(key_strategy(), 1..40),
        shuffle in any::<prop::sample::Index>(),
    ) {
        prop_assume!(!mode.depends_on_order());
        let mut other = list.clone();
        other.rotate_left(shuffle.index(list.len()));
        other.reverse();
        let a = Distribution::new(mode, list).unwrap();
        let b = Distribution::new(mode, other).unwrap();
        for key in &keys {
            let (sa, sb) = (&a.servers()[a.server_for(key)], &b.servers()[b.server_for(key)]);
            if sa != sb {
                // Only a tie explains it: the point found has a twin of another server.
                let ring = a.continuum().expect("only ketama can tie");
                let h = ketama_hash(mode, key);
                let at = ring.iter().find(|p| p.0 >= h).unwrap_or(&ring[0]).0;
                let owners = ring.iter().filter(|p| p.0 == at).count();
                prop_assert!(owners > 1, "{:?}: {:?} went to {} and {}", mode, key, sa, sb);
            }
        }
    }

    /// Under either policy, with any servers dead, `route` is total: a live server
    /// for every key while one is live. Fail fast never moves a key; redistribute
    /// moves only the dead servers' keys under rendezvous and equal-weight ketama
    /// (unequal weights are rescaled over the live servers, as libmemcached does, so
    /// a few more keys move; jump, gomemcache and modula reshuffle).
    #[test]
    fn routing_is_total(
        (mode, list) in fleet_strategy(8),
        dead in prop::collection::vec(any::<bool>(), 8),
        redistribute in any::<bool>(),
        keys in prop::collection::vec(key_strategy(), 1..40),
    ) {
        let policy = if redistribute { Policy::Redistribute } else { Policy::FailFast };
        let config = HealthConfig::DEFAULT.failure_limit(1).policy(policy);
        let mut d = Distribution::new(mode, list.clone()).unwrap().with_health(config);
        let t0 = Instant::now();
        for (i, _) in list.iter().enumerate().filter(|&(i, _)| dead[i]) {
            let state = d.record_failure(i, t0);
            prop_assert!(matches!(state, ServerState::Dead { .. }), "{:?}", state);
        }
        let any_live = (0..list.len()).any(|i| !dead[i]);
        let equal_weights = list.iter().all(|s| s.weight() == list[0].weight());
        let stays = matches!(mode, Mode::Rendezvous { .. }) || (mode.has_weights() && equal_weights);
        for key in &keys {
            let home = d.server_for(key);
            match (policy, d.route(key)) {
                (_, Ok(s)) => {
                    prop_assert!(d.is_live(s));
                    if policy == Policy::FailFast || (stays && !dead[home]) {
                        prop_assert_eq!(s, home, "a live server keeps its keys");
                    }
                }
                (Policy::FailFast, Err(Unavailable::Down { server })) => {
                    prop_assert_eq!(server, home);
                    prop_assert!(dead[home]);
                }
                (Policy::Redistribute, Err(Unavailable::AllDown)) => prop_assert!(!any_live),
                (_, Err(e)) => prop_assert!(false, "unexpected {e:?}"),
            }
        }
        // Every dead server comes back for a probe at its retry time.
        d.handle_timeout(t0 + Duration::from_secs(1));
        prop_assert_eq!(d.poll_timeout(), None);
        for key in &keys {
            prop_assert_eq!(d.route(key), Ok(d.server_for(key)));
        }
    }

    /// Classic multi-gets split across servers and merged equal the single-server
    /// answer; so do quiet `mg` batches, key by key.
    #[test]
    fn split_and_merge_equal_one_server(
        (mode, list) in fleet_strategy(6),
        keys in prop::collection::vec(0u8..24, 1..40),
        stored in prop::collection::vec(any::<bool>(), 24),
        with_cas in any::<bool>(),
    ) {
        let d = Distribution::new(mode, list.clone()).unwrap();
        let keys: Vec<String> = keys.iter().map(|k| format!("key:{k}")).collect();
        let mut models: Vec<Model> = (0..list.len()).map(|_| Model::new()).collect();
        let mut single = Model::new();
        for (k, _) in stored.iter().enumerate().filter(|(_, s)| **s) {
            let key = format!("key:{k}");
            let set = format!("set {key} {k} 0 {}\r\nvalue-{key}\r\n", key.len() + 6);
            let mut sink = Vec::new();
            models[d.server_for(key.as_bytes())].feed(set.as_bytes(), &mut sink);
            single.feed(set.as_bytes(), &mut sink);
        }

        // Classic: the hits of one server's reply, key by key.
        let all: Vec<&String> = keys.iter().collect();
        let want = exchange(&mut single, |c, out| { c.send(&get(&all, with_cas), out, now()).unwrap(); })
            .pop().unwrap().result.unwrap().into_items().unwrap().into_vec();
        let split = d.split(&keys);
        prop_assert!(split.unavailable().is_empty());
        let mut merge = split.merge_values(&keys);
        for group in split.groups() {
            let mine = group.keys(&keys);
            let done = exchange(&mut models[group.server()], |c, out| {
                c.send(&get(&mine, with_cas), out, now()).unwrap();
            }).pop().unwrap();
            merge.add(group.server(), done.result).unwrap();
        }
        prop_assert!(merge.is_complete());
        // cas uniques are per server: compare them only for being present.
        let strip = |items: Vec<Item>| -> Vec<_> {
            items.into_iter().map(|i| (i.key, i.value.flags, i.value.cas.is_some(), i.value.data)).collect()
        };
        prop_assert_eq!(strip(merge.items()), strip(want));

        // Meta: a quiet mg batch per server.
        let mut batch = None;
        let want: Vec<(MetaStatus, Option<bytes::Bytes>)> = exchange(&mut single, |c, out| {
            batch = Some(c.send_quiet_batch(&gets(&all), out, now()).unwrap());
        })
        .into_iter()
        .filter(|done| done.token != batch.unwrap().fence())
        .map(|done| {
            let m = done.result.unwrap().into_meta().unwrap();
            (m.status, m.value_bytes())
        })
        .collect();
        let mut merge = split.merge_meta();
        for group in split.groups() {
            let mine = group.keys(&keys);
            let mut batch = None;
            let dones = exchange(&mut models[group.server()], |c, out| {
                batch = Some(c.send_quiet_batch(&gets(&mine), out, now()).unwrap());
            });
            for done in dones {
                merge.add(group.server(), &batch.unwrap(), done).unwrap();
            }
        }
        prop_assert!(merge.is_complete());
        let got: Vec<_> = merge
            .into_outcomes()
            .into_iter()
            .map(|o| {
                let m = o.done().expect("every key answered");
                (m.status, m.value_bytes())
            })
            .collect();
        prop_assert_eq!(got, want);
    }
}

fn now() -> Instant {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *START.get_or_init(Instant::now)
}

/// `get`/`gets` of `keys`.
fn get<'a, 'k>(keys: &'a [&'k String], with_cas: bool) -> GetMulti<'a, &'k String> {
    let get = GetMulti::new(keys);
    if with_cas { get.with_cas() } else { get }
}

/// One `mg <key> v f` per key.
fn gets<'a>(keys: &[&'a String]) -> Vec<MetaGet<'a>> {
    keys.iter()
        .map(|k| {
            MetaGet::new(k.as_str())
                .return_value()
                .return_client_flags()
        })
        .collect()
}

/// Sends what `send` encodes to `model` on a fresh codec and decodes every
/// completion of its reply.
fn exchange(model: &mut Model, send: impl FnOnce(&mut Codec, &mut BytesMut)) -> Vec<Completion> {
    let mut codec = Codec::new();
    let mut out = BytesMut::new();
    send(&mut codec, &mut out);
    let mut reply = Vec::new();
    model.feed(&out, &mut reply);
    let mut input = BytesMut::from(&reply[..]);
    let mut done = Vec::new();
    while let Some(completion) = codec.decode(&mut input, now()).unwrap() {
        done.push(completion);
    }
    assert_eq!(codec.pending(), 0, "the model answered every command");
    done
}

// ---------------------------------------------------------------------------------
// Merges: keys that were not sent, and mix-ups
// ---------------------------------------------------------------------------------

#[test]
fn fail_fast_keys_of_a_dead_server_are_unavailable_in_a_split() {
    let config = HealthConfig::DEFAULT.failure_limit(1);
    let mut d = Distribution::new(Mode::ProxyJump { seed: 0 }, servers(3))
        .unwrap()
        .with_health(config);
    let keys: Vec<String> = (0..30).map(|i| format!("k{i}")).collect();
    d.record_failure(1, Instant::now());
    let split = d.split(&keys);
    assert!(split.group(1).is_none());
    let lost: Vec<usize> = split.unavailable().iter().map(|&(p, _)| p).collect();
    let expected: Vec<usize> = (0..30)
        .filter(|&i| d.server_for(keys[i].as_bytes()) == 1)
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(lost, expected);
    let merge = split.merge_values(&keys);
    for &p in &lost {
        assert_eq!(
            merge.outcomes()[p],
            Outcome::Unavailable(Unavailable::Down { server: 1 })
        );
    }
}

#[test]
fn merge_mix_ups_are_errors() {
    let d = Distribution::new(Mode::GoServerList, parse_servers("a, b").unwrap()).unwrap();
    let keys = ["x", "y", "z", "w"];
    let split = d.split(&keys);
    let g = split.groups()[0].server();
    let mut merge = split.merge_values(&keys);
    assert_eq!(
        merge.add(7, Ok(Response::Stored)),
        Err(MergeError::NoGroup { server: 7 })
    );
    assert_eq!(
        merge.add(g, Ok(Response::Stored)),
        Err(MergeError::NotValues)
    );
    // A reply carrying a key of the other server.
    let other = split.groups()[1].keys(&keys)[0];
    let mut codec = Codec::new();
    let mut out = BytesMut::new();
    codec
        .send(&GetMulti::new(&[other]), &mut out, now())
        .unwrap();
    let reply = format!("VALUE {other} 0 1\r\nv\r\nEND\r\n");
    let done = codec
        .decode(&mut BytesMut::from(reply.as_bytes()), now())
        .unwrap()
        .unwrap();
    assert_eq!(
        merge.add(g, done.result),
        Err(MergeError::UnexpectedKey {
            server: g,
            key: bytes::Bytes::from(other.as_bytes().to_vec())
        })
    );
    assert!(!merge.is_complete());
    // A connection failure fails the group's keys, once.
    let lost = Err(memcache_codec::CommandError::Connection(
        memcache_codec::ConnectionError::Closed,
    ));
    merge.add(g, lost.clone()).unwrap();
    assert_eq!(
        merge.add(g, lost),
        Err(MergeError::AlreadyMerged { server: g })
    );
    for &p in split.groups()[0].positions() {
        assert!(matches!(merge.outcomes()[p], Outcome::Failed(_)));
    }
}

#[test]
fn meta_merge_mix_ups_are_errors() {
    let d = Distribution::new(Mode::GoServerList, parse_servers("a, b").unwrap()).unwrap();
    let keys = ["x", "y", "z", "w"];
    let split = d.split(&keys);
    let group = &split.groups()[0];
    let mine: Vec<&str> = group.keys(&keys).into_iter().copied().collect();
    let mut codec = Codec::new();
    let mut out = BytesMut::new();
    let gets: Vec<MetaGet<'_>> = mine
        .iter()
        .map(|k| MetaGet::new(*k).return_value())
        .collect();
    let batch = codec.send_quiet_batch(&gets, &mut out, now()).unwrap();
    let short = codec.send_quiet_batch(&gets[..1], &mut out, now()).unwrap();
    let mut merge = split.merge_meta();
    let fence = Completion {
        token: batch.fence(),
        result: Ok(Response::Noop),
    };
    assert_eq!(
        merge.add(group.server(), &short, fence.clone()),
        Err(MergeError::BatchSize {
            server: group.server(),
            batch: 1,
            group: mine.len()
        })
    );
    let stranger = Completion {
        token: short.token(0).unwrap(),
        result: Ok(Response::Noop),
    };
    let token = stranger.token.index();
    assert_eq!(
        merge.add(group.server(), &batch, stranger),
        Err(MergeError::NotInBatch { token })
    );
    let first = batch.token(0).unwrap();
    let not_meta = Completion {
        token: first,
        result: Ok(Response::Noop),
    };
    assert_eq!(
        merge.add(group.server(), &batch, not_meta),
        Err(MergeError::NotMeta)
    );
    let mut inferred_miss = memcache_codec::response::MetaResponse::default();
    inferred_miss.status = MetaStatus::Miss;
    inferred_miss.inferred = true;
    let miss = Completion {
        token: first,
        result: Ok(Response::Meta(inferred_miss)),
    };
    merge.add(group.server(), &batch, miss.clone()).unwrap();
    assert_eq!(
        merge.add(group.server(), &batch, miss),
        Err(MergeError::AlreadyMerged {
            server: group.server()
        })
    );
    assert_eq!(merge.add(group.server(), &batch, fence), Ok(()));
    assert!(!merge.is_complete());
}
