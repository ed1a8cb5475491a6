//! [`Cmd`]: one owned value for every command `memcache-codec` can send.
//!
//! The codec's commands borrow their keys and values, so tests, property tests,
//! fuzz targets and benches that generate, keep or replay commands need owned ones.
//! This module is the one place that mirrors the codec's command API:
//!
//! * [`Cmd`] has a variant per command type (classic commands with their `noreply`
//!   form, every meta command with every flag as a typed value, applied in call
//!   order); [`Cmd::send`] builds the codec's borrowed command and sends it
//!   ([`Codec::send`](memcache_codec::Codec::send), or
//!   [`Codec::send_noreply`](memcache_codec::Codec::send_noreply) for the noreply
//!   variants), and [`Cmd::with_command`] hands the borrowed command to any client;
//! * [`Cmd::from_request`] maps a request as the reference model frames it
//!   ([`parse_request`](crate::parse_request)) back to the command that writes it;
//! * [`Cmd::normalized`] and [`MetaFlags`] apply the builders' rules (a meta flag given
//!   twice keeps its first position and its last token), [`Cmd::validate`] restates the
//!   codec's documented validation independently, and [`Cmd::loud`],
//!   [`Cmd::opaque_mut`], [`Cmd::compare_cas_mut`] let a caller resolve a generated
//!   command at send time;
//! * with the `proptest` feature, the `strategy` module generates commands from pools
//!   of keys, values and numbers; with the `arbitrary` feature, [`Cmd`] implements
//!   `arbitrary::Arbitrary`, drawing keys, opaques, values and stats words from the
//!   pools of the `pools` module most of the time.
//!
//! Adding a command or a flag to the codec means adding it here (a variant, or a flag
//! variant in `flags.rs`; its builder call in `build.rs`; its wire form in `wire.rs`;
//! its rule in `validate.rs` if it has one; a strategy in `strategy.rs` for the
//! property tests to generate it), and nowhere else in the tests.
//!
//! ```
//! use std::time::Instant;
//! use bytes::BytesMut;
//! use memcache_codec::Codec;
//! use memcache_testkit::command::{Cmd, MgFlag, StoreMode};
//!
//! let set = Cmd::Store {
//!     mode: StoreMode::Set,
//!     key: "k".into(),
//!     value: "hi".into(),
//!     flags: 5,
//!     exptime: 0,
//!     noreply: true,
//! };
//! let get = Cmd::MetaGet { key: "k".into(), flags: vec![MgFlag::ReturnValue, MgFlag::Opaque("1".into())] };
//! let (mut codec, mut out) = (Codec::new(), BytesMut::new());
//! assert_eq!(set.send(&mut codec, &mut out, Instant::now()), Ok(None));
//! assert!(get.send(&mut codec, &mut out, Instant::now())?.is_some());
//! assert_eq!(&out[..], b"set k 5 0 2 noreply\r\nhi\r\nmg k v O1\r\n");
//!
//! // The bytes map back to the same commands.
//! let parsed = memcache_testkit::parse_request(&out);
//! let memcache_testkit::ParseResult::Request { request, .. } = parsed else { panic!() };
//! assert_eq!(Cmd::from_request(&request), Some(set));
//! # Ok::<(), memcache_codec::EncodeError>(())
//! ```

mod build;
mod flags;
#[cfg(feature = "arbitrary")]
pub mod pools;
#[cfg(feature = "proptest")]
pub mod strategy;
#[cfg(test)]
mod tests;
mod validate;
mod wire;

use std::fmt;

use memcache_codec::command::{Automove, LruMode, MetaArithMode, MetaSetMode, RawShape, WatchKind};

pub use build::{Sendable, meta_get};
pub use flags::{Flag, FlagToken, MaFlag, MdFlag, MetaFlags, MgFlag, MsFlag, normalize_flags};
pub use wire::base64_decode;

/// Owned bytes with a readable `Debug`, conversions from text and byte slices, and
/// `Deref` to `[u8]`.
macro_rules! owned_bytes {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub Vec<u8>);

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "(\"{}\")"), self.0.escape_ascii())
            }
        }

        impl AsRef<[u8]> for $name {
            fn as_ref(&self) -> &[u8] {
                &self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = [u8];

            fn deref(&self) -> &[u8] {
                &self.0
            }
        }

        impl From<Vec<u8>> for $name {
            fn from(bytes: Vec<u8>) -> Self {
                Self(bytes)
            }
        }

        impl From<&[u8]> for $name {
            fn from(bytes: &[u8]) -> Self {
                Self(bytes.to_vec())
            }
        }

        impl<const N: usize> From<&[u8; N]> for $name {
            fn from(bytes: &[u8; N]) -> Self {
                Self(bytes.to_vec())
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                Self(text.as_bytes().to_vec())
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                Self(text.into_bytes())
            }
        }
    )*};
}

owned_bytes! {
    /// A key, raw (a meta command with the `b` flag sends it base64-encoded).
    Key;
    /// A data block (`set` ... `cas`, `ms`).
    Value;
    /// A meta opaque, without its `O`.
    Opaque;
    /// A one-word `stats` argument.
    Word;
}

/// The classic storage verbs.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
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
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum StatsArgs {
    /// `stats`
    None,
    /// `stats <word>` (`stats reset` is `Word("reset")`, as the builder writes it).
    Word(Word),
    /// `stats detail on|off`
    Detail(bool),
    /// `stats detail dump`
    DetailDump,
    /// `stats cachedump <class> <limit>`
    CacheDump {
        /// Slab class.
        class: u32,
        /// Most items listed (0: all).
        limit: u32,
    },
    /// [`Stats::args`](memcache_codec::command::Stats::args): `stats <word> <word>...`, for the
    /// forms the other variants do not write. The words must be UTF-8 (the codec takes
    /// `&str`; [`Cmd::from_request`] maps only such words here). Not drawn by
    /// `Arbitrary`, which keeps the layout of the variants above.
    #[cfg_attr(feature = "arbitrary", arbitrary(skip))]
    Words(Vec<Word>),
}

/// The `M` mode of `ms`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum MsMode {
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

impl MsMode {
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

    /// The mode written as `letter`.
    pub fn from_letter(letter: u8) -> Option<Self> {
        Some(match letter {
            b'S' => Self::Set,
            b'E' => Self::Add,
            b'A' => Self::Append,
            b'P' => Self::Prepend,
            b'R' => Self::Replace,
            _ => return None,
        })
    }
}

impl From<MsMode> for MetaSetMode {
    fn from(mode: MsMode) -> Self {
        match mode {
            MsMode::Set => Self::Set,
            MsMode::Add => Self::Add,
            MsMode::Append => Self::Append,
            MsMode::Prepend => Self::Prepend,
            MsMode::Replace => Self::Replace,
        }
    }
}

impl From<MetaSetMode> for MsMode {
    fn from(mode: MetaSetMode) -> Self {
        match mode {
            MetaSetMode::Set => Self::Set,
            MetaSetMode::Add => Self::Add,
            MetaSetMode::Append => Self::Append,
            MetaSetMode::Prepend => Self::Prepend,
            MetaSetMode::Replace => Self::Replace,
        }
    }
}

/// The `M` mode of `ma`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum MaMode {
    /// `MI`
    Incr,
    /// `MD`
    Decr,
}

impl MaMode {
    /// The mode's letter on the wire.
    pub fn letter(self) -> u8 {
        match self {
            Self::Incr => b'I',
            Self::Decr => b'D',
        }
    }

    /// The mode written as `letter`.
    pub fn from_letter(letter: u8) -> Option<Self> {
        match letter {
            b'I' => Some(Self::Incr),
            b'D' => Some(Self::Decr),
            _ => None,
        }
    }
}

impl From<MaMode> for MetaArithMode {
    fn from(mode: MaMode) -> Self {
        match mode {
            MaMode::Incr => Self::Incr,
            MaMode::Decr => Self::Decr,
        }
    }
}

impl From<MetaArithMode> for MaMode {
    fn from(mode: MetaArithMode) -> Self {
        match mode {
            MetaArithMode::Incr => Self::Incr,
            MetaArithMode::Decr => Self::Decr,
        }
    }
}

/// Which slab classes an `lru_crawler` command walks
/// ([`CrawlTarget`](memcache_codec::command::CrawlTarget)).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Target {
    /// `all`
    All,
    /// `hash`
    Hash,
    /// `<id>,<id>...`
    Classes(Vec<u32>),
}

/// [`LruCrawler`](memcache_codec::command::LruCrawler)'s forms.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum CrawlerCmd {
    /// `lru_crawler crawl <target>`
    Crawl(Target),
    /// `lru_crawler metadump <target>`
    Metadump(Target),
    /// `lru_crawler mgdump <target>`
    Mgdump(Target),
    /// `lru_crawler enable`
    Enable,
    /// `lru_crawler disable`
    Disable,
    /// `lru_crawler sleep <microseconds>`
    Sleep(u32),
    /// `lru_crawler tocrawl <items>`
    Tocrawl(u32),
}

/// [`Slabs`](memcache_codec::command::Slabs)'s forms.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum SlabsCmd {
    /// `slabs automove <0|1|2>`
    Automove(Automove),
    /// `slabs reassign <src|-1> <dst>` (`None`: `-1`, any class).
    Reassign {
        /// The source class, or any.
        src: Option<u32>,
        /// The destination class.
        dst: u32,
    },
}

/// An `f64` kept by its bits, so commands holding one compare and hash exactly.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Factor(pub u64);

impl Factor {
    /// The number.
    pub fn get(self) -> f64 {
        f64::from_bits(self.0)
    }
}

impl From<f64> for Factor {
    fn from(f: f64) -> Self {
        Self(f.to_bits())
    }
}

impl fmt::Debug for Factor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.get())
    }
}

/// [`Lru`](memcache_codec::command::Lru)'s forms.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum LruCmd {
    /// `lru tune <hot pct> <warm pct> <hot max factor> <warm max factor>`
    Tune {
        /// HOT's share, in percent.
        hot_pct: u32,
        /// WARM's share, in percent.
        warm_pct: u32,
        /// HOT's age factor.
        hot_max_factor: Factor,
        /// WARM's age factor.
        warm_max_factor: Factor,
    },
    /// `lru mode <flat|segmented>`
    Mode(LruMode),
    /// `lru temp_ttl <ttl>`
    TempTtl(i32),
}

/// Every command the codec can send, with owned fields. Numbers are as written on the
/// wire: exptimes are raw (`Exptime::from_raw`), cas uniques and deltas are `u64`.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Cmd {
    /// [`Get`](memcache_codec::command::Get): `get`, `gets`, `gat`, `gats` with one key.
    Get {
        /// The key.
        key: Key,
        /// [`with_cas`](memcache_codec::command::Get::with_cas)
        cas: bool,
        /// [`touch`](memcache_codec::command::Get::touch), a raw exptime.
        touch: Option<i32>,
    },
    /// [`GetMulti`](memcache_codec::command::GetMulti): the same with a key list (one key is
    /// written exactly like a `Get`).
    GetMulti {
        /// The keys, in order.
        keys: Vec<Key>,
        /// [`with_cas`](memcache_codec::command::GetMulti::with_cas)
        cas: bool,
        /// [`touch`](memcache_codec::command::GetMulti::touch), a raw exptime.
        touch: Option<i32>,
    },
    /// [`Store`](memcache_codec::command::Store): `set` ... `cas`.
    Store {
        /// The verb (and the unique of `cas`).
        mode: StoreMode,
        /// The key.
        key: Key,
        /// The data block.
        value: Value,
        /// [`flags`](memcache_codec::command::Store::flags)
        flags: u64,
        /// [`exptime`](memcache_codec::command::Store::exptime), raw.
        exptime: i32,
        /// Sent with [`Codec::send_noreply`](memcache_codec::Codec::send_noreply).
        noreply: bool,
    },
    /// [`Delete`](memcache_codec::command::Delete)
    Delete {
        /// The key.
        key: Key,
        /// Sent with `send_noreply`.
        noreply: bool,
    },
    /// [`Touch`](memcache_codec::command::Touch)
    Touch {
        /// The key.
        key: Key,
        /// The new exptime, raw.
        exptime: i32,
        /// Sent with `send_noreply`.
        noreply: bool,
    },
    /// [`Arithmetic::incr`](memcache_codec::command::Arithmetic::incr)
    Incr {
        /// The key.
        key: Key,
        /// The amount.
        delta: u64,
        /// Sent with `send_noreply`.
        noreply: bool,
    },
    /// [`Arithmetic::decr`](memcache_codec::command::Arithmetic::decr)
    Decr {
        /// The key.
        key: Key,
        /// The amount.
        delta: u64,
        /// Sent with `send_noreply`.
        noreply: bool,
    },
    /// [`Stats`](memcache_codec::command::Stats)
    Stats(StatsArgs),
    /// [`Version`](memcache_codec::command::Version)
    Version,
    /// [`Verbosity`](memcache_codec::command::Verbosity)
    Verbosity {
        /// The level.
        level: u32,
        /// Sent with `send_noreply`.
        noreply: bool,
    },
    /// [`FlushAll`](memcache_codec::command::FlushAll)
    FlushAll {
        /// [`FlushAll::delay`](memcache_codec::command::FlushAll::delay), or now.
        delay: Option<u32>,
        /// Sent with `send_noreply`.
        noreply: bool,
    },
    /// [`CacheMemlimit`](memcache_codec::command::CacheMemlimit)
    CacheMemlimit {
        /// The limit in megabytes.
        megabytes: u32,
        /// Sent with `send_noreply`.
        noreply: bool,
    },
    /// [`Quit`](memcache_codec::command::Quit)
    Quit,
    /// [`Shutdown`](memcache_codec::command::Shutdown)
    Shutdown {
        /// [`Shutdown::graceful`](memcache_codec::command::Shutdown::graceful)
        graceful: bool,
    },
    /// [`MetaGet`](memcache_codec::command::MetaGet): `mg`.
    MetaGet {
        /// The key, raw.
        key: Key,
        /// Builder calls, in order.
        flags: Vec<MgFlag>,
    },
    /// [`MetaSet`](memcache_codec::command::MetaSet): `ms`.
    MetaSet {
        /// The key, raw.
        key: Key,
        /// The data block.
        value: Value,
        /// Builder calls, in order.
        flags: Vec<MsFlag>,
    },
    /// [`MetaDelete`](memcache_codec::command::MetaDelete): `md`.
    MetaDelete {
        /// The key, raw.
        key: Key,
        /// Builder calls, in order.
        flags: Vec<MdFlag>,
    },
    /// [`MetaArithmetic`](memcache_codec::command::MetaArithmetic): `ma`.
    MetaArithmetic {
        /// The key, raw.
        key: Key,
        /// Builder calls, in order.
        flags: Vec<MaFlag>,
    },
    /// [`MetaNoop`](memcache_codec::command::MetaNoop): `mn`.
    MetaNoop,
    /// [`MetaDebug`](memcache_codec::command::MetaDebug): `me`.
    MetaDebug {
        /// The key, raw.
        key: Key,
        /// [`base64_key`](memcache_codec::command::MetaDebug::base64_key)
        base64: bool,
    },
    // The admin commands and the raw command. Not drawn by `Arbitrary` (skipped), so
    // the byte layout of the variants above, which fuzz inputs depend on, is
    // unchanged; the fuzz targets reach them through client bytes (`from_request`).
    /// [`LruCrawler`](memcache_codec::command::LruCrawler)
    #[cfg_attr(feature = "arbitrary", arbitrary(skip))]
    LruCrawler(CrawlerCmd),
    /// [`Slabs`](memcache_codec::command::Slabs)
    #[cfg_attr(feature = "arbitrary", arbitrary(skip))]
    Slabs(SlabsCmd),
    /// [`Lru`](memcache_codec::command::Lru)
    #[cfg_attr(feature = "arbitrary", arbitrary(skip))]
    Lru(LruCmd),
    /// [`ConfigGetCluster`](memcache_codec::command::ConfigGetCluster)
    #[cfg_attr(feature = "arbitrary", arbitrary(skip))]
    ConfigGetCluster,
    /// [`RefreshCerts`](memcache_codec::command::RefreshCerts)
    #[cfg_attr(feature = "arbitrary", arbitrary(skip))]
    RefreshCerts,
    /// [`Watch`](memcache_codec::command::Watch), its kinds in call order.
    #[cfg_attr(feature = "arbitrary", arbitrary(skip))]
    Watch {
        /// [`Watch::kind`](memcache_codec::command::Watch::kind) calls, in order.
        kinds: Vec<WatchKind>,
    },
    /// [`Bget`](memcache_codec::command::Bget)
    #[cfg_attr(feature = "arbitrary", arbitrary(skip))]
    Bget {
        /// The keys, in order.
        keys: Vec<Key>,
    },
    /// [`Raw`](memcache_codec::command::Raw)
    #[cfg_attr(feature = "arbitrary", arbitrary(skip))]
    Raw {
        /// The line, without its `\r\n`.
        line: Vec<u8>,
        /// [`Raw::data`](memcache_codec::command::Raw::data)
        data: Option<Value>,
        /// The declared reply shape.
        shape: RawShape,
    },
}

impl Cmd {
    /// True for commands sent with `send_noreply` (nothing pending, no token).
    pub fn is_noreply(&self) -> bool {
        self.noreply().copied().unwrap_or(false)
    }

    /// The `noreply` switch of the commands that have a noreply form.
    fn noreply(&self) -> Option<&bool> {
        match self {
            Self::Store { noreply, .. }
            | Self::Delete { noreply, .. }
            | Self::Touch { noreply, .. }
            | Self::Incr { noreply, .. }
            | Self::Decr { noreply, .. }
            | Self::Verbosity { noreply, .. }
            | Self::FlushAll { noreply, .. }
            | Self::CacheMemlimit { noreply, .. } => Some(noreply),
            _ => None,
        }
    }

    /// True for `mg`/`ms`/`md`/`ma` with `q`.
    pub fn is_quiet(&self) -> bool {
        self.meta_flags().is_some_and(|f| f.has(b'q'))
    }

    /// True for `mg`/`ms`/`md`/`ma`: the commands told apart by the opaque and key
    /// they echo, to which the codec's quiet-run check applies.
    pub fn is_tagged_meta(&self) -> bool {
        matches!(
            self,
            Self::MetaGet { .. }
                | Self::MetaSet { .. }
                | Self::MetaDelete { .. }
                | Self::MetaArithmetic { .. }
        )
    }

    /// True for commands followed by a data block (`set` ... `cas`, `ms`, a raw command
    /// with one).
    pub fn carries_data(&self) -> bool {
        matches!(
            self,
            Self::Store { .. } | Self::MetaSet { .. } | Self::Raw { data: Some(_), .. }
        )
    }

    /// True for `watch`: nothing can be sent after it while it is pending, and it
    /// completes with its `OK` and each log line before its final completion.
    pub fn is_watch(&self) -> bool {
        matches!(self, Self::Watch { .. })
    }

    /// True for `lru_crawler metadump|mgdump`: nothing can be sent after them while
    /// they are pending, and not right after quiet meta commands.
    pub fn is_dump(&self) -> bool {
        matches!(
            self,
            Self::LruCrawler(CrawlerCmd::Metadump(_) | CrawlerCmd::Mgdump(_))
        )
    }

    /// True for what the codec refuses right after quiet meta commands
    /// ([`NeedsFence`](memcache_codec::EncodeError::NeedsFence)): a watch, a dump, and
    /// `shutdown` (memcached closes at once, dropping quiet commands' replies).
    pub fn needs_fence(&self) -> bool {
        self.is_watch() || self.is_dump() || matches!(self, Self::Shutdown { .. })
    }

    /// True for a raw meta command (`m?` verb): refused behind quiet commands, whose
    /// replies it could be taken for
    /// ([`AmbiguousQuiet`](memcache_codec::EncodeError::AmbiguousQuiet)).
    pub fn is_raw_meta(&self) -> bool {
        matches!(self, Self::Raw { line, .. } if line.len() >= 2 && line[0] == b'm' && line.get(2).is_none_or(|&b| b == b' '))
    }

    /// True for `quit` and `shutdown`: nothing can be sent after them.
    pub fn closes(&self) -> bool {
        matches!(self, Self::Quit | Self::Shutdown { .. })
    }

    /// The flags of a meta command with a flag list (`mg`/`ms`/`md`/`ma`) as the codec
    /// writes them.
    pub fn meta_flags(&self) -> Option<MetaFlags> {
        match self {
            Self::MetaGet { flags, .. } => Some(MetaFlags::of(flags)),
            Self::MetaSet { flags, .. } => Some(MetaFlags::of(flags)),
            Self::MetaDelete { flags, .. } => Some(MetaFlags::of(flags)),
            Self::MetaArithmetic { flags, .. } => Some(MetaFlags::of(flags)),
            _ => None,
        }
    }

    /// The opaque the command sends (the last one given), if any.
    pub fn opaque(&self) -> Option<&[u8]> {
        fn last<F: Flag>(flags: &[F]) -> Option<&[u8]> {
            flags.iter().rev().find_map(|f| match f.token() {
                FlagToken::Opaque(o) => Some(&o.0[..]),
                _ => None,
            })
        }
        match self {
            Self::MetaGet { flags, .. } => last(flags),
            Self::MetaSet { flags, .. } => last(flags),
            Self::MetaDelete { flags, .. } => last(flags),
            Self::MetaArithmetic { flags, .. } => last(flags),
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

    /// Every key the command names, in order: one for single-key commands, the list
    /// of a `GetMulti`, none for the others.
    pub fn keys(&self) -> &[Key] {
        match self {
            Self::GetMulti { keys, .. } | Self::Bget { keys } => keys,
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
            | Self::MetaDebug { key, .. } => std::slice::from_ref(key),
            _ => &[],
        }
    }

    /// The opaque a meta command sends (its last `O` flag), to set it at send time.
    pub fn opaque_mut(&mut self) -> Option<&mut Opaque> {
        fn last<F: Flag>(flags: &mut [F]) -> Option<&mut Opaque> {
            flags.iter_mut().rev().find_map(Flag::opaque_mut)
        }
        match self {
            Self::MetaGet { flags, .. } => last(flags),
            Self::MetaSet { flags, .. } => last(flags),
            Self::MetaDelete { flags, .. } => last(flags),
            Self::MetaArithmetic { flags, .. } => last(flags),
            _ => None,
        }
    }

    /// The cas unique a conditional command sends (the unique of `cas`, the last `C`
    /// of a meta command), to set it at send time, when the unique to use is known.
    pub fn compare_cas_mut(&mut self) -> Option<&mut u64> {
        fn last<F: Flag>(flags: &mut [F]) -> Option<&mut u64> {
            flags.iter_mut().rev().find_map(Flag::compare_cas_mut)
        }
        match self {
            Self::Store {
                mode: StoreMode::Cas(unique),
                ..
            } => Some(unique),
            Self::MetaGet { flags, .. } => last(flags),
            Self::MetaSet { flags, .. } => last(flags),
            Self::MetaDelete { flags, .. } => last(flags),
            Self::MetaArithmetic { flags, .. } => last(flags),
            _ => None,
        }
    }

    /// A copy that expects its reply: without `noreply`, and without `q` on a meta
    /// command.
    pub fn loud(&self) -> Self {
        let mut cmd = self.clone();
        match &mut cmd {
            Self::Store { noreply, .. }
            | Self::Delete { noreply, .. }
            | Self::Touch { noreply, .. }
            | Self::Incr { noreply, .. }
            | Self::Decr { noreply, .. }
            | Self::Verbosity { noreply, .. }
            | Self::FlushAll { noreply, .. }
            | Self::CacheMemlimit { noreply, .. } => *noreply = false,
            Self::MetaGet { flags, .. } => flags.retain(|f| *f != MgFlag::Quiet),
            Self::MetaSet { flags, .. } => flags.retain(|f| *f != MsFlag::Quiet),
            Self::MetaDelete { flags, .. } => flags.retain(|f| *f != MdFlag::Quiet),
            Self::MetaArithmetic { flags, .. } => flags.retain(|f| *f != MaFlag::Quiet),
            _ => {}
        }
        cmd
    }

    /// The command as the builders write it: meta flags deduplicated (first position,
    /// last value), a one-key `GetMulti` as a `Get`. Two commands that write the same
    /// bytes are equal once normalized.
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
            // Kinds are written each once, in `WatchKind`'s order.
            Self::Watch { kinds } => {
                let mut kinds = kinds.clone();
                kinds.sort_by_key(|k| WatchKind::ALL.iter().position(|a| a == k));
                kinds.dedup();
                Self::Watch { kinds }
            }
            // `stats` with one word or none, and the forms with a variant of their own,
            // are written like those.
            Self::Stats(StatsArgs::Words(words)) => Self::Stats(match &words[..] {
                [] => StatsArgs::None,
                [w] => StatsArgs::Word(w.clone()),
                [d, on] if d.0 == b"detail" && on.0 == b"on" => StatsArgs::Detail(true),
                [d, off] if d.0 == b"detail" && off.0 == b"off" => StatsArgs::Detail(false),
                [d, dump] if d.0 == b"detail" && dump.0 == b"dump" => StatsArgs::DetailDump,
                [c, class, limit] if c.0 == b"cachedump" => {
                    match (wire::u32_(class), wire::u32_(limit)) {
                        (Some(class), Some(limit)) => StatsArgs::CacheDump { class, limit },
                        _ => StatsArgs::Words(words.clone()),
                    }
                }
                _ => StatsArgs::Words(words.clone()),
            }),
            other => other.clone(),
        }
    }
}
