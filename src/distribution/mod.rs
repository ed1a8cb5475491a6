//! Many servers: which server holds a key, computed exactly as the clients already
//! running against a fleet compute it.
//!
//! A memcached fleet is distributed by its clients: each hashes a key to one server.
//! When services in several languages share a fleet, they must agree on every key,
//! or each misses what the others stored. A [`Distribution`] is built from the
//! fleet's server list and a [`Mode`] that names the client whose mapping it
//! reproduces; [`Distribution::server_for`] answers with the server's position in
//! the list. It is pure computation (this crate does no I/O): the caller keeps one
//! connection, and one [`Codec`](crate::Codec), per server.
//!
//! Enable it with the `distribution` cargo feature.
//!
//! ```
//! use memcache_codec::distribution::{Distribution, Mode, parse_servers};
//!
//! let servers = parse_servers("10.0.0.1:11211, 10.0.0.2:11211, 10.0.0.3:11211")?;
//! let ring = Distribution::new(Mode::KetamaWeighted, servers)?;
//! let server = ring.server_for(b"user:42");
//! assert!(server < 3);
//! assert_eq!(ring.server_for(b"user:42"), server); // the same answer, every time
//! # Ok::<(), memcache_codec::distribution::DistributionError>(())
//! ```
//!
//! # Which mode
//!
//! Pick the mode of the clients the fleet already has, with the same server list
//! (same host text, same ports, same order where the mode says order matters):
//!
//! | The fleet's clients | Mode | Order of the list | Weights |
//! |---|---|---|---|
//! | libmemcached with `MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED`, pylibmc with `behaviors={"ketama_weighted": True}` (php-memcached's `OPT_LIBKETAMA_COMPATIBLE` sets the same libmemcached behavior; not tested here) | [`Mode::KetamaWeighted`] | only breaks ties | yes |
//! | libmemcached with `MEMCACHED_BEHAVIOR_KETAMA`, pylibmc with `{"ketama": True}` (and its `"hash"`) | [`Mode::Ketama`] | only breaks ties | weights above 1 switch libmemcached to weighted points |
//! | memcached's built-in proxy, `mcp.pool(backends)` with its defaults (XXH3 + jump hash); also a new fleet with nothing to match | [`Mode::ProxyJump`] | matters | no |
//! | pymemcache's `HashClient` (rendezvous hashing) | [`Mode::Rendezvous`] | no | no |
//! | gomemcache, `memcache.New(servers...)` (`ServerList`) | [`Mode::GoServerList`] | matters | list a server twice, as gomemcache does |
//! | libmemcached or pylibmc with no distribution set (modula) | [`Mode::Modula`] | matters | ignored, as libmemcached ignores them |
//!
//! How each is proven: libmemcached 1.1.4 itself answers for the ketama and modula
//! modes (a C program in `tests/oracle/` asks it for over 100 000 keys and server
//! lists of 1 to 50 servers); pymemcache itself for rendezvous; a port of
//! gomemcache's selector for `GoServerList`; and for the proxy mode, a Python
//! reimplementation of `proxy_jump_hash.c` over the `xxhash` package, checked
//! against the jump hash paper's reference values. The generated answers are kept
//! in `tests/data/distribution/` and checked by `cargo test`. A live test stores
//! 10 000 keys through pylibmc and through pymemcache on three memcached servers and
//! finds each one on the server this module names, and the other way round.
//!
//! Pass [`Distribution::server_for`] the bytes the other clients hash: libmemcached
//! hashes the key without its namespace (`MEMCACHED_CALLBACK_NAMESPACE`) unless
//! `MEMCACHED_BEHAVIOR_HASH_WITH_PREFIX_KEY` is on, and pymemcache's `HashClient`
//! hashes the key without its `key_prefix`. libmemcached's hashes read bytes through a signed `char`: a key byte of 0x80 or
//! more is routed as libmemcached on x86-64 routes it (see [`LibmemcachedHash`]).
//!
//! # Adding a server
//!
//! How many of 100 000 keys (`user:0` ...) move when an 11th server is appended to
//! 10 (`tests/distribution.rs` measures it on every run, with tolerances):
//!
//! | Mode | Keys that move | Ideal | Where they go |
//! |---|---:|---:|---|
//! | [`Mode::KetamaWeighted`] | 10.2 % | 1/11 = 9.1 % | all to the new server |
//! | [`Mode::Ketama`] (one-at-a-time / MD5) | 8.2 % / 8.8 % | 9.1 % | all to the new server |
//! | [`Mode::ProxyJump`] | 9.0 % | 9.1 % | all to the new server |
//! | [`Mode::Rendezvous`] (`str` / `bytes` keys) | 9.1 % / 9.3 % | 9.1 % | all to the new server |
//! | [`Mode::GoServerList`] | 90.9 % | 10/11 = 90.9 % | everywhere |
//! | [`Mode::Modula`] | 90.8 % | 90.9 % | everywhere |
//!
//! Ketama's share wanders around 1/11 because 100 or 160 points per server do not
//! split the ring exactly evenly. Jump hash moves 1/(n+1) only when the server is
//! added at the end of the list (and removing one is only cheap at the end).
//!
//! # Health
//!
//! The caller reports each call's outcome ([`Distribution::record_success`],
//! [`Distribution::record_failure`] with the time); a server that fails
//! `failure_limit` times in a row is dead until a retry time that backs off, and
//! [`Distribution::poll_timeout`] / [`Distribution::handle_timeout`] bring it back
//! for a probe, as [`Codec::poll_timeout`](crate::Codec::poll_timeout) does for the
//! inactivity timeout. [`Distribution::route`] applies the [`Policy`]:
//!
//! * [`Policy::FailFast`] (the default): a key keeps its server; while that server
//!   is dead, `route` refuses the key at once. Processes never disagree about where
//!   a key lives.
//! * [`Policy::Redistribute`]: the dead server leaves the ring and its keys go to
//!   the others until it is back, as libmemcached's auto-eject and pymemcache do.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use memcache_codec::distribution::{Distribution, HealthConfig, Mode, Policy, ServerState, Unavailable, parse_servers};
//!
//! let servers = parse_servers("a:11211, b:11211, c:11211")?;
//! let config = HealthConfig::DEFAULT.failure_limit(1).retry_after(Duration::from_secs(5));
//! let mut fleet = Distribution::new(Mode::KetamaWeighted, servers)?.with_health(config);
//! let t0 = Instant::now();
//! let home = fleet.server_for(b"k");
//! fleet.record_failure(home, t0); // a connection refused, a timeout, ...
//! assert_eq!(fleet.route(b"k"), Err(Unavailable::Down { server: home }));
//! assert_eq!(fleet.poll_timeout(), Some(t0 + Duration::from_secs(5)));
//! fleet.handle_timeout(t0 + Duration::from_secs(5));
//! assert_eq!(fleet.state(home), ServerState::Probing);
//! assert_eq!(fleet.route(b"k"), Ok(home)); // one try: a success revives it
//!
//! let mut ejecting = fleet.clone().with_health(config.policy(Policy::Redistribute));
//! ejecting.record_failure(home, t0);
//! let elsewhere = ejecting.route(b"k").unwrap();
//! assert_ne!(elsewhere, home);
//! # Ok::<(), memcache_codec::distribution::DistributionError>(())
//! ```
//!
//! # Batches across servers
//!
//! [`Distribution::split`] groups the keys of a multi-key retrieval by server; each
//! group is sent as one command on its server's connection, and a [`ValuesMerge`]
//! (for `get`/`gets`/`gat`/`gats`) or a [`MetaMerge`] (for quiet `mg` batches) puts
//! the answers back in the caller's key order:
//!
//! ```
//! use std::time::Instant;
//! use bytes::BytesMut;
//! use memcache_codec::Codec;
//! use memcache_codec::command::GetMulti;
//! use memcache_codec::distribution::{Distribution, Mode, Outcome, parse_servers};
//!
//! let ring = Distribution::new(Mode::ProxyJump { seed: 0 }, parse_servers("a, b, c")?)?;
//! let keys = ["k1", "k2", "k3", "k4"];
//! let split = ring.split(&keys);
//! let mut codecs = [Codec::new(), Codec::new(), Codec::new()]; // one per server
//! let mut merge = split.merge_values(&keys);
//! for group in split.groups() {
//!     let codec = &mut codecs[group.server()];
//!     let mut out = BytesMut::new();
//!     codec.send(&GetMulti::new(&group.keys(&keys)), &mut out, Instant::now())?;
//!     // ... write `out` to the server, read its reply. Here every server answers
//!     // with k3 if it was asked for it, and nothing else.
//!     let asked_k3 = group.keys(&keys).contains(&&"k3");
//!     let reply: &[u8] = if asked_k3 { b"VALUE k3 0 2\r\nv3\r\nEND\r\n" } else { b"END\r\n" };
//!     let done = codec.decode(&mut BytesMut::from(reply), Instant::now())?.unwrap();
//!     merge.add(group.server(), done.result)?;
//! }
//! assert!(merge.is_complete());
//! let found: Vec<_> = merge.items().into_iter().map(|item| item.key).collect();
//! assert_eq!(found, ["k3"]);
//! assert!(matches!(merge.outcomes()[0], Outcome::Done(None))); // k1: a miss
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! `examples/fleet.rs` drives three servers this way through the blocking adapter.

mod batch;
mod hash;
mod health;
mod ketama;
mod servers;

pub use batch::{Group, MergeError, MetaMerge, Outcome, Split, ValuesMerge};
pub use hash::LibmemcachedHash;
pub use health::{HealthConfig, Policy, ServerState};
pub use servers::{DEFAULT_PORT, MAX_HOST_LEN, Server, parse_servers};

use std::time::Instant;

use health::Health;
use ketama::Continuum;

/// How keys map to servers: each mode names the client it is byte-compatible with.
/// See the [module documentation](self) for which to pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mode {
    /// libmemcached's weighted ketama (`MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED`): MD5 of
    /// the key, first four digest bytes little-endian, on a continuum of 160 points
    /// per server scaled by the server's share of the total weight (points named
    /// `host-i` on port 11211, else `host:port-i`, four per MD5 digest).
    KetamaWeighted,
    /// libmemcached's ketama (`MEMCACHED_BEHAVIOR_KETAMA`): `hash` of the key on a
    /// continuum of 100 points per server, each the `hash` of its name. libmemcached
    /// hashes with [`LibmemcachedHash::OneAtATime`] unless `MEMCACHED_BEHAVIOR_HASH`
    /// (pylibmc: `"hash"`) says otherwise.
    ///
    /// A server of weight above 1 added after this behavior is set (pylibmc adds
    /// its servers after its behaviors) turns libmemcached's weighted points on, with
    /// the key still hashed by `hash`; this mode does the same when a weight is
    /// above 1. Servers added before the behavior was set keep unweighted points:
    /// give them weight 1 here.
    Ketama {
        /// The key hash.
        hash: LibmemcachedHash,
    },
    /// memcached's built-in proxy with its defaults (`mcp.pool(backends)`): XXH3-64
    /// of the key with `seed`, then the jump consistent hash over the servers in
    /// list order. `seed` is 0 unless the pool sets `seed = "<text>"`; then it is
    /// [`proxy_pool_seed`]`("<text>")`. Also the mode for a new fleet: fast, even,
    /// and only 1/(n+1) of the keys move when a server is added at the end.
    ProxyJump {
        /// The XXH3 seed.
        seed: u64,
    },
    /// pymemcache's `HashClient` (rendezvous hashing, `RendezvousHash`): each
    /// server scores `murmur3_32("host:port-key")`, the highest wins, a tie goes to
    /// the greater `"host:port"`. The list order does not matter.
    Rendezvous {
        /// How the Python side passes its keys: pymemcache formats the key into
        /// the text it hashes, so `"k"` and `b"k"` go to different servers.
        keys: PythonKeys,
    },
    /// gomemcache's `ServerList`: the IEEE CRC-32 of the key (its first 256 bytes)
    /// modulo the number of servers, in list order. gomemcache weights a server
    /// by listing it several times: so may this list.
    GoServerList,
    /// libmemcached's default distribution (`MEMCACHED_DISTRIBUTION_MODULA`): `hash`
    /// of the key modulo the number of servers, in list order. Adding a server moves
    /// almost every key.
    Modula {
        /// The key hash ([`LibmemcachedHash::OneAtATime`] by default).
        hash: LibmemcachedHash,
    },
}

impl Mode {
    /// A short name (`"ketama-weighted"`, `"proxy-jump"`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Self::KetamaWeighted => "ketama-weighted",
            Self::Ketama { .. } => "ketama",
            Self::ProxyJump { .. } => "proxy-jump",
            Self::Rendezvous { .. } => "rendezvous",
            Self::GoServerList => "gomemcache",
            Self::Modula { .. } => "modula",
        }
    }

    /// True if the mode has weights: a weight other than 1 is refused by the
    /// modes without them (except modula, where libmemcached ignores them).
    pub fn has_weights(&self) -> bool {
        matches!(self, Self::KetamaWeighted | Self::Ketama { .. })
    }

    /// True if [`Distribution::server_for`] can change when the server list is
    /// reordered (beyond ties between identical servers, which go to the first).
    pub fn depends_on_order(&self) -> bool {
        matches!(
            self,
            Self::ProxyJump { .. } | Self::GoServerList | Self::Modula { .. }
        )
    }
}

/// How pymemcache's caller passes keys, which decides what its rendezvous hash
/// reads (it formats the key into a string with an f-string).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum PythonKeys {
    /// Keys passed as `str` (the usual case): the key's text. A UTF-8 key (with
    /// `allow_unicode_keys`) is hashed as pymemcache does, one byte per character
    /// (the code point's low 8 bits).
    #[default]
    Str,
    /// Keys passed as `bytes`: pymemcache hashes their `repr()`, `b'...'`.
    Bytes,
}

/// The XXH3 seed of a memcached proxy pool created with `seed = "<text>"`: the
/// proxy hashes the text with XXH3-64 (`mcplib_pool`).
pub fn proxy_pool_seed(text: &str) -> u64 {
    hash::xxh3(text.as_bytes(), 0)
}

/// A server list that cannot be used, or a server that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DistributionError {
    /// The list is empty.
    #[error("no servers")]
    NoServers,
    /// Entry `index` of a list could not be parsed.
    #[error("server {index}: {source}")]
    Address {
        /// The entry's position among the list's entries.
        index: usize,
        /// What is wrong with it.
        source: AddressError,
    },
    /// The same host and port twice (gomemcache's list is the one place where
    /// that means something).
    #[error("servers {first} and {second} are both {address}")]
    Duplicate {
        /// The first position.
        first: usize,
        /// The second position.
        second: usize,
        /// `host:port`.
        address: String,
    },
    /// A weight other than 1 for a mode that has no weights.
    #[error("server {index} has weight {weight}, but {mode} has no weights")]
    WeightNotSupported {
        /// The server's position.
        index: usize,
        /// Its weight.
        weight: u32,
        /// The mode's name.
        mode: &'static str,
    },
}

/// A server address that cannot be parsed or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    /// No host.
    #[error("empty server address")]
    Empty,
    /// A host with a space, a control character, `/`, `,`, `:` or a bracket.
    #[error("bad host {host:?}")]
    BadHost {
        /// The host.
        host: String,
    },
    /// A host over [`MAX_HOST_LEN`] bytes.
    #[error("host of {len} bytes (at most 255)")]
    HostTooLong {
        /// Its length.
        len: usize,
    },
    /// An IPv6 address without brackets: `::1:11211` cannot be split.
    #[error("IPv6 address {text:?} needs brackets: [host]:port")]
    UnbracketedIpv6 {
        /// The address.
        text: String,
    },
    /// `[` without `]`.
    #[error("unclosed '['")]
    UnclosedBracket,
    /// Brackets around something that is not an IPv6 address.
    #[error("{host:?} is not an IPv6 address")]
    BadIpv6 {
        /// What was in the brackets.
        host: String,
    },
    /// A port that is not a number from 1 to 65535.
    #[error("bad port {text:?} (1 to 65535)")]
    BadPort {
        /// The port as written.
        text: String,
    },
    /// Port 0.
    #[error("port 0")]
    PortZero,
    /// A weight that is not a number that fits 32 bits.
    #[error("bad weight {text:?}")]
    BadWeight {
        /// The weight as written.
        text: String,
    },
    /// Weight 0.
    #[error("weight 0 (at least 1)")]
    WeightZero,
    /// Text after the address.
    #[error("unexpected {text:?} after the address")]
    Trailing {
        /// The text.
        text: String,
    },
}

/// Why [`Distribution::route`] sends a key nowhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Unavailable {
    /// The key's server is dead ([`Policy::FailFast`]).
    #[error("server {server} is down")]
    Down {
        /// The key's server.
        server: usize,
    },
    /// Every server is dead.
    #[error("every server is down")]
    AllDown,
}

/// The key-to-server mapping of one mode over one server list.
#[derive(Debug, Clone)]
enum Router {
    /// One server (and no ring to show): everything goes there. Also the live
    /// mapping when no server is live (never consulted then).
    Single,
    Ketama {
        continuum: Continuum,
        hash: LibmemcachedHash,
    },
    Jump {
        seed: u64,
        buckets: u32,
    },
    Rendezvous {
        /// Each server's `host:port-` as pymemcache's hash reads it.
        prefixes: Vec<Vec<u8>>,
        /// Each server's `host:port`, for ties.
        names: Vec<String>,
        keys: PythonKeys,
    },
    Crc {
        n: u32,
    },
    Modula {
        hash: LibmemcachedHash,
        n: u32,
    },
}

impl Router {
    /// `weighted`: use libmemcached's weighted points (decided on the whole list).
    fn build(mode: Mode, servers: &[&Server], weighted: bool) -> Self {
        let n = servers.len() as u32;
        if n == 1 && !mode.has_weights() {
            return Self::Single;
        }
        match mode {
            Mode::KetamaWeighted => Self::Ketama {
                continuum: Continuum::weighted(servers),
                hash: LibmemcachedHash::Md5,
            },
            Mode::Ketama { hash } => Self::Ketama {
                continuum: if weighted {
                    Continuum::weighted(servers)
                } else {
                    Continuum::unweighted(servers, hash)
                },
                hash,
            },
            Mode::ProxyJump { seed } => Self::Jump { seed, buckets: n },
            Mode::Rendezvous { keys } => {
                let names: Vec<String> = servers
                    .iter()
                    .map(|s| format!("{}:{}", s.host(), s.port()))
                    .collect();
                let prefixes = names
                    .iter()
                    .map(|name| {
                        let mut prefix = hash::python_str_bytes(name.as_bytes()).into_owned();
                        prefix.push(b'-');
                        prefix
                    })
                    .collect();
                Self::Rendezvous {
                    prefixes,
                    names,
                    keys,
                }
            }
            Mode::GoServerList => Self::Crc { n },
            Mode::Modula { hash } => Self::Modula { hash, n },
        }
    }

    fn find(&self, key: &[u8]) -> usize {
        match self {
            Self::Single => 0,
            Self::Ketama { continuum, hash } => continuum.find(hash.hash(key)),
            Self::Jump { seed, buckets } => hash::jump(hash::xxh3(key, *seed), *buckets) as usize,
            Self::Rendezvous {
                prefixes,
                names,
                keys,
            } => {
                let mut repr = Vec::new();
                let text: std::borrow::Cow<'_, [u8]> = match keys {
                    PythonKeys::Str => hash::python_str_bytes(key),
                    PythonKeys::Bytes => {
                        hash::python_bytes_repr(key, &mut repr);
                        repr.as_slice().into()
                    }
                };
                let mut best = 0;
                let mut best_score = None;
                let mut name = Vec::with_capacity(prefixes[0].len() + text.len() + 8);
                for (i, prefix) in prefixes.iter().enumerate() {
                    name.clear();
                    name.extend_from_slice(prefix);
                    name.extend_from_slice(&text);
                    let score = hash::murmur3_32(&name);
                    let wins = match best_score {
                        None => true,
                        Some(s) => score > s || (score == s && names[i] > names[best]),
                    };
                    if wins {
                        (best, best_score) = (i, Some(score));
                    }
                }
                best
            }
            Self::Crc { n } => {
                let hashed = &key[..key.len().min(256)];
                (crc32fast::hash(hashed) % n) as usize
            }
            Self::Modula { hash, n } => (hash.hash(key) % n) as usize,
        }
    }
}

/// The servers of a fleet, how keys map to them, and what is known of their health.
///
/// Built once from the server list; [`server_for`](Self::server_for) is pure and
/// fast (no allocation for ketama, jump, gomemcache and modula). Health changes only
/// through the `record_*` and `handle_timeout` calls, with the caller's clock.
#[derive(Debug, Clone)]
pub struct Distribution {
    mode: Mode,
    servers: Vec<Server>,
    /// Ketama: libmemcached's weighted points are on (any weight above 1).
    weighted: bool,
    router: Router,
    health: Vec<Health>,
    config: HealthConfig,
    /// [`Policy::Redistribute`] with a server dead: the mapping over the live
    /// servers, and their positions in the whole list. `None`: every server is live
    /// (or fail-fast).
    live: Option<(Router, Vec<usize>)>,
}

impl Distribution {
    /// A distribution of `mode` over `servers`, in the given order, every server
    /// alive, with [`HealthConfig::DEFAULT`].
    ///
    /// Errors: an empty list; the same host and port twice (except for
    /// [`Mode::GoServerList`]); a weight other than 1 for a mode without weights
    /// (except [`Mode::Modula`], which ignores weights like libmemcached).
    pub fn new(
        mode: Mode,
        servers: impl IntoIterator<Item = Server>,
    ) -> Result<Self, DistributionError> {
        let servers: Vec<Server> = servers.into_iter().collect();
        if servers.is_empty() {
            return Err(DistributionError::NoServers);
        }
        if !mode.has_weights() && !matches!(mode, Mode::Modula { .. }) {
            if let Some((index, s)) = servers.iter().enumerate().find(|(_, s)| s.weight() != 1) {
                return Err(DistributionError::WeightNotSupported {
                    index,
                    weight: s.weight(),
                    mode: mode.name(),
                });
            }
        }
        if mode != Mode::GoServerList {
            let mut seen = std::collections::HashMap::with_capacity(servers.len());
            for (i, s) in servers.iter().enumerate() {
                if let Some(first) = seen.insert((s.host(), s.port()), i) {
                    return Err(DistributionError::Duplicate {
                        first,
                        second: i,
                        address: s.address(),
                    });
                }
            }
        }
        let weighted = match mode {
            Mode::KetamaWeighted => true,
            Mode::Ketama { .. } => servers.iter().any(|s| s.weight() > 1),
            _ => false,
        };
        let refs: Vec<&Server> = servers.iter().collect();
        let router = Router::build(mode, &refs, weighted);
        Ok(Self {
            mode,
            health: vec![Health::NEW; servers.len()],
            servers,
            weighted,
            router,
            config: HealthConfig::DEFAULT,
            live: None,
        })
    }

    /// The same distribution with another health configuration. Health so far is
    /// kept; the policy applies from now on.
    pub fn with_health(mut self, config: HealthConfig) -> Self {
        self.config = config;
        self.rebuild_live();
        self
    }

    /// The server `key` belongs to, by position in the list: the mapping of the
    /// mode over the whole list, whatever the servers' health. This is what the
    /// other clients of the fleet compute.
    pub fn server_for(&self, key: &[u8]) -> usize {
        self.router.find(key)
    }

    /// The server to send `key` to now, under the [`Policy`]:
    ///
    /// * fail fast: [`server_for`](Self::server_for), or [`Unavailable::Down`] while
    ///   that server is dead;
    /// * redistribute: `server_for` while every server is live; else the mode's
    ///   mapping over the live servers only, or [`Unavailable::AllDown`].
    pub fn route(&self, key: &[u8]) -> Result<usize, Unavailable> {
        match &self.live {
            None => {
                let server = self.router.find(key);
                if self.health[server].is_live() {
                    Ok(server)
                } else {
                    Err(Unavailable::Down { server })
                }
            }
            Some((_, live)) if live.is_empty() => Err(Unavailable::AllDown),
            Some((router, live)) => Ok(live[router.find(key)]),
        }
    }

    /// Groups `keys` by the server [`route`](Self::route) sends each to, for one
    /// command per server (see [`Split`]).
    pub fn split<K: AsRef<[u8]>>(&self, keys: &[K]) -> Split {
        let mut split = Split::new(self.servers.len(), keys.len());
        for (position, key) in keys.iter().enumerate() {
            split.push(position, self.route(key.as_ref()));
        }
        split
    }

    /// The ketama continuum, for inspection (comparing with another client's dump,
    /// counting a server's share): every point, ascending by value, with its server;
    /// points of equal value are ordered by server. `None` for the other modes.
    pub fn continuum(&self) -> Option<Vec<(u32, usize)>> {
        match &self.router {
            Router::Ketama { continuum, .. } => Some(continuum.points().collect()),
            _ => None,
        }
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The servers, in list order: [`server_for`](Self::server_for) answers with
    /// positions in this list.
    pub fn servers(&self) -> &[Server] {
        &self.servers
    }

    /// How many servers.
    pub fn len(&self) -> usize {
        self.servers.len()
    }

    /// Always false: a distribution has at least one server.
    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }

    /// True if libmemcached's weighted points are in use (ketama modes).
    pub fn is_weighted(&self) -> bool {
        self.weighted
    }

    /// The health configuration.
    pub fn health_config(&self) -> &HealthConfig {
        &self.config
    }

    /// Where `server` stands.
    ///
    /// `server` is a position in [`servers`](Self::servers), as
    /// [`server_for`](Self::server_for) returns: this and the other methods taking a
    /// server panic on a position past the list, like slice indexing.
    pub fn state(&self, server: usize) -> ServerState {
        self.health[server].state
    }

    /// Failures in a row of a live server (0 after a success or while dead).
    pub fn failures(&self, server: usize) -> u32 {
        self.health[server].failures
    }

    /// True unless `server` is dead.
    pub fn is_live(&self, server: usize) -> bool {
        self.health[server].is_live()
    }

    /// A call to `server` failed at `now` (refused, reset, timed out, a
    /// [`ConnectionError`](crate::ConnectionError)). memcached's own error lines
    /// are answers, not failures. Returns the server's state after it.
    pub fn record_failure(&mut self, server: usize, now: Instant) -> ServerState {
        let was_live = self.health[server].is_live();
        self.health[server].failure(&self.config, now);
        if was_live != self.health[server].is_live() {
            self.rebuild_live();
        }
        self.health[server].state
    }

    /// A call to `server` got its answer: it is alive, its counts reset.
    pub fn record_success(&mut self, server: usize) {
        let was_live = self.health[server].is_live();
        self.health[server].success();
        if !was_live {
            self.rebuild_live();
        }
    }

    /// The earliest time a dead server may be retried: call
    /// [`handle_timeout`](Self::handle_timeout) then. `None` while none is dead.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.health.iter().filter_map(Health::deadline).min()
    }

    /// Makes every dead server whose retry time has come [`ServerState::Probing`]:
    /// it takes traffic again, and its next outcome decides. Calling it early
    /// changes nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut changed = false;
        for health in &mut self.health {
            changed |= health.tick(now);
        }
        if changed {
            self.rebuild_live();
        }
    }

    /// Recomputes the live mapping after a server died or came back.
    fn rebuild_live(&mut self) {
        let all_live = self.health.iter().all(Health::is_live);
        if self.config.get_policy() != Policy::Redistribute || all_live {
            self.live = None;
            return;
        }
        let live: Vec<usize> = (0..self.servers.len())
            .filter(|&i| self.health[i].is_live())
            .collect();
        let refs: Vec<&Server> = live.iter().map(|&i| &self.servers[i]).collect();
        let router = if refs.is_empty() {
            Router::Single
        } else {
            Router::build(self.mode, &refs, self.weighted)
        };
        self.live = Some((router, live));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fleet(mode: Mode, n: usize) -> Distribution {
        let servers = (0..n).map(|i| Server::new(format!("10.0.0.{i}"), 11211).unwrap());
        Distribution::new(mode, servers).unwrap()
    }

    #[test]
    fn refuses_bad_lists() {
        assert_eq!(
            Distribution::new(Mode::KetamaWeighted, []).unwrap_err(),
            DistributionError::NoServers
        );
        let twice = parse_servers("a:1, b:1, a:1").unwrap();
        assert_eq!(
            Distribution::new(Mode::KetamaWeighted, twice.clone()).unwrap_err(),
            DistributionError::Duplicate {
                first: 0,
                second: 2,
                address: "a:1".into()
            }
        );
        assert!(Distribution::new(Mode::GoServerList, twice).is_ok());
        let weighted = parse_servers("a:1, b:1 2").unwrap();
        for mode in [
            Mode::ProxyJump { seed: 0 },
            Mode::Rendezvous {
                keys: PythonKeys::Str,
            },
            Mode::GoServerList,
        ] {
            assert_eq!(
                Distribution::new(mode, weighted.clone()).unwrap_err(),
                DistributionError::WeightNotSupported {
                    index: 1,
                    weight: 2,
                    mode: mode.name()
                }
            );
        }
        let modula = Distribution::new(
            Mode::Modula {
                hash: LibmemcachedHash::OneAtATime,
            },
            weighted.clone(),
        )
        .unwrap();
        assert!(!modula.is_weighted());
        let ketama = Distribution::new(
            Mode::Ketama {
                hash: LibmemcachedHash::Md5,
            },
            weighted,
        )
        .unwrap();
        assert!(ketama.is_weighted());
    }

    #[test]
    fn one_server_takes_everything() {
        for mode in [
            Mode::KetamaWeighted,
            Mode::ProxyJump { seed: 9 },
            Mode::GoServerList,
        ] {
            let one = fleet(mode, 1);
            assert!((0..1000u32).all(|i| one.server_for(&i.to_le_bytes()) == 0));
        }
    }

    #[test]
    fn gomemcache_hashes_the_first_256_bytes() {
        let go = fleet(Mode::GoServerList, 7);
        let long = vec![b'x'; 300];
        let crc = crc32fast::hash(&long[..256]);
        assert_eq!(go.server_for(&long), (crc % 7) as usize);
        assert_eq!(
            go.server_for(b"foo"),
            (crc32fast::hash(b"foo") % 7) as usize
        );
    }

    #[test]
    fn redistribute_only_moves_the_dead_servers_keys() {
        let config = HealthConfig::DEFAULT
            .failure_limit(1)
            .policy(Policy::Redistribute);
        let t0 = Instant::now();
        for mode in [
            Mode::KetamaWeighted,
            Mode::Rendezvous {
                keys: PythonKeys::Str,
            },
        ] {
            let mut d = fleet(mode, 5).with_health(config);
            d.record_failure(2, t0);
            assert_eq!(
                d.state(2),
                ServerState::Dead {
                    retry_at: t0 + std::time::Duration::from_secs(1)
                }
            );
            for i in 0..5000u32 {
                let key = format!("key:{i}");
                let home = d.server_for(key.as_bytes());
                let now = d.route(key.as_bytes()).unwrap();
                if home == 2 {
                    assert_ne!(now, 2);
                } else {
                    assert_eq!(now, home, "{mode:?} moved {key}");
                }
            }
            for s in [0, 1, 3, 4] {
                d.record_failure(s, t0);
            }
            assert_eq!(d.route(b"x"), Err(Unavailable::AllDown));
            d.record_success(3);
            assert_eq!(d.route(b"x"), Ok(3));
        }
    }

    #[test]
    fn probing_and_backoff_through_the_distribution() {
        let config = HealthConfig::DEFAULT.failure_limit(2);
        let t0 = Instant::now();
        let mut d = fleet(Mode::ProxyJump { seed: 0 }, 3).with_health(config);
        assert_eq!(d.poll_timeout(), None);
        assert_eq!(d.record_failure(1, t0), ServerState::Alive);
        assert_eq!(d.failures(1), 1);
        let one = std::time::Duration::from_secs(1);
        assert_eq!(
            d.record_failure(1, t0),
            ServerState::Dead { retry_at: t0 + one }
        );
        assert_eq!(d.poll_timeout(), Some(t0 + one));
        d.handle_timeout(t0);
        assert!(!d.is_live(1));
        d.handle_timeout(t0 + one);
        assert_eq!(d.state(1), ServerState::Probing);
        assert_eq!(d.poll_timeout(), None);
        assert_eq!(
            d.record_failure(1, t0 + one),
            ServerState::Dead {
                retry_at: t0 + 3 * one
            }
        );
        d.record_success(1);
        assert_eq!(d.state(1), ServerState::Alive);
    }
}
