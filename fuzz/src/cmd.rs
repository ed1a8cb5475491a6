//! An owned, [`Arbitrary`] mirror of every command the codec can send.
//!
//! The crate's commands borrow their keys and values, so the fuzzer cannot make them
//! directly. [`Cmd`] owns its fields, builds the borrowed command on demand
//! ([`Cmd::send`]) and can be compared after [`Cmd::normalized`], which applies the
//! rules the builders apply (a meta flag given twice keeps its first position and its
//! last value; a one-key `GetMulti` is written exactly like a `Get`).
//!
//! Keys, opaques, values and stats words come from a small pool most of the time, so
//! that replies can match the commands (a `VALUE` must carry a requested key, a meta
//! reply must echo its opaque), and are arbitrary bytes sometimes, so that validation
//! runs.

use std::time::Instant;

use arbitrary::{Arbitrary, Result, Unstructured};
use bytes::BytesMut;
use memcache_codec::{
    ArithMode, CacheMemlimit, Codec, Decr, Delete, EncodeError, Exptime, FlushAll, Get, GetMulti,
    Incr, Limits, MAX_KEY_LEN, MetaArithmetic, MetaDebugCommand, MetaDelete, MetaGet, MetaNoop,
    MetaSet, MetaSetMode, Quit, Shutdown, Stats, Store, Token, Touch, Verbosity, Version,
};

/// Keys most commands use: short, valid, shared, so gets can hit what sets stored.
/// `noreply` is a valid key that looks like the keyword.
pub const KEY_POOL: &[&[u8]] = &[
    b"a", b"b", b"k", b"foo", b"user:42", b"counter", b"noreply", b"s_mg",
];

/// Opaques most meta commands use.
pub const OPAQUE_POOL: &[&[u8]] = &[b"1", b"2", b"77", b"opaque", b"0"];

/// Values most storage commands use; numbers so `incr` and `ma` can work on them.
pub const VALUE_POOL: &[&[u8]] = &[
    b"",
    b"0",
    b"10",
    b"hello",
    b"18446744073709551615",
    b"has\r\nCRLF\r\n",
    b"END\r\n",
];

/// `stats` subcommands: the ones memcached 1.6.18 knows, and one it does not.
pub const STATS_WORDS: &[&[u8]] = &[
    b"settings",
    b"items",
    b"slabs",
    b"sizes",
    b"conns",
    b"extstore",
    b"reset",
    b"nosuchthing",
];

/// Picks from `pool` for most first bytes, else takes arbitrary bytes.
fn pooled(u: &mut Unstructured<'_>, pool: &[&[u8]]) -> Result<Vec<u8>> {
    let pick = u8::arbitrary(u)?;
    if pick < 224 {
        Ok(pool[usize::from(pick) % pool.len()].to_vec())
    } else {
        Vec::<u8>::arbitrary(u)
    }
}

macro_rules! pooled_bytes {
    ($(#[$doc:meta])* $name:ident, $pool:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Debug)]
        pub struct $name(pub Vec<u8>);

        impl<'a> Arbitrary<'a> for $name {
            fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
                pooled(u, $pool).map(Self)
            }
        }
    };
}

pooled_bytes!(
    /// A key: from [`KEY_POOL`] most of the time.
    Key,
    KEY_POOL
);
pooled_bytes!(
    /// A meta opaque (without the `O`): from [`OPAQUE_POOL`] most of the time.
    Opaque,
    OPAQUE_POOL
);
pooled_bytes!(
    /// A data block: from [`VALUE_POOL`] most of the time.
    Value,
    VALUE_POOL
);
pooled_bytes!(
    /// A one-word `stats` argument: from [`STATS_WORDS`] most of the time.
    Word,
    STATS_WORDS
);

/// The classic storage verbs.
#[derive(Arbitrary, Clone, Copy, PartialEq, Eq, Debug)]
pub enum StoreMode {
    /// `set`
    Set,
    /// `add`
    Add,
    /// `replace`
    Replace,
    /// `append`
    Append,
    /// `prepend`
    Prepend,
    /// `cas` with its unique.
    Cas(u64),
}

/// The `stats` forms.
#[derive(Arbitrary, Clone, PartialEq, Eq, Debug)]
pub enum StatsArgs {
    /// `stats`
    None,
    /// `stats <word>`
    Word(Word),
    /// `stats detail on|off`
    Detail(bool),
    /// `stats detail dump`
    DetailDump,
    /// `stats cachedump <class> <limit>`
    CacheDump {
        /// Slab class.
        class: u32,
        /// Most items listed.
        limit: u32,
    },
}

/// `ms` `M` modes.
#[derive(Arbitrary, Clone, Copy, PartialEq, Eq, Debug)]
pub enum SetMode {
    /// `MS`
    Set,
    /// `ME`
    Add,
    /// `MA`
    Append,
    /// `MP`
    Prepend,
    /// `MR`
    Replace,
}

impl SetMode {
    fn to_codec(self) -> MetaSetMode {
        match self {
            Self::Set => MetaSetMode::Set,
            Self::Add => MetaSetMode::Add,
            Self::Append => MetaSetMode::Append,
            Self::Prepend => MetaSetMode::Prepend,
            Self::Replace => MetaSetMode::Replace,
        }
    }

    /// The mode's letter on the wire.
    pub fn letter(self) -> u8 {
        match self {
            Self::Set => b'S',
            Self::Add => b'E',
            Self::Append => b'A',
            Self::Prepend => b'P',
            Self::Replace => b'R',
        }
    }
}

/// `ma` `M` modes.
#[derive(Arbitrary, Clone, Copy, PartialEq, Eq, Debug)]
pub enum IncrMode {
    /// `MI`
    Incr,
    /// `MD`
    Decr,
}

/// A meta flag: its letter, for normalisation and validation.
pub trait Flag: Clone {
    /// The letter written on the wire.
    fn letter(&self) -> u8;
    /// The opaque, for the `O` flag.
    fn opaque(&self) -> Option<&[u8]> {
        None
    }
}

/// `mg` flags, one variant per builder method.
#[derive(Arbitrary, Clone, PartialEq, Eq, Debug)]
#[allow(missing_docs)]
pub enum MgFlag {
    Base64,
    Quiet,
    Opaque(Opaque),
    ReturnValue,
    ReturnCas,
    ReturnClientFlags,
    ReturnHitBefore,
    ReturnKey,
    ReturnLastAccess,
    ReturnSize,
    ReturnTtl,
    NoBump,
    Touch(i32),
    Vivify(i32),
    Recache(u32),
    NewCas(u64),
    CompareCas(u64),
}

impl Flag for MgFlag {
    fn letter(&self) -> u8 {
        match self {
            Self::Base64 => b'b',
            Self::Quiet => b'q',
            Self::Opaque(_) => b'O',
            Self::ReturnValue => b'v',
            Self::ReturnCas => b'c',
            Self::ReturnClientFlags => b'f',
            Self::ReturnHitBefore => b'h',
            Self::ReturnKey => b'k',
            Self::ReturnLastAccess => b'l',
            Self::ReturnSize => b's',
            Self::ReturnTtl => b't',
            Self::NoBump => b'u',
            Self::Touch(_) => b'T',
            Self::Vivify(_) => b'N',
            Self::Recache(_) => b'R',
            Self::NewCas(_) => b'E',
            Self::CompareCas(_) => b'C',
        }
    }

    fn opaque(&self) -> Option<&[u8]> {
        match self {
            Self::Opaque(o) => Some(&o.0),
            _ => None,
        }
    }
}

/// `ms` flags, one variant per builder method.
#[derive(Arbitrary, Clone, PartialEq, Eq, Debug)]
#[allow(missing_docs)]
pub enum MsFlag {
    Base64,
    Quiet,
    Opaque(Opaque),
    ReturnCas,
    ReturnKey,
    Invalidate,
    ReturnSize,
    ClientFlags(u32),
    Ttl(i32),
    CompareCas(u64),
    NewCas(u64),
    Autovivify(i32),
    Mode(SetMode),
}

impl Flag for MsFlag {
    fn letter(&self) -> u8 {
        match self {
            Self::Base64 => b'b',
            Self::Quiet => b'q',
            Self::Opaque(_) => b'O',
            Self::ReturnCas => b'c',
            Self::ReturnKey => b'k',
            Self::Invalidate => b'I',
            Self::ReturnSize => b's',
            Self::ClientFlags(_) => b'F',
            Self::Ttl(_) => b'T',
            Self::CompareCas(_) => b'C',
            Self::NewCas(_) => b'E',
            Self::Autovivify(_) => b'N',
            Self::Mode(_) => b'M',
        }
    }

    fn opaque(&self) -> Option<&[u8]> {
        match self {
            Self::Opaque(o) => Some(&o.0),
            _ => None,
        }
    }
}

/// `md` flags, one variant per builder method.
#[derive(Arbitrary, Clone, PartialEq, Eq, Debug)]
#[allow(missing_docs)]
pub enum MdFlag {
    Base64,
    Quiet,
    Opaque(Opaque),
    ReturnKey,
    Invalidate,
    RemoveValue,
    CompareCas(u64),
    NewCas(u64),
    Ttl(i32),
}

impl Flag for MdFlag {
    fn letter(&self) -> u8 {
        match self {
            Self::Base64 => b'b',
            Self::Quiet => b'q',
            Self::Opaque(_) => b'O',
            Self::ReturnKey => b'k',
            Self::Invalidate => b'I',
            Self::RemoveValue => b'x',
            Self::CompareCas(_) => b'C',
            Self::NewCas(_) => b'E',
            Self::Ttl(_) => b'T',
        }
    }

    fn opaque(&self) -> Option<&[u8]> {
        match self {
            Self::Opaque(o) => Some(&o.0),
            _ => None,
        }
    }
}

/// `ma` flags, one variant per builder method.
#[derive(Arbitrary, Clone, PartialEq, Eq, Debug)]
#[allow(missing_docs)]
pub enum MaFlag {
    Base64,
    Quiet,
    Opaque(Opaque),
    ReturnValue,
    ReturnCas,
    ReturnTtl,
    ReturnKey,
    Delta(u64),
    Autovivify(i32),
    Initial(u64),
    Ttl(i32),
    CompareCas(u64),
    NewCas(u64),
    Mode(IncrMode),
}

impl Flag for MaFlag {
    fn letter(&self) -> u8 {
        match self {
            Self::Base64 => b'b',
            Self::Quiet => b'q',
            Self::Opaque(_) => b'O',
            Self::ReturnValue => b'v',
            Self::ReturnCas => b'c',
            Self::ReturnTtl => b't',
            Self::ReturnKey => b'k',
            Self::Delta(_) => b'D',
            Self::Autovivify(_) => b'N',
            Self::Initial(_) => b'J',
            Self::Ttl(_) => b'T',
            Self::CompareCas(_) => b'C',
            Self::NewCas(_) => b'E',
            Self::Mode(_) => b'M',
        }
    }

    fn opaque(&self) -> Option<&[u8]> {
        match self {
            Self::Opaque(o) => Some(&o.0),
            _ => None,
        }
    }
}

/// Every command the codec can send, with owned fields.
#[derive(Arbitrary, Clone, PartialEq, Eq, Debug)]
#[allow(missing_docs)]
pub enum Cmd {
    Get {
        key: Key,
        cas: bool,
        touch: Option<i32>,
    },
    GetMulti {
        keys: Vec<Key>,
        cas: bool,
        touch: Option<i32>,
    },
    Store {
        mode: StoreMode,
        key: Key,
        value: Value,
        flags: u32,
        exptime: i32,
        noreply: bool,
    },
    Delete {
        key: Key,
        noreply: bool,
    },
    Touch {
        key: Key,
        exptime: i32,
        noreply: bool,
    },
    Incr {
        key: Key,
        delta: u64,
        noreply: bool,
    },
    Decr {
        key: Key,
        delta: u64,
        noreply: bool,
    },
    Stats(StatsArgs),
    Version,
    Verbosity {
        level: u32,
        noreply: bool,
    },
    FlushAll {
        delay: Option<u32>,
        noreply: bool,
    },
    CacheMemlimit {
        megabytes: u32,
        noreply: bool,
    },
    Quit,
    Shutdown {
        graceful: bool,
    },
    MetaGet {
        key: Key,
        flags: Vec<MgFlag>,
    },
    MetaSet {
        key: Key,
        value: Value,
        flags: Vec<MsFlag>,
    },
    MetaDelete {
        key: Key,
        flags: Vec<MdFlag>,
    },
    MetaArithmetic {
        key: Key,
        flags: Vec<MaFlag>,
    },
    MetaNoop,
    MetaDebug {
        key: Key,
        base64: bool,
    },
}

/// Keeps each flag letter once, at its first position, with its last value: what the
/// builders do when a method is called twice.
pub fn normalize_flags<F: Flag>(flags: &[F]) -> Vec<F> {
    let mut out: Vec<F> = Vec::with_capacity(flags.len());
    for flag in flags {
        match out.iter_mut().find(|f| f.letter() == flag.letter()) {
            Some(slot) => *slot = flag.clone(),
            None => out.push(flag.clone()),
        }
    }
    out
}

fn has<F: Flag>(flags: &[F], letter: u8) -> bool {
    flags.iter().any(|f| f.letter() == letter)
}

/// Builds the crate's `mg` from owned parts, calling the builder once per flag, in order.
pub fn build_mg<'a>(key: &'a [u8], flags: &'a [MgFlag]) -> MetaGet<'a> {
    let mut c = MetaGet::new(key);
    for f in flags {
        c = match f {
            MgFlag::Base64 => c.base64_key(),
            MgFlag::Quiet => c.quiet(),
            MgFlag::Opaque(o) => c.opaque(&o.0[..]),
            MgFlag::ReturnValue => c.return_value(),
            MgFlag::ReturnCas => c.return_cas(),
            MgFlag::ReturnClientFlags => c.return_client_flags(),
            MgFlag::ReturnHitBefore => c.return_hit_before(),
            MgFlag::ReturnKey => c.return_key(),
            MgFlag::ReturnLastAccess => c.return_last_access(),
            MgFlag::ReturnSize => c.return_size(),
            MgFlag::ReturnTtl => c.return_ttl(),
            MgFlag::NoBump => c.no_bump(),
            MgFlag::Touch(e) => c.touch(Exptime::from_raw(*e)),
            MgFlag::Vivify(e) => c.vivify(Exptime::from_raw(*e)),
            MgFlag::Recache(r) => c.recache(*r),
            MgFlag::NewCas(n) => c.new_cas(*n),
            MgFlag::CompareCas(n) => c.compare_cas(*n),
        };
    }
    c
}

fn build_ms<'a>(key: &'a [u8], value: &'a [u8], flags: &'a [MsFlag]) -> MetaSet<'a> {
    let mut c = MetaSet::new(key, value);
    for f in flags {
        c = match f {
            MsFlag::Base64 => c.base64_key(),
            MsFlag::Quiet => c.quiet(),
            MsFlag::Opaque(o) => c.opaque(&o.0[..]),
            MsFlag::ReturnCas => c.return_cas(),
            MsFlag::ReturnKey => c.return_key(),
            MsFlag::Invalidate => c.invalidate(),
            MsFlag::ReturnSize => c.return_size(),
            MsFlag::ClientFlags(n) => c.client_flags(*n),
            MsFlag::Ttl(e) => c.ttl(Exptime::from_raw(*e)),
            MsFlag::CompareCas(n) => c.compare_cas(*n),
            MsFlag::NewCas(n) => c.new_cas(*n),
            MsFlag::Autovivify(e) => c.autovivify(Exptime::from_raw(*e)),
            MsFlag::Mode(m) => c.mode(m.to_codec()),
        };
    }
    c
}

fn build_md<'a>(key: &'a [u8], flags: &'a [MdFlag]) -> MetaDelete<'a> {
    let mut c = MetaDelete::new(key);
    for f in flags {
        c = match f {
            MdFlag::Base64 => c.base64_key(),
            MdFlag::Quiet => c.quiet(),
            MdFlag::Opaque(o) => c.opaque(&o.0[..]),
            MdFlag::ReturnKey => c.return_key(),
            MdFlag::Invalidate => c.invalidate(),
            MdFlag::RemoveValue => c.remove_value(),
            MdFlag::CompareCas(n) => c.compare_cas(*n),
            MdFlag::NewCas(n) => c.new_cas(*n),
            MdFlag::Ttl(e) => c.ttl(Exptime::from_raw(*e)),
        };
    }
    c
}

fn build_ma<'a>(key: &'a [u8], flags: &'a [MaFlag]) -> MetaArithmetic<'a> {
    let mut c = MetaArithmetic::new(key);
    for f in flags {
        c = match f {
            MaFlag::Base64 => c.base64_key(),
            MaFlag::Quiet => c.quiet(),
            MaFlag::Opaque(o) => c.opaque(&o.0[..]),
            MaFlag::ReturnValue => c.return_value(),
            MaFlag::ReturnCas => c.return_cas(),
            MaFlag::ReturnTtl => c.return_ttl(),
            MaFlag::ReturnKey => c.return_key(),
            MaFlag::Delta(n) => c.delta(*n),
            MaFlag::Autovivify(e) => c.autovivify(Exptime::from_raw(*e)),
            MaFlag::Initial(n) => c.initial(*n),
            MaFlag::Ttl(e) => c.ttl(Exptime::from_raw(*e)),
            MaFlag::CompareCas(n) => c.compare_cas(*n),
            MaFlag::NewCas(n) => c.new_cas(*n),
            MaFlag::Mode(IncrMode::Incr) => c.mode(ArithMode::Incr),
            MaFlag::Mode(IncrMode::Decr) => c.mode(ArithMode::Decr),
        };
    }
    c
}

fn store<'a>(mode: StoreMode, key: &'a [u8], value: &'a [u8]) -> Store<'a> {
    match mode {
        StoreMode::Set => Store::set(key, value),
        StoreMode::Add => Store::add(key, value),
        StoreMode::Replace => Store::replace(key, value),
        StoreMode::Append => Store::append(key, value),
        StoreMode::Prepend => Store::prepend(key, value),
        StoreMode::Cas(unique) => Store::cas(key, value, unique),
    }
}

fn retrieval<'a>(get: Get<'a>, cas: bool, touch: Option<i32>) -> Get<'a> {
    let get = if cas { get.with_cas() } else { get };
    match touch {
        Some(e) => get.touch(Exptime::from_raw(e)),
        None => get,
    }
}

/// The token rule of the crate: 1 to `max` bytes, none `<= 0x20`, no `0x7f`.
pub fn token_ok(token: &[u8], max: usize) -> bool {
    !token.is_empty() && token.len() <= max && token.iter().all(|&b| b > b' ' && b != 0x7f)
}

fn meta_key_ok(key: &[u8], base64: bool) -> bool {
    if base64 {
        !key.is_empty() && key.len().div_ceil(3) * 4 <= MAX_KEY_LEN
    } else {
        token_ok(key, MAX_KEY_LEN)
    }
}

fn opaque_ok<F: Flag>(flags: &[F]) -> bool {
    // The builder keeps the last opaque given.
    match flags.iter().rev().find_map(Flag::opaque) {
        Some(o) => token_ok(o, 31),
        None => true,
    }
}

impl Cmd {
    /// True for commands sent with `send_noreply` (nothing pending, no token).
    pub fn is_noreply(&self) -> bool {
        match self {
            Self::Store { noreply, .. }
            | Self::Delete { noreply, .. }
            | Self::Touch { noreply, .. }
            | Self::Incr { noreply, .. }
            | Self::Decr { noreply, .. }
            | Self::Verbosity { noreply, .. }
            | Self::FlushAll { noreply, .. }
            | Self::CacheMemlimit { noreply, .. } => *noreply,
            _ => false,
        }
    }

    /// True for `mg`/`ms`/`md`/`ma` with `q`.
    pub fn is_quiet(&self) -> bool {
        match self {
            Self::MetaGet { flags, .. } => has(flags, b'q'),
            Self::MetaSet { flags, .. } => has(flags, b'q'),
            Self::MetaDelete { flags, .. } => has(flags, b'q'),
            Self::MetaArithmetic { flags, .. } => has(flags, b'q'),
            _ => false,
        }
    }

    /// True for `mg`/`ms`/`md`/`ma`: the commands the quiet-run check applies to.
    pub fn is_tagged_meta(&self) -> bool {
        matches!(
            self,
            Self::MetaGet { .. }
                | Self::MetaSet { .. }
                | Self::MetaDelete { .. }
                | Self::MetaArithmetic { .. }
        )
    }

    /// True for commands followed by a data block (set/.../cas, `ms`).
    pub fn carries_data(&self) -> bool {
        matches!(self, Self::Store { .. } | Self::MetaSet { .. })
    }

    /// True for `quit` and `shutdown`: nothing can be sent after them.
    pub fn closes(&self) -> bool {
        matches!(self, Self::Quit | Self::Shutdown { .. })
    }

    /// The opaque the command sends (the last one given), if any.
    pub fn opaque(&self) -> Option<&[u8]> {
        match self {
            Self::MetaGet { flags, .. } => flags.iter().rev().find_map(Flag::opaque),
            Self::MetaSet { flags, .. } => flags.iter().rev().find_map(Flag::opaque),
            Self::MetaDelete { flags, .. } => flags.iter().rev().find_map(Flag::opaque),
            Self::MetaArithmetic { flags, .. } => flags.iter().rev().find_map(Flag::opaque),
            _ => None,
        }
    }

    /// The key of a single-key command (raw, before any base64).
    pub fn key(&self) -> Option<&[u8]> {
        match self {
            Self::Get { key, .. }
            | Self::Store { key, .. }
            | Self::Delete { key, .. }
            | Self::Touch { key, .. }
            | Self::Incr { key, .. }
            | Self::Decr { key, .. }
            | Self::MetaGet { key, .. }
            | Self::MetaSet { key, .. }
            | Self::MetaDelete { key, .. }
            | Self::MetaArithmetic { key, .. }
            | Self::MetaDebug { key, .. } => Some(&key.0),
            _ => None,
        }
    }

    /// Sends the command: `send` for commands expecting a reply (`Some(token)`),
    /// `send_noreply` for the noreply variants (`None`).
    pub fn send(
        &self,
        codec: &mut Codec,
        out: &mut BytesMut,
        now: Instant,
    ) -> std::result::Result<Option<Token>, EncodeError> {
        fn reply<C: memcache_codec::Command + ?Sized>(
            codec: &mut Codec,
            c: &C,
            out: &mut BytesMut,
            now: Instant,
        ) -> std::result::Result<Option<Token>, EncodeError> {
            codec.send(c, out, now).map(Some)
        }
        fn either<C: memcache_codec::NoreplyCommand + ?Sized>(
            codec: &mut Codec,
            c: &C,
            noreply: bool,
            out: &mut BytesMut,
            now: Instant,
        ) -> std::result::Result<Option<Token>, EncodeError> {
            if noreply {
                codec.send_noreply(c, out).map(|()| None)
            } else {
                codec.send(c, out, now).map(Some)
            }
        }
        match self {
            Self::Get { key, cas, touch } => reply(
                codec,
                &retrieval(Get::new(&key.0[..]), *cas, *touch),
                out,
                now,
            ),
            Self::GetMulti { keys, cas, touch } => {
                let keys: Vec<&[u8]> = keys.iter().map(|k| &k.0[..]).collect();
                let mut c = GetMulti::new(&keys);
                if *cas {
                    c = c.with_cas();
                }
                if let Some(e) = touch {
                    c = c.touch(Exptime::from_raw(*e));
                }
                reply(codec, &c, out, now)
            }
            Self::Store {
                mode,
                key,
                value,
                flags,
                exptime,
                noreply,
            } => {
                let c = store(*mode, &key.0, &value.0)
                    .flags(*flags)
                    .exptime(Exptime::from_raw(*exptime));
                either(codec, &c, *noreply, out, now)
            }
            Self::Delete { key, noreply } => {
                either(codec, &Delete::new(&key.0[..]), *noreply, out, now)
            }
            Self::Touch {
                key,
                exptime,
                noreply,
            } => either(
                codec,
                &Touch::new(&key.0[..], Exptime::from_raw(*exptime)),
                *noreply,
                out,
                now,
            ),
            Self::Incr {
                key,
                delta,
                noreply,
            } => either(codec, &Incr::new(&key.0[..], *delta), *noreply, out, now),
            Self::Decr {
                key,
                delta,
                noreply,
            } => either(codec, &Decr::new(&key.0[..], *delta), *noreply, out, now),
            Self::Stats(args) => {
                let c = match args {
                    StatsArgs::None => Stats::new(),
                    StatsArgs::Word(w) => Stats::arg(&w.0[..]),
                    StatsArgs::Detail(on) => Stats::detail(*on),
                    StatsArgs::DetailDump => Stats::detail_dump(),
                    StatsArgs::CacheDump { class, limit } => Stats::cachedump(*class, *limit),
                };
                reply(codec, &c, out, now)
            }
            Self::Version => reply(codec, &Version, out, now),
            Self::Verbosity { level, noreply } => {
                either(codec, &Verbosity::new(*level), *noreply, out, now)
            }
            Self::FlushAll { delay, noreply } => {
                let c = match delay {
                    Some(d) => FlushAll::delay(*d),
                    None => FlushAll::new(),
                };
                either(codec, &c, *noreply, out, now)
            }
            Self::CacheMemlimit { megabytes, noreply } => {
                either(codec, &CacheMemlimit::new(*megabytes), *noreply, out, now)
            }
            Self::Quit => reply(codec, &Quit, out, now),
            Self::Shutdown { graceful } => {
                let c = if *graceful {
                    Shutdown::graceful()
                } else {
                    Shutdown::new()
                };
                reply(codec, &c, out, now)
            }
            Self::MetaGet { key, flags } => reply(codec, &build_mg(&key.0, flags), out, now),
            Self::MetaSet { key, value, flags } => {
                reply(codec, &build_ms(&key.0, &value.0, flags), out, now)
            }
            Self::MetaDelete { key, flags } => reply(codec, &build_md(&key.0, flags), out, now),
            Self::MetaArithmetic { key, flags } => reply(codec, &build_ma(&key.0, flags), out, now),
            Self::MetaNoop => reply(codec, &MetaNoop, out, now),
            Self::MetaDebug { key, base64 } => {
                let c = MetaDebugCommand::new(&key.0[..]);
                let c = if *base64 { c.base64_key() } else { c };
                reply(codec, &c, out, now)
            }
        }
    }

    /// Whether the codec must accept this command's fields, by the rules the crate
    /// documents (an independent restatement, so over- and under-strict validation
    /// both show). `Err` names the rule broken.
    pub fn validate(&self, limits: &Limits) -> std::result::Result<(), &'static str> {
        let key = |k: &Key| {
            if token_ok(&k.0, MAX_KEY_LEN) {
                Ok(())
            } else {
                Err("key")
            }
        };
        let meta = |k: &Key, base64: bool, opaque: bool| {
            if !meta_key_ok(&k.0, base64) {
                Err("meta key")
            } else if !opaque {
                Err("opaque")
            } else {
                Ok(())
            }
        };
        match self {
            Self::Get { key: k, .. }
            | Self::Store { key: k, .. }
            | Self::Delete { key: k, .. }
            | Self::Touch { key: k, .. }
            | Self::Incr { key: k, .. }
            | Self::Decr { key: k, .. } => key(k),
            Self::GetMulti { keys, .. } => {
                if keys.is_empty() {
                    Err("no keys")
                } else if keys.len() > limits.max_values_per_reply {
                    Err("too many keys")
                } else {
                    keys.iter().try_for_each(key)
                }
            }
            Self::Stats(StatsArgs::Word(w)) => {
                if token_ok(&w.0, MAX_KEY_LEN) {
                    Ok(())
                } else {
                    Err("stats word")
                }
            }
            Self::FlushAll { delay: Some(d), .. } if *d > i32::MAX as u32 => Err("flush delay"),
            Self::MetaGet { key: k, flags } => {
                let recache = flags.iter().rev().find_map(|f| match f {
                    MgFlag::Recache(r) => Some(*r),
                    _ => None,
                });
                if recache.is_some_and(|r| r > i32::MAX as u32) {
                    return Err("recache");
                }
                meta(k, has(flags, b'b'), opaque_ok(flags))
            }
            Self::MetaSet { key: k, flags, .. } => meta(k, has(flags, b'b'), opaque_ok(flags)),
            Self::MetaDelete { key: k, flags } => meta(k, has(flags, b'b'), opaque_ok(flags)),
            Self::MetaArithmetic { key: k, flags } => meta(k, has(flags, b'b'), opaque_ok(flags)),
            Self::MetaDebug { key: k, base64 } => meta(k, *base64, true),
            _ => Ok(()),
        }
    }

    /// The command as the builders write it: meta flags deduplicated (first position,
    /// last value), a one-key `GetMulti` as a `Get`.
    pub fn normalized(&self) -> Self {
        match self {
            Self::GetMulti { keys, cas, touch } if keys.len() == 1 => Self::Get {
                key: keys[0].clone(),
                cas: *cas,
                touch: *touch,
            },
            Self::MetaGet { key, flags } => Self::MetaGet {
                key: key.clone(),
                flags: normalize_flags(flags),
            },
            Self::MetaSet { key, value, flags } => Self::MetaSet {
                key: key.clone(),
                value: value.clone(),
                flags: normalize_flags(flags),
            },
            Self::MetaDelete { key, flags } => Self::MetaDelete {
                key: key.clone(),
                flags: normalize_flags(flags),
            },
            Self::MetaArithmetic { key, flags } => Self::MetaArithmetic {
                key: key.clone(),
                flags: normalize_flags(flags),
            },
            other => other.clone(),
        }
    }
}
