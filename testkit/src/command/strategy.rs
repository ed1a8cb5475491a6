//! proptest strategies for [`Cmd`]s (the `proptest` feature).
//!
//! Every strategy draws its operands from a [`Domain`]: the keys a session shares (few,
//! so commands collide), the values, exptimes, numbers, client flags, cas uniques and
//! opaques. [`cmd`] is the mix of a generated session; one strategy per command lets a
//! test build its own mix.
//!
//! Meta flags are generated in a fixed call order (the order listed on each strategy),
//! so each generated command writes one canonical line. Cas uniques and opaques depend
//! on what the session saw when the command is sent: generate placeholders from the
//! domain and set them at send time with [`Cmd::compare_cas_mut`] and
//! [`Cmd::opaque_mut`].

use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;
use proptest::{bool as pbool, collection, option, sample};

use memcache_codec::command::{Automove, LruMode, RawShape, WatchKind};

use super::{Cmd, Key, MaFlag, MaMode, MdFlag, MgFlag, MsFlag, MsMode, Opaque, StatsArgs};
use super::{CrawlerCmd, Factor, LruCmd, SlabsCmd, StoreMode, Target, Value, Word};

/// Where generated commands take their operands from.
#[derive(Debug, Clone)]
pub struct Domain {
    /// Keys.
    pub key: BoxedStrategy<Key>,
    /// Data blocks.
    pub value: BoxedStrategy<Value>,
    /// Raw exptimes (`Exptime::as_raw`): storage exptimes, TTLs, touches.
    pub exptime: BoxedStrategy<i32>,
    /// `incr`/`decr`/`ma` deltas and `ma` initial values.
    pub number: BoxedStrategy<u64>,
    /// Client flags.
    pub client_flags: BoxedStrategy<u64>,
    /// The unique of `cas` and of a meta `C` flag.
    pub cas: BoxedStrategy<u64>,
    /// Meta opaques.
    pub opaque: BoxedStrategy<Opaque>,
}

impl Domain {
    /// A domain over `keys`, each as likely; the other operands take [`Domain::values`],
    /// [`Domain::exptimes`], [`Domain::numbers`], [`Domain::client_flag_values`], any
    /// `u64` as cas unique and a short decimal opaque. Replace fields to narrow them.
    pub fn new(keys: &[&[u8]]) -> Self {
        Self {
            key: pool(keys),
            value: Self::values().prop_map(Value).boxed(),
            exptime: Self::exptimes().boxed(),
            number: Self::numbers().boxed(),
            client_flags: Self::client_flag_values().boxed(),
            cas: any::<u64>().boxed(),
            opaque: "[0-9]{1,3}".prop_map(Opaque::from).boxed(),
        }
    }

    /// Values that trip naive decoders: protocol text, CRLF, empty, numbers for `incr`,
    /// and arbitrary bytes.
    pub fn values() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(b"".to_vec()),
            Just(b"\r\n".to_vec()),
            Just(b"END\r\n".to_vec()),
            Just(b"\r\nEND\r\nVALUE a 0 1\r\n".to_vec()),
            Just(b"VA 1\r\nHD\r\n".to_vec()),
            Just(b"5".to_vec()),
            Just(b"100".to_vec()),
            Just(b"18446744073709551615".to_vec()),
            Just(b" 12".to_vec()),
            Just(b"12 ".to_vec()),
            Just(b"-0".to_vec()),
            collection::vec(any::<u8>(), 0..300),
            "[0-9]{1,20}".prop_map(String::into_bytes),
        ]
    }

    /// Never (mostly), expired, relative times up to the 30-day limit.
    pub fn exptimes() -> impl Strategy<Value = i32> {
        prop_oneof![
            4 => Just(0),
            1 => Just(-1),
            1 => Just(100),
            1 => Just(2_592_000),
        ]
    }

    /// The edges of `u64` and small numbers.
    pub fn numbers() -> impl Strategy<Value = u64> {
        prop_oneof![
            Just(0u64),
            Just(1),
            Just(u64::MAX),
            Just(u64::MAX - 1),
            any::<u64>(),
            0..1000u64
        ]
    }

    /// 0, the largest 4-byte value, or any 4-byte value: what every server stores.
    pub fn client_flag_values() -> impl Strategy<Value = u64> {
        prop_oneof![
            Just(0),
            Just(u64::from(u32::MAX)),
            any::<u32>().prop_map(u64::from)
        ]
    }

    /// [`client_flag_values`](Self::client_flag_values) three times in four, else a
    /// value only a server with 8-byte client flags stores (`2^32`, the largest, any).
    pub fn large_client_flag_values() -> impl Strategy<Value = u64> {
        prop_oneof![
            3 => Self::client_flag_values(),
            1 => prop_oneof![Just(1u64 << 32), Just(u64::MAX), (1u64 << 32)..=u64::MAX],
        ]
    }
}

/// One of `items`, each as likely.
pub fn pool<T>(items: &[&[u8]]) -> BoxedStrategy<T>
where
    T: for<'a> From<&'a [u8]> + Clone + std::fmt::Debug + 'static,
{
    let items: Vec<T> = items.iter().map(|&i| T::from(i)).collect();
    sample::select(items).boxed()
}

/// `get`/`gets`/`gat`/`gats` with one key (`touch` one time in five).
pub fn get(d: &Domain) -> impl Strategy<Value = Cmd> + use<> {
    (
        d.key.clone(),
        any::<bool>(),
        option::weighted(0.2, d.exptime.clone()),
    )
        .prop_map(|(key, cas, touch)| Cmd::Get { key, cas, touch })
}

/// The same with 1 to 5 keys.
pub fn get_multi(d: &Domain) -> impl Strategy<Value = Cmd> + use<> {
    (
        collection::vec(d.key.clone(), 1..6),
        any::<bool>(),
        option::weighted(0.2, d.exptime.clone()),
    )
        .prop_map(|(keys, cas, touch)| Cmd::GetMulti { keys, cas, touch })
}

/// `set` (3), `add`, `replace`, `append`, `prepend` (1 each), `cas` (2); noreply
/// 15% of the time.
pub fn store(d: &Domain) -> impl Strategy<Value = Cmd> + use<> {
    let mode = prop_oneof![
        3 => Just(StoreMode::Set),
        1 => Just(StoreMode::Add),
        1 => Just(StoreMode::Replace),
        1 => Just(StoreMode::Append),
        1 => Just(StoreMode::Prepend),
        2 => d.cas.clone().prop_map(StoreMode::Cas),
    ];
    (
        mode,
        d.key.clone(),
        d.value.clone(),
        d.client_flags.clone(),
        d.exptime.clone(),
        pbool::weighted(0.15),
    )
        .prop_map(|(mode, key, value, flags, exptime, noreply)| Cmd::Store {
            mode,
            key,
            value,
            flags,
            exptime,
            noreply,
        })
}

/// `incr` or `decr`; noreply 15% of the time.
pub fn arithmetic(d: &Domain) -> impl Strategy<Value = Cmd> + use<> {
    (
        any::<bool>(),
        d.key.clone(),
        d.number.clone(),
        pbool::weighted(0.15),
    )
        .prop_map(|(incr, key, delta, noreply)| {
            if incr {
                Cmd::Incr {
                    key,
                    delta,
                    noreply,
                }
            } else {
                Cmd::Decr {
                    key,
                    delta,
                    noreply,
                }
            }
        })
}

/// `delete`; noreply 15% of the time.
pub fn delete(d: &Domain) -> impl Strategy<Value = Cmd> + use<> {
    (d.key.clone(), pbool::weighted(0.15)).prop_map(|(key, noreply)| Cmd::Delete { key, noreply })
}

/// `touch`; noreply 15% of the time.
pub fn touch(d: &Domain) -> impl Strategy<Value = Cmd> + use<> {
    (d.key.clone(), d.exptime.clone(), pbool::weighted(0.15)).prop_map(|(key, exptime, noreply)| {
        Cmd::Touch {
            key,
            exptime,
            noreply,
        }
    })
}

/// `verbosity 0..=2`, noreply half the time.
pub fn verbosity() -> impl Strategy<Value = Cmd> {
    (0..3u32, any::<bool>()).prop_map(|(level, noreply)| Cmd::Verbosity { level, noreply })
}

/// `stats`, `stats settings|items|slabs|sizes|reset`, `stats detail on`,
/// `stats detail dump`, `stats cachedump 1 0`, each as likely.
pub fn stats() -> impl Strategy<Value = Cmd> {
    let word = |w: &str| Just(StatsArgs::Word(Word::from(w)));
    prop_oneof![
        Just(StatsArgs::None),
        word("settings"),
        word("items"),
        word("slabs"),
        word("sizes"),
        word("reset"),
        Just(StatsArgs::Detail(true)),
        Just(StatsArgs::DetailDump),
        Just(StatsArgs::CacheDump { class: 1, limit: 0 }),
    ]
    .prop_map(Cmd::Stats)
}

/// `mg` with flags in the order `b v f c s k t T q O`: each return flag half the time,
/// `b` only with `v`, a touch one time in five, quiet 40% of the time, an opaque half
/// the time.
pub fn meta_get(d: &Domain) -> impl Strategy<Value = Cmd> + use<> {
    (
        d.key.clone(),
        any::<[bool; 7]>(),
        option::weighted(0.2, d.exptime.clone()),
        pbool::weighted(0.4),
        option::of(d.opaque.clone()),
    )
        .prop_map(|(key, b, touch, quiet, opaque)| {
            let mut flags = Vec::new();
            let base64 = b[6] && b[0];
            let bare = [
                (base64, MgFlag::Base64),
                (b[0], MgFlag::ReturnValue),
                (b[1], MgFlag::ReturnClientFlags),
                (b[2], MgFlag::ReturnCas),
                (b[3], MgFlag::ReturnSize),
                (b[4], MgFlag::ReturnKey),
                (b[5], MgFlag::ReturnTtl),
            ];
            flags.extend(bare.into_iter().filter(|(on, _)| *on).map(|(_, f)| f));
            flags.extend(touch.map(MgFlag::Touch));
            if quiet {
                flags.push(MgFlag::Quiet);
            }
            flags.extend(opaque.map(MgFlag::Opaque));
            Cmd::MetaGet { key, flags }
        })
}

/// `ms` with flags in the order `M b F T C c k q O`: always a mode (`MS` 3, the others
/// 1 each), client flags half the time, a TTL and (with `MS` only) a `C` 30% of the
/// time each, the others half the time.
pub fn meta_set(d: &Domain) -> impl Strategy<Value = Cmd> + use<> {
    let mode = prop_oneof![
        3 => Just(MsMode::Set),
        1 => Just(MsMode::Add),
        1 => Just(MsMode::Append),
        1 => Just(MsMode::Prepend),
        1 => Just(MsMode::Replace),
    ];
    (
        (d.key.clone(), d.value.clone(), mode),
        option::of(d.client_flags.clone()),
        option::weighted(0.3, d.exptime.clone()),
        option::weighted(0.3, d.cas.clone()),
        any::<[bool; 4]>(),
        option::of(d.opaque.clone()),
    )
        .prop_map(|((key, value, mode), client_flags, ttl, cas, b, opaque)| {
            let mut flags = vec![MsFlag::Mode(mode)];
            if b[3] {
                flags.push(MsFlag::Base64);
            }
            flags.extend(client_flags.map(MsFlag::ClientFlags));
            flags.extend(ttl.map(MsFlag::Ttl));
            // memcached's cas rules for add/append/prepend differ; keep C with set.
            flags.extend(cas.filter(|_| mode == MsMode::Set).map(MsFlag::CompareCas));
            let bare = [
                (b[0], MsFlag::ReturnCas),
                (b[1], MsFlag::ReturnKey),
                (b[2], MsFlag::Quiet),
            ];
            flags.extend(bare.into_iter().filter(|(on, _)| *on).map(|(_, f)| f));
            flags.extend(opaque.map(MsFlag::Opaque));
            Cmd::MetaSet { key, value, flags }
        })
}

/// `md` with flags in the order `C k q O`: a `C` 30% of the time, the others half the
/// time.
pub fn meta_delete(d: &Domain) -> impl Strategy<Value = Cmd> + use<> {
    (
        d.key.clone(),
        option::weighted(0.3, d.cas.clone()),
        any::<[bool; 2]>(),
        option::of(d.opaque.clone()),
    )
        .prop_map(|(key, cas, b, opaque)| {
            let mut flags: Vec<MdFlag> = cas.map(MdFlag::CompareCas).into_iter().collect();
            if b[0] {
                flags.push(MdFlag::ReturnKey);
            }
            if b[1] {
                flags.push(MdFlag::Quiet);
            }
            flags.extend(opaque.map(MdFlag::Opaque));
            Cmd::MetaDelete { key, flags }
        })
}

/// `ma` with flags in the order `M D N J v q O`: `MD` half the time (else no `M`), a
/// delta half the time, an autovivify 30% of the time (with an initial value half of
/// those), the others half the time.
pub fn meta_arithmetic(d: &Domain) -> impl Strategy<Value = Cmd> + use<> {
    (
        d.key.clone(),
        any::<bool>(),
        option::of(d.number.clone()),
        option::weighted(0.3, (d.exptime.clone(), option::of(d.number.clone()))),
        any::<[bool; 2]>(),
        option::of(d.opaque.clone()),
    )
        .prop_map(|(key, decr, delta, vivify, b, opaque)| {
            let mut flags = Vec::new();
            if decr {
                flags.push(MaFlag::Mode(MaMode::Decr));
            }
            flags.extend(delta.map(MaFlag::Delta));
            if let Some((ttl, initial)) = vivify {
                flags.push(MaFlag::Autovivify(ttl));
                flags.extend(initial.map(MaFlag::Initial));
            }
            if b[0] {
                flags.push(MaFlag::ReturnValue);
            }
            if b[1] {
                flags.push(MaFlag::Quiet);
            }
            flags.extend(opaque.map(MaFlag::Opaque));
            Cmd::MetaArithmetic { key, flags }
        })
}

/// `me <key>`.
pub fn meta_debug(d: &Domain) -> impl Strategy<Value = Cmd> + use<> {
    d.key
        .clone()
        .prop_map(|key| Cmd::MetaDebug { key, base64: false })
}

/// A generated session's command mix, by weight: `get` 6, multi-key `get` 3, storage 8,
/// `incr`/`decr` 3, `delete` 2, `touch` 2, `version` 1, `verbosity` 1, `stats` 1, `mg` 6,
/// `ms` 5, `md` 2, `ma` 3, `mn` 2, `me` 1.
pub fn cmd(d: &Domain) -> impl Strategy<Value = Cmd> + use<> {
    prop_oneof![
        6 => get(d),
        3 => get_multi(d),
        8 => store(d),
        3 => arithmetic(d),
        2 => delete(d),
        2 => touch(d),
        1 => Just(Cmd::Version),
        1 => verbosity(),
        1 => stats(),
        6 => meta_get(d),
        5 => meta_set(d),
        2 => meta_delete(d),
        3 => meta_arithmetic(d),
        2 => Just(Cmd::MetaNoop),
        1 => meta_debug(d),
    ]
}

/// An `lru_crawler` class list: `all`, or one to three ids (some beyond memcached's
/// 63 classes); with `hash` for the dumps.
fn target(hash: bool) -> impl Strategy<Value = Target> {
    let classes =
        collection::vec(prop_oneof![3 => 1..8u32, 1 => 60..70u32], 1..4).prop_map(Target::Classes);
    if hash {
        prop_oneof![2 => Just(Target::All), 1 => Just(Target::Hash), 2 => classes].boxed()
    } else {
        prop_oneof![2 => Just(Target::All), 2 => classes].boxed()
    }
}

/// The admin commands memcached answers in order, one reply each, so they pipeline
/// with anything: `lru_crawler crawl|enable|disable|sleep|tocrawl`, `slabs
/// automove|reassign`, `lru tune|mode|temp_ttl` (pcts that may sum above 80), `config
/// get cluster`, `refresh_certs`, `stats` with several words, `bget`, and raw commands
/// of each shape (`version`, `mn`, `stats slabs`, `get <key>`, `mg <key> v`, `touch
/// <key> 0`, `set <key> ...` with its block). The dumps and `watch` are
/// [`dump`] and [`watch`].
pub fn admin(d: &Domain) -> impl Strategy<Value = Cmd> + use<> {
    let crawler = prop_oneof![
        target(false).prop_map(CrawlerCmd::Crawl),
        Just(CrawlerCmd::Enable),
        Just(CrawlerCmd::Disable),
        (0..=1_000_000u32).prop_map(CrawlerCmd::Sleep),
        (0..1000u32).prop_map(CrawlerCmd::Tocrawl),
    ]
    .prop_map(Cmd::LruCrawler);
    let slabs = prop_oneof![
        sample::select(vec![
            Automove::Standby,
            Automove::Normal,
            Automove::Aggressive
        ])
        .prop_map(SlabsCmd::Automove),
        (option::of(0..70u32), 0..70u32).prop_map(|(src, dst)| SlabsCmd::Reassign { src, dst }),
    ]
    .prop_map(Cmd::Slabs);
    let factor = || sample::select(vec![0.1, 0.5, 2.0, 1e-3, 12.5]).prop_map(Factor::from);
    let lru = prop_oneof![
        (0..60u32, 0..60u32, factor(), factor()).prop_map(|(hot, warm, hf, wf)| LruCmd::Tune {
            hot_pct: hot,
            warm_pct: warm,
            hot_max_factor: hf,
            warm_max_factor: wf,
        }),
        sample::select(vec![LruMode::Flat, LruMode::Segmented]).prop_map(LruCmd::Mode),
        (-1..100i32).prop_map(LruCmd::TempTtl),
    ]
    .prop_map(Cmd::Lru);
    let words = sample::select(vec![
        vec!["items", "x"],
        vec!["detail", "on"],
        vec!["detail", "off", "x"],
        vec!["detail", "dump"],
        vec!["detail", "bogus"],
        vec!["slabs", "1"],
        vec!["reset", "now"],
        vec!["settings"],
        vec!["cachedump", "1", "0", "x"],
        vec!["cachedump", "x"],
    ])
    .prop_map(|w| Cmd::Stats(StatsArgs::Words(w.into_iter().map(Word::from).collect())));
    let bget = collection::vec(d.key.clone(), 1..4).prop_map(|keys| Cmd::Bget { keys });
    let raw = (d.key.clone(), d.value.clone(), 0..7u8).prop_map(|(key, value, which)| {
        let key = String::from_utf8_lossy(&key).into_owned();
        let (line, data, shape) = match which {
            0 => ("version".to_owned(), None, RawShape::Line),
            1 => ("mn".to_owned(), None, RawShape::Line),
            2 => ("stats slabs".to_owned(), None, RawShape::Lines),
            3 => (
                format!("get {key}"),
                None,
                RawShape::Block {
                    length_token: 3,
                    end: true,
                },
            ),
            4 => (
                format!("mg {key} v"),
                None,
                RawShape::Block {
                    length_token: 1,
                    end: false,
                },
            ),
            5 => (format!("touch {key} 0"), None, RawShape::Line),
            _ => (
                format!("set {key} 0 0 {}", value.len()),
                Some(value),
                RawShape::Line,
            ),
        };
        Cmd::Raw {
            line: line.into_bytes(),
            data,
            shape,
        }
    });
    prop_oneof![
        3 => crawler,
        3 => slabs,
        3 => lru,
        1 => Just(Cmd::ConfigGetCluster),
        1 => Just(Cmd::RefreshCerts),
        2 => words,
        2 => bget,
        4 => raw,
    ]
}

/// `lru_crawler metadump|mgdump` over `all`, `hash` or a few classes.
pub fn dump() -> impl Strategy<Value = Cmd> {
    (any::<bool>(), target(true)).prop_map(|(meta, t)| {
        Cmd::LruCrawler(if meta {
            CrawlerCmd::Metadump(t)
        } else {
            CrawlerCmd::Mgdump(t)
        })
    })
}

/// `watch` with up to three kinds, in any call order (`deletions` too, which 1.6.18
/// answers `ERROR`).
pub fn watch() -> impl Strategy<Value = Cmd> {
    collection::vec(
        sample::select(vec![
            WatchKind::Fetchers,
            WatchKind::Mutations,
            WatchKind::Evictions,
            WatchKind::Connevents,
            WatchKind::Deletions,
        ]),
        0..4,
    )
    .prop_map(|kinds| Cmd::Watch { kinds })
}
