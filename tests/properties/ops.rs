//! Owned commands for generated sessions: proptest strategies build them, the
//! runner turns each into the crate's borrowed command type.

use std::time::Instant;

use bytes::BytesMut;
use memcache_codec::{
    ArithMode, Codec, Command, Decr, Delete, EncodeError, Exptime, Get, GetMulti, Incr,
    MetaArithmetic, MetaDebugCommand, MetaDelete, MetaGet, MetaNoop, MetaSet, MetaSetMode, Stats,
    Store, Token, Touch, Verbosity, Version,
};
use proptest::prelude::*;

/// The keys a session uses: few, so commands collide; one of 250 bytes.
pub const KEYS: &[&str] = &[
    "a",
    "b",
    "user:42",
    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
];

/// The model server's clock during a session (2027-01-15).
pub const NOW: u64 = 1_800_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreMode {
    Set,
    Add,
    Replace,
    Append,
    Prepend,
    Cas(CasChoice),
}

/// Which cas unique a conditional command uses, resolved when it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CasChoice {
    /// The latest unique the session observed for the key (0 if none).
    Latest,
    /// 0, which never matches (memcached starts uniques at 1).
    Zero,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsKind {
    General,
    Settings,
    Items,
    Slabs,
    Sizes,
    Reset,
    DetailOn,
    DetailDump,
    CacheDump,
}

/// One command of a generated session.
#[derive(Debug, Clone)]
pub enum Op {
    Get {
        key: usize,
        cas: bool,
        touch: Option<Exptime>,
    },
    GetMulti {
        keys: Vec<usize>,
        cas: bool,
        touch: Option<Exptime>,
    },
    Store {
        mode: StoreMode,
        key: usize,
        value: Vec<u8>,
        flags: u32,
        exptime: Exptime,
        noreply: bool,
    },
    Arith {
        incr: bool,
        key: usize,
        delta: u64,
        noreply: bool,
    },
    Delete {
        key: usize,
        noreply: bool,
    },
    Touch {
        key: usize,
        exptime: Exptime,
        noreply: bool,
    },
    Version,
    Verbosity {
        level: u32,
        noreply: bool,
    },
    Stats(StatsKind),
    MetaGet {
        key: usize,
        flags: MgFlags,
        touch: Option<Exptime>,
        quiet: bool,
        opaque: bool,
    },
    MetaSet {
        key: usize,
        value: Vec<u8>,
        mode: MetaSetMode,
        client_flags: Option<u32>,
        ttl: Option<Exptime>,
        cas: Option<CasChoice>,
        return_cas: bool,
        return_key: bool,
        quiet: bool,
        opaque: bool,
        base64: bool,
    },
    MetaDelete {
        key: usize,
        cas: Option<CasChoice>,
        return_key: bool,
        quiet: bool,
        opaque: bool,
    },
    MetaArith {
        key: usize,
        decr: bool,
        delta: Option<u64>,
        vivify: Option<(Exptime, Option<u64>)>,
        return_value: bool,
        quiet: bool,
        opaque: bool,
    },
    MetaNoop,
    MetaDebug {
        key: usize,
    },
}

/// Return flags of a generated `mg`.
#[derive(Debug, Clone, Copy, Default)]
pub struct MgFlags {
    pub value: bool,
    pub client_flags: bool,
    pub cas: bool,
    pub size: bool,
    pub return_key: bool,
    pub ttl: bool,
    pub base64: bool,
}

impl Op {
    /// Whether the command expects no reply at all.
    pub fn noreply(&self) -> bool {
        matches!(
            self,
            Self::Store { noreply: true, .. }
                | Self::Arith { noreply: true, .. }
                | Self::Delete { noreply: true, .. }
                | Self::Touch { noreply: true, .. }
                | Self::Verbosity { noreply: true, .. }
        )
    }

    /// A copy without quiet mode, for a command whose error could not be attributed.
    pub fn loud(&self) -> Self {
        let mut op = self.clone();
        match &mut op {
            Self::MetaGet { quiet, .. }
            | Self::MetaSet { quiet, .. }
            | Self::MetaDelete { quiet, .. }
            | Self::MetaArith { quiet, .. } => *quiet = false,
            Self::Store { noreply, .. }
            | Self::Arith { noreply, .. }
            | Self::Delete { noreply, .. }
            | Self::Touch { noreply, .. }
            | Self::Verbosity { noreply, .. } => *noreply = false,
            _ => {}
        }
        op
    }

    /// The item whose value or unique the reply may reveal.
    pub fn read_key(&self) -> Option<usize> {
        match self {
            Self::Get { key, .. } | Self::MetaGet { key, .. } | Self::MetaSet { key, .. } => {
                Some(*key)
            }
            _ => None,
        }
    }

    pub fn quiet(&self) -> bool {
        matches!(
            self,
            Self::MetaGet { quiet: true, .. }
                | Self::MetaSet { quiet: true, .. }
                | Self::MetaDelete { quiet: true, .. }
                | Self::MetaArith { quiet: true, .. }
        )
    }
}

/// An op with everything resolved (cas uniques, opaque text), ready to encode.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub op: Op,
    pub cas: u64,
    pub opaque: String,
}

impl Resolved {
    fn store(&self) -> Option<Store<'_>> {
        let Op::Store {
            mode,
            key,
            value,
            flags,
            exptime,
            ..
        } = &self.op
        else {
            return None;
        };
        let key = KEYS[*key];
        let store = match mode {
            StoreMode::Set => Store::set(key, value),
            StoreMode::Add => Store::add(key, value),
            StoreMode::Replace => Store::replace(key, value),
            StoreMode::Append => Store::append(key, value),
            StoreMode::Prepend => Store::prepend(key, value),
            StoreMode::Cas(_) => Store::cas(key, value, self.cas),
        };
        Some(store.flags(*flags).exptime(*exptime))
    }

    /// Sends the op (with `noreply` when it has it); the token if a reply is expected.
    pub fn send(
        &self,
        codec: &mut Codec,
        out: &mut BytesMut,
        now: Instant,
    ) -> Result<Option<Token>, EncodeError> {
        let key = |i: &usize| KEYS[*i].as_bytes();
        if !self.op.noreply() {
            return self.with_command(|c| codec.send(c, out, now)).map(Some);
        }
        match &self.op {
            Op::Store { .. } => codec.send_noreply(&self.store().expect("a store"), out),
            Op::Arith {
                incr: true,
                key: k,
                delta,
                ..
            } => codec.send_noreply(&Incr::new(key(k), *delta), out),
            Op::Arith {
                incr: false,
                key: k,
                delta,
                ..
            } => codec.send_noreply(&Decr::new(key(k), *delta), out),
            Op::Delete { key: k, .. } => codec.send_noreply(&Delete::new(key(k)), out),
            Op::Touch {
                key: k, exptime, ..
            } => codec.send_noreply(&Touch::new(key(k), *exptime), out),
            Op::Verbosity { level, .. } => codec.send_noreply(&Verbosity::new(*level), out),
            other => unreachable!("{other:?} has no noreply form"),
        }
        .map(|()| None)
    }

    /// Calls `f` with the crate's command for this op.
    pub fn with_command<R>(&self, f: impl FnOnce(&dyn Command) -> R) -> R {
        let key = |i: &usize| KEYS[*i].as_bytes();
        let opaque = self.opaque.as_str();
        match &self.op {
            Op::Get { key: k, cas, touch } => {
                let mut get = Get::new(key(k));
                if *cas {
                    get = get.with_cas();
                }
                if let Some(t) = touch {
                    get = get.touch(*t);
                }
                f(&get)
            }
            Op::GetMulti { keys, cas, touch } => {
                let keys: Vec<&[u8]> = keys.iter().map(key).collect();
                let mut get = GetMulti::new(&keys);
                if *cas {
                    get = get.with_cas();
                }
                if let Some(t) = touch {
                    get = get.touch(*t);
                }
                f(&get)
            }
            Op::Store { .. } => f(&self.store().expect("a store")),
            Op::Arith {
                incr: true,
                key: k,
                delta,
                ..
            } => f(&Incr::new(key(k), *delta)),
            Op::Arith {
                incr: false,
                key: k,
                delta,
                ..
            } => f(&Decr::new(key(k), *delta)),
            Op::Delete { key: k, .. } => f(&Delete::new(key(k))),
            Op::Touch {
                key: k, exptime, ..
            } => f(&Touch::new(key(k), *exptime)),
            Op::Version => f(&Version),
            Op::Verbosity { level, .. } => f(&Verbosity::new(*level)),
            Op::Stats(kind) => f(&match kind {
                StatsKind::General => Stats::new(),
                StatsKind::Settings => Stats::arg("settings"),
                StatsKind::Items => Stats::arg("items"),
                StatsKind::Slabs => Stats::arg("slabs"),
                StatsKind::Sizes => Stats::arg("sizes"),
                StatsKind::Reset => Stats::reset(),
                StatsKind::DetailOn => Stats::detail(true),
                StatsKind::DetailDump => Stats::detail_dump(),
                StatsKind::CacheDump => Stats::cachedump(1, 0),
            }),
            Op::MetaGet {
                key: k,
                flags,
                touch,
                quiet,
                opaque: with_opaque,
            } => {
                let mut mg = MetaGet::new(key(k));
                if flags.base64 {
                    mg = mg.base64_key();
                }
                if flags.value {
                    mg = mg.return_value();
                }
                if flags.client_flags {
                    mg = mg.return_client_flags();
                }
                if flags.cas {
                    mg = mg.return_cas();
                }
                if flags.size {
                    mg = mg.return_size();
                }
                if flags.return_key {
                    mg = mg.return_key();
                }
                if flags.ttl {
                    mg = mg.return_ttl();
                }
                if let Some(t) = touch {
                    mg = mg.touch(*t);
                }
                if *quiet {
                    mg = mg.quiet();
                }
                if *with_opaque {
                    mg = mg.opaque(opaque);
                }
                f(&mg)
            }
            Op::MetaSet {
                key: k,
                value,
                mode,
                client_flags,
                ttl,
                cas,
                return_cas,
                return_key,
                quiet,
                opaque: with_opaque,
                base64,
            } => {
                let mut ms = MetaSet::new(key(k), value).mode(*mode);
                if *base64 {
                    ms = ms.base64_key();
                }
                if let Some(fl) = client_flags {
                    ms = ms.client_flags(*fl);
                }
                if let Some(t) = ttl {
                    ms = ms.ttl(*t);
                }
                if cas.is_some() {
                    ms = ms.compare_cas(self.cas);
                }
                if *return_cas {
                    ms = ms.return_cas();
                }
                if *return_key {
                    ms = ms.return_key();
                }
                if *quiet {
                    ms = ms.quiet();
                }
                if *with_opaque {
                    ms = ms.opaque(opaque);
                }
                f(&ms)
            }
            Op::MetaDelete {
                key: k,
                cas,
                return_key,
                quiet,
                opaque: with_opaque,
            } => {
                let mut md = MetaDelete::new(key(k));
                if cas.is_some() {
                    md = md.compare_cas(self.cas);
                }
                if *return_key {
                    md = md.return_key();
                }
                if *quiet {
                    md = md.quiet();
                }
                if *with_opaque {
                    md = md.opaque(opaque);
                }
                f(&md)
            }
            Op::MetaArith {
                key: k,
                decr,
                delta,
                vivify,
                return_value,
                quiet,
                opaque: with_opaque,
            } => {
                let mut ma = MetaArithmetic::new(key(k));
                if *decr {
                    ma = ma.mode(ArithMode::Decr);
                }
                if let Some(d) = delta {
                    ma = ma.delta(*d);
                }
                if let Some((ttl, initial)) = vivify {
                    ma = ma.autovivify(*ttl);
                    if let Some(j) = initial {
                        ma = ma.initial(*j);
                    }
                }
                if *return_value {
                    ma = ma.return_value();
                }
                if *quiet {
                    ma = ma.quiet();
                }
                if *with_opaque {
                    ma = ma.opaque(opaque);
                }
                f(&ma)
            }
            Op::MetaNoop => f(&MetaNoop),
            Op::MetaDebug { key: k } => f(&MetaDebugCommand::new(key(k))),
        }
    }
}

// ---------------------------------------------------------------- strategies

fn key() -> impl Strategy<Value = usize> {
    prop_oneof![4 => 0..3usize, 1 => Just(3usize)]
}

/// Values that trip naive decoders: protocol text, CRLF, empty, numbers for incr.
pub fn value() -> impl Strategy<Value = Vec<u8>> {
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
        proptest::collection::vec(any::<u8>(), 0..300),
        "[0-9]{1,20}".prop_map(String::into_bytes),
    ]
}

fn exptime() -> impl Strategy<Value = Exptime> {
    prop_oneof![
        4 => Just(Exptime::NEVER),
        1 => Just(Exptime::EXPIRED),
        1 => Just(Exptime::relative(100).unwrap()),
        1 => Just(Exptime::relative(Exptime::MAX_RELATIVE_SECS).unwrap()),
        1 => Just(Exptime::unix(NOW + 1000).unwrap()),
        1 => Just(Exptime::unix(NOW - 1000).unwrap()),
    ]
}

fn number() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(1),
        Just(u64::MAX),
        Just(u64::MAX - 1),
        any::<u64>(),
        0..1000u64
    ]
}

fn flags32() -> impl Strategy<Value = u32> {
    prop_oneof![Just(0u32), Just(u32::MAX), any::<u32>()]
}

fn cas_choice() -> impl Strategy<Value = CasChoice> {
    prop_oneof![3 => Just(CasChoice::Latest), 1 => Just(CasChoice::Zero)]
}

fn store_mode() -> impl Strategy<Value = StoreMode> {
    prop_oneof![
        3 => Just(StoreMode::Set),
        1 => Just(StoreMode::Add),
        1 => Just(StoreMode::Replace),
        1 => Just(StoreMode::Append),
        1 => Just(StoreMode::Prepend),
        2 => cas_choice().prop_map(StoreMode::Cas),
    ]
}

fn meta_set_mode() -> impl Strategy<Value = MetaSetMode> {
    prop_oneof![
        3 => Just(MetaSetMode::Set),
        1 => Just(MetaSetMode::Add),
        1 => Just(MetaSetMode::Append),
        1 => Just(MetaSetMode::Prepend),
        1 => Just(MetaSetMode::Replace),
    ]
}

fn stats_kind() -> impl Strategy<Value = StatsKind> {
    prop_oneof![
        Just(StatsKind::General),
        Just(StatsKind::Settings),
        Just(StatsKind::Items),
        Just(StatsKind::Slabs),
        Just(StatsKind::Sizes),
        Just(StatsKind::Reset),
        Just(StatsKind::DetailOn),
        Just(StatsKind::DetailDump),
        Just(StatsKind::CacheDump),
    ]
}

pub fn op() -> impl Strategy<Value = Op> {
    let mg_flags = (any::<[bool; 7]>()).prop_map(|b| MgFlags {
        value: b[0],
        client_flags: b[1],
        cas: b[2],
        size: b[3],
        return_key: b[4],
        ttl: b[5],
        base64: b[6] && b[0],
    });
    prop_oneof![
        6 => (key(), any::<bool>(), proptest::option::weighted(0.2, exptime()))
            .prop_map(|(key, cas, touch)| Op::Get { key, cas, touch }),
        3 => (proptest::collection::vec(key(), 1..6), any::<bool>(), proptest::option::weighted(0.2, exptime()))
            .prop_map(|(keys, cas, touch)| Op::GetMulti { keys, cas, touch }),
        8 => (store_mode(), key(), value(), flags32(), exptime(), proptest::bool::weighted(0.15))
            .prop_map(|(mode, key, value, flags, exptime, noreply)| Op::Store { mode, key, value, flags, exptime, noreply }),
        3 => (any::<bool>(), key(), number(), proptest::bool::weighted(0.15))
            .prop_map(|(incr, key, delta, noreply)| Op::Arith { incr, key, delta, noreply }),
        2 => (key(), proptest::bool::weighted(0.15)).prop_map(|(key, noreply)| Op::Delete { key, noreply }),
        2 => (key(), exptime(), proptest::bool::weighted(0.15))
            .prop_map(|(key, exptime, noreply)| Op::Touch { key, exptime, noreply }),
        1 => Just(Op::Version),
        1 => (0..3u32, any::<bool>()).prop_map(|(level, noreply)| Op::Verbosity { level, noreply }),
        1 => stats_kind().prop_map(Op::Stats),
        6 => (key(), mg_flags, proptest::option::weighted(0.2, exptime()), proptest::bool::weighted(0.4), any::<bool>())
            .prop_map(|(key, flags, touch, quiet, opaque)| Op::MetaGet { key, flags, touch, quiet, opaque }),
        5 => (key(), value(), meta_set_mode(), proptest::option::of(flags32()), proptest::option::weighted(0.3, exptime()),
              proptest::option::weighted(0.3, cas_choice()), any::<[bool; 5]>())
            .prop_map(|(key, value, mode, client_flags, ttl, cas, b)| Op::MetaSet {
                key, value, mode, client_flags, ttl,
                // memcached's cas rules for add/append/prepend differ; keep C with set.
                cas: cas.filter(|_| mode == MetaSetMode::Set),
                return_cas: b[0], return_key: b[1], quiet: b[2], opaque: b[3], base64: b[4],
            }),
        2 => (key(), proptest::option::weighted(0.3, cas_choice()), any::<[bool; 3]>())
            .prop_map(|(key, cas, b)| Op::MetaDelete { key, cas, return_key: b[0], quiet: b[1], opaque: b[2] }),
        3 => (key(), any::<bool>(), proptest::option::of(number()),
              proptest::option::weighted(0.3, (exptime(), proptest::option::of(number()))), any::<[bool; 3]>())
            .prop_map(|(key, decr, delta, vivify, b)| Op::MetaArith {
                key, decr, delta, vivify, return_value: b[0], quiet: b[1], opaque: b[2],
            }),
        2 => Just(Op::MetaNoop),
        1 => key().prop_map(|key| Op::MetaDebug { key }),
    ]
}

/// A session: batches of pipelined commands; each batch is answered before the next
/// is sent, so conditional commands can use uniques seen earlier.
pub fn session() -> impl Strategy<Value = Vec<Vec<Op>>> {
    proptest::collection::vec(proptest::collection::vec(op(), 1..24), 1..6)
}
