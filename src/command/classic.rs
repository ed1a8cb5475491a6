//! The classic text protocol commands.

use super::sealed::Encode;
use super::{Command, Exptime, NoreplyCommand, Plan, Writer};
use crate::error::EncodeError;
use crate::expect::{Expect, StatsShape};
use crate::key::{MAX_KEY_LEN, check_key, check_token};
use crate::limits::Limits;

/// The largest `<bytes>` memcached reads correctly (it truncates lengths to 32 bits
/// and needs room for the trailing `\r\n`).
const MAX_VALUE_LEN: usize = (1 << 31) - 3;

fn key_ok(key: &[u8]) -> Result<(), EncodeError> {
    check_key(key).map_err(|reason| EncodeError::InvalidKey { index: 0, reason })
}

fn plan(expect: Expect, wire_len: usize) -> Result<Plan, EncodeError> {
    Ok(Plan { expect, wire_len })
}

/// Room for ` noreply\r\n` and one number, when sizing a line.
const LINE_SLACK: usize = 32;

fn retrieval_verb(cas: bool, touch: Option<Exptime>) -> &'static [u8] {
    match (cas, touch.is_some()) {
        (false, false) => b"get",
        (true, false) => b"gets",
        (false, true) => b"gat",
        (true, true) => b"gats",
    }
}

fn write_retrieval_head(w: &mut Writer<'_, '_>, cas: bool, touch: Option<Exptime>) {
    w.raw(retrieval_verb(cas, touch));
    if let Some(t) = touch {
        w.raw(b" ");
        w.i64(t.as_raw().into());
    }
}

/// `get <key>`, or `gets`/`gat`/`gats` with [`Get::with_cas`] and [`Get::touch`].
///
/// Completes with [`Response::Hit`](crate::Response::Hit) or
/// [`Response::Miss`](crate::Response::Miss). The `VALUE` line must carry the requested
/// key, else the reply is a decode error.
///
/// ```
/// # use memcache_codec::{Codec, Get, Exptime};
/// # use bytes::BytesMut;
/// # let mut codec = Codec::new(); let mut out = BytesMut::new(); let now = std::time::Instant::now();
/// codec.send(&Get::new("user:1").with_cas().touch(Exptime::relative(60)?), &mut out, now)?;
/// assert_eq!(&out[..], b"gats 60 user:1\r\n");
/// # Ok::<(), memcache_codec::EncodeError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Get<'a> {
    key: &'a [u8],
    cas: bool,
    touch: Option<Exptime>,
}

impl<'a> Get<'a> {
    /// `get <key>`.
    pub fn new<K: AsRef<[u8]> + ?Sized>(key: &'a K) -> Self {
        Self {
            key: key.as_ref(),
            cas: false,
            touch: None,
        }
    }

    /// Also return the cas unique (`gets`, or `gats` with [`Get::touch`]).
    pub fn with_cas(mut self) -> Self {
        self.cas = true;
        self
    }

    /// Also set the item's expiration on a hit (`gat`, or `gats` with [`Get::with_cas`]).
    pub fn touch(mut self, exptime: Exptime) -> Self {
        self.touch = Some(exptime);
        self
    }
}

impl Encode for Get<'_> {
    fn plan(&self, _: &Limits) -> Result<Plan, EncodeError> {
        key_ok(self.key)?;
        plan(
            Expect::Single { cas: self.cas },
            self.key.len() + LINE_SLACK,
        )
    }

    fn write(&self, w: &mut Writer<'_, '_>) {
        write_retrieval_head(w, self.cas, self.touch);
        w.raw(b" ");
        w.key(self.key);
        w.raw(b"\r\n");
    }
}

impl Command for Get<'_> {}

/// `get <key>*` with several keys (and `gets`/`gat`/`gats`).
///
/// Completes with [`Response::Values`](crate::Response::Values): hits in the order the
/// server sent them (request order), misses left out, a key asked for twice returned
/// twice. Each `VALUE` key is checked against the request, in order.
///
/// An empty key list is refused ([`EncodeError::NoKeys`]): `get` with no key is a server
/// `ERROR`, and answering it locally would complete out of order. memcached exempts
/// `get`/`gets` lines from its 2048-byte line limit, but not `gat`/`gats`: split those
/// into batches whose line stays under 2048 bytes.
#[derive(Debug, Clone, Copy)]
pub struct GetMulti<'a, K> {
    keys: &'a [K],
    cas: bool,
    touch: Option<Exptime>,
}

impl<'a, K: AsRef<[u8]>> GetMulti<'a, K> {
    /// `get <key>*`.
    pub fn new(keys: &'a [K]) -> Self {
        Self {
            keys,
            cas: false,
            touch: None,
        }
    }

    /// Also return cas uniques (`gets`/`gats`).
    pub fn with_cas(mut self) -> Self {
        self.cas = true;
        self
    }

    /// Also set the expiration of every hit (`gat`/`gats`).
    pub fn touch(mut self, exptime: Exptime) -> Self {
        self.touch = Some(exptime);
        self
    }
}

impl<K: AsRef<[u8]>> Encode for GetMulti<'_, K> {
    fn plan(&self, limits: &Limits) -> Result<Plan, EncodeError> {
        if self.keys.is_empty() {
            return Err(EncodeError::NoKeys);
        }
        if self.keys.len() > limits.max_values_per_reply {
            return Err(EncodeError::TooManyKeys {
                count: self.keys.len(),
                limit: limits.max_values_per_reply,
            });
        }
        let mut len = LINE_SLACK;
        for (index, key) in self.keys.iter().enumerate() {
            let key = key.as_ref();
            check_key(key).map_err(|reason| EncodeError::InvalidKey { index, reason })?;
            len += key.len() + 1;
        }
        plan(Expect::Multi { cas: self.cas }, len)
    }

    fn write(&self, w: &mut Writer<'_, '_>) {
        write_retrieval_head(w, self.cas, self.touch);
        for key in self.keys {
            let key = key.as_ref();
            w.raw(b" ");
            w.raw(key);
            // Keys are at most 250 bytes, so one length byte frames each: the reply
            // check reads them without searching.
            debug_assert!(key.len() <= MAX_KEY_LEN);
            let _ = w.draft.framed_key(key);
        }
        w.raw(b"\r\n");
    }
}

impl<K: AsRef<[u8]>> Command for GetMulti<'_, K> {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoreMode {
    Set,
    Add,
    Replace,
    Append,
    Prepend,
    Cas(u64),
}

/// `set`, `add`, `replace`, `append`, `prepend` and `cas`: a key, a value, client flags
/// and an expiration.
///
/// Completes with [`Response::Stored`](crate::Response::Stored),
/// [`NotStored`](crate::Response::NotStored), [`Exists`](crate::Response::Exists) or
/// [`NotFound`](crate::Response::NotFound) (the last two only for `cas`).
///
/// ```
/// # use memcache_codec::{Codec, Store, Exptime};
/// # use bytes::BytesMut;
/// # let mut codec = Codec::new(); let mut out = BytesMut::new(); let now = std::time::Instant::now();
/// codec.send(&Store::set("k", b"hello").flags(42).exptime(Exptime::relative(300)?), &mut out, now)?;
/// assert_eq!(&out[..], b"set k 42 300 5\r\nhello\r\n");
/// # Ok::<(), memcache_codec::EncodeError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Store<'a> {
    mode: StoreMode,
    key: &'a [u8],
    value: &'a [u8],
    flags: u32,
    exptime: Exptime,
}

impl<'a> Store<'a> {
    fn new<K, V>(mode: StoreMode, key: &'a K, value: &'a V) -> Self
    where
        K: AsRef<[u8]> + ?Sized,
        V: AsRef<[u8]> + ?Sized,
    {
        Self {
            mode,
            key: key.as_ref(),
            value: value.as_ref(),
            flags: 0,
            exptime: Exptime::NEVER,
        }
    }

    /// `set`: store unconditionally.
    pub fn set<K, V>(key: &'a K, value: &'a V) -> Self
    where
        K: AsRef<[u8]> + ?Sized,
        V: AsRef<[u8]> + ?Sized,
    {
        Self::new(StoreMode::Set, key, value)
    }

    /// `add`: store only if the key is absent.
    pub fn add<K, V>(key: &'a K, value: &'a V) -> Self
    where
        K: AsRef<[u8]> + ?Sized,
        V: AsRef<[u8]> + ?Sized,
    {
        Self::new(StoreMode::Add, key, value)
    }

    /// `replace`: store only if the key is present.
    pub fn replace<K, V>(key: &'a K, value: &'a V) -> Self
    where
        K: AsRef<[u8]> + ?Sized,
        V: AsRef<[u8]> + ?Sized,
    {
        Self::new(StoreMode::Replace, key, value)
    }

    /// `append`: add the value after the stored one (flags and exptime are ignored by the server).
    pub fn append<K, V>(key: &'a K, value: &'a V) -> Self
    where
        K: AsRef<[u8]> + ?Sized,
        V: AsRef<[u8]> + ?Sized,
    {
        Self::new(StoreMode::Append, key, value)
    }

    /// `prepend`: add the value before the stored one (flags and exptime are ignored by the server).
    pub fn prepend<K, V>(key: &'a K, value: &'a V) -> Self
    where
        K: AsRef<[u8]> + ?Sized,
        V: AsRef<[u8]> + ?Sized,
    {
        Self::new(StoreMode::Prepend, key, value)
    }

    /// `cas`: store only if the item's cas unique is still `unique` (from `gets`).
    pub fn cas<K, V>(key: &'a K, value: &'a V, unique: u64) -> Self
    where
        K: AsRef<[u8]> + ?Sized,
        V: AsRef<[u8]> + ?Sized,
    {
        Self::new(StoreMode::Cas(unique), key, value)
    }

    /// The client flags stored with the item (default 0).
    pub fn flags(mut self, flags: u32) -> Self {
        self.flags = flags;
        self
    }

    /// The expiration (default [`Exptime::NEVER`]).
    pub fn exptime(mut self, exptime: Exptime) -> Self {
        self.exptime = exptime;
        self
    }

    fn verb(&self) -> &'static [u8] {
        match self.mode {
            StoreMode::Set => b"set ",
            StoreMode::Add => b"add ",
            StoreMode::Replace => b"replace ",
            StoreMode::Append => b"append ",
            StoreMode::Prepend => b"prepend ",
            StoreMode::Cas(_) => b"cas ",
        }
    }
}

impl Encode for Store<'_> {
    fn plan(&self, _: &Limits) -> Result<Plan, EncodeError> {
        key_ok(self.key)?;
        if self.value.len() > MAX_VALUE_LEN {
            return Err(EncodeError::ValueTooLarge {
                len: self.value.len(),
            });
        }
        plan(
            Expect::Storage,
            self.key.len() + self.value.len() + 2 * LINE_SLACK + 20,
        )
    }

    fn write(&self, w: &mut Writer<'_, '_>) {
        w.raw(self.verb());
        w.key(self.key);
        w.raw(b" ");
        w.u64(self.flags.into());
        w.raw(b" ");
        w.i64(self.exptime.as_raw().into());
        w.raw(b" ");
        w.u64(self.value.len() as u64);
        if let StoreMode::Cas(unique) = self.mode {
            w.raw(b" ");
            w.u64(unique);
        }
        w.noreply();
        w.raw(b"\r\n");
        w.raw(self.value);
        w.raw(b"\r\n");
    }
}

impl Command for Store<'_> {}
impl NoreplyCommand for Store<'_> {}

/// `delete <key>`: completes with [`Response::Deleted`](crate::Response::Deleted) or
/// [`Response::NotFound`](crate::Response::NotFound).
#[derive(Debug, Clone, Copy)]
pub struct Delete<'a> {
    key: &'a [u8],
}

impl<'a> Delete<'a> {
    /// `delete <key>`.
    pub fn new<K: AsRef<[u8]> + ?Sized>(key: &'a K) -> Self {
        Self { key: key.as_ref() }
    }
}

impl Encode for Delete<'_> {
    fn plan(&self, _: &Limits) -> Result<Plan, EncodeError> {
        key_ok(self.key)?;
        plan(Expect::Delete, self.key.len() + LINE_SLACK)
    }

    fn write(&self, w: &mut Writer<'_, '_>) {
        w.raw(b"delete ");
        w.key(self.key);
        w.noreply();
        w.raw(b"\r\n");
    }
}

impl Command for Delete<'_> {}
impl NoreplyCommand for Delete<'_> {}

/// `touch <key> <exptime>`: completes with [`Response::Touched`](crate::Response::Touched)
/// or [`Response::NotFound`](crate::Response::NotFound).
#[derive(Debug, Clone, Copy)]
pub struct Touch<'a> {
    key: &'a [u8],
    exptime: Exptime,
}

impl<'a> Touch<'a> {
    /// `touch <key> <exptime>`.
    pub fn new<K: AsRef<[u8]> + ?Sized>(key: &'a K, exptime: Exptime) -> Self {
        Self {
            key: key.as_ref(),
            exptime,
        }
    }
}

impl Encode for Touch<'_> {
    fn plan(&self, _: &Limits) -> Result<Plan, EncodeError> {
        key_ok(self.key)?;
        plan(Expect::Touch, self.key.len() + LINE_SLACK)
    }

    fn write(&self, w: &mut Writer<'_, '_>) {
        w.raw(b"touch ");
        w.key(self.key);
        w.raw(b" ");
        w.i64(self.exptime.as_raw().into());
        w.noreply();
        w.raw(b"\r\n");
    }
}

impl Command for Touch<'_> {}
impl NoreplyCommand for Touch<'_> {}

fn plan_arith(key: &[u8]) -> Result<Plan, EncodeError> {
    key_ok(key)?;
    plan(Expect::Arith, key.len() + LINE_SLACK + 20)
}

fn write_arith(w: &mut Writer<'_, '_>, verb: &[u8], key: &[u8], delta: u64) {
    w.raw(verb);
    w.key(key);
    w.raw(b" ");
    w.u64(delta);
    w.noreply();
    w.raw(b"\r\n");
}

/// `incr <key> <delta>`: completes with [`Response::Counter`](crate::Response::Counter)
/// (the new value; it wraps at 2^64) or [`Response::NotFound`](crate::Response::NotFound).
/// A stored value that is not a decimal number gets
/// `CLIENT_ERROR cannot increment or decrement non-numeric value`.
#[derive(Debug, Clone, Copy)]
pub struct Incr<'a> {
    key: &'a [u8],
    delta: u64,
}

impl<'a> Incr<'a> {
    /// `incr <key> <delta>`.
    pub fn new<K: AsRef<[u8]> + ?Sized>(key: &'a K, delta: u64) -> Self {
        Self {
            key: key.as_ref(),
            delta,
        }
    }
}

impl Encode for Incr<'_> {
    fn plan(&self, _: &Limits) -> Result<Plan, EncodeError> {
        plan_arith(self.key)
    }

    fn write(&self, w: &mut Writer<'_, '_>) {
        write_arith(w, b"incr ", self.key, self.delta);
    }
}

impl Command for Incr<'_> {}
impl NoreplyCommand for Incr<'_> {}

/// `decr <key> <delta>`: like [`Incr`], but stops at 0 instead of wrapping.
#[derive(Debug, Clone, Copy)]
pub struct Decr<'a> {
    key: &'a [u8],
    delta: u64,
}

impl<'a> Decr<'a> {
    /// `decr <key> <delta>`.
    pub fn new<K: AsRef<[u8]> + ?Sized>(key: &'a K, delta: u64) -> Self {
        Self {
            key: key.as_ref(),
            delta,
        }
    }
}

impl Encode for Decr<'_> {
    fn plan(&self, _: &Limits) -> Result<Plan, EncodeError> {
        plan_arith(self.key)
    }

    fn write(&self, w: &mut Writer<'_, '_>) {
        write_arith(w, b"decr ", self.key, self.delta);
    }
}

impl Command for Decr<'_> {}
impl NoreplyCommand for Decr<'_> {}

#[derive(Debug, Clone, Copy)]
enum StatsArgs<'a> {
    None,
    Word(&'a [u8]),
    Detail(bool),
    DetailDump,
    CacheDump { class: u32, limit: u32 },
}

/// `stats`, with or without a subcommand. Each subcommand's reply shape is known:
///
/// | Constructor | Wire | Completes with |
/// |---|---|---|
/// | [`Stats::new`] | `stats` | [`Response::Stats`](crate::Response::Stats) |
/// | [`Stats::arg`]`("settings")` (`items`, `slabs`, `sizes`, `conns`, ...) | `stats <arg>` | [`Response::Stats`](crate::Response::Stats) |
/// | [`Stats::reset`] (or `arg("reset")`) | `stats reset` | [`Response::Reset`](crate::Response::Reset) |
/// | [`Stats::detail`] | `stats detail on\|off` | [`Response::Ok`](crate::Response::Ok) |
/// | [`Stats::detail_dump`] | `stats detail dump` | [`Response::DetailDump`](crate::Response::DetailDump) |
/// | [`Stats::cachedump`] | `stats cachedump <class> <limit>` | [`Response::CacheDump`](crate::Response::CacheDump) |
///
/// An unknown subcommand gets `ERROR`.
#[derive(Debug, Clone, Copy)]
pub struct Stats<'a> {
    args: StatsArgs<'a>,
}

impl<'a> Stats<'a> {
    /// `stats`: general statistics.
    pub fn new() -> Self {
        Self {
            args: StatsArgs::None,
        }
    }

    /// `stats <arg>` for a one-word subcommand: `settings`, `items`, `slabs`, `sizes`,
    /// `conns`, `extstore`, `reset`, or any other. The word is checked like a key.
    pub fn arg<A: AsRef<[u8]> + ?Sized>(arg: &'a A) -> Self {
        Self {
            args: StatsArgs::Word(arg.as_ref()),
        }
    }

    /// `stats reset`.
    pub fn reset() -> Self {
        Self::arg("reset")
    }

    /// `stats detail on` / `stats detail off`.
    pub fn detail(on: bool) -> Self {
        Self {
            args: StatsArgs::Detail(on),
        }
    }

    /// `stats detail dump`.
    pub fn detail_dump() -> Self {
        Self {
            args: StatsArgs::DetailDump,
        }
    }

    /// `stats cachedump <class> <limit>` (limit 0: all). memcached 1.6 lists only
    /// items in the COLD LRU. A stock memcached has 63 slab classes (a compile-time
    /// constant of the server, so not checked here) and answers a class of 64 or more
    /// with `CLIENT_ERROR Illegal slab id`: a typed result that leaves the stream in a
    /// known state.
    pub fn cachedump(class: u32, limit: u32) -> Self {
        Self {
            args: StatsArgs::CacheDump { class, limit },
        }
    }
}

impl Default for Stats<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl Encode for Stats<'_> {
    fn plan(&self, _: &Limits) -> Result<Plan, EncodeError> {
        let shape = match self.args {
            StatsArgs::None => StatsShape::Stat,
            StatsArgs::Word(word) => {
                check_token(word, MAX_KEY_LEN).map_err(|reason| EncodeError::InvalidToken {
                    what: "stats argument",
                    reason,
                })?;
                if word == b"reset" {
                    StatsShape::Reset
                } else {
                    StatsShape::Stat
                }
            }
            StatsArgs::Detail(_) => StatsShape::Ok,
            StatsArgs::DetailDump => StatsShape::Prefix,
            StatsArgs::CacheDump { .. } => StatsShape::Item,
        };
        plan(Expect::Stats(shape), MAX_KEY_LEN + LINE_SLACK)
    }

    fn write(&self, w: &mut Writer<'_, '_>) {
        w.raw(b"stats");
        match self.args {
            StatsArgs::None => {}
            StatsArgs::Word(word) => {
                w.raw(b" ");
                w.raw(word);
            }
            StatsArgs::Detail(on) => w.raw(if on { b" detail on" } else { b" detail off" }),
            StatsArgs::DetailDump => w.raw(b" detail dump"),
            StatsArgs::CacheDump { class, limit } => {
                w.raw(b" cachedump ");
                w.u64(class.into());
                w.raw(b" ");
                w.u64(limit.into());
            }
        }
        w.raw(b"\r\n");
    }
}

impl Command for Stats<'_> {}

/// `version`: completes with [`Response::Version`](crate::Response::Version).
#[derive(Debug, Clone, Copy, Default)]
pub struct Version;

impl Encode for Version {
    fn plan(&self, _: &Limits) -> Result<Plan, EncodeError> {
        plan(Expect::Version, 9)
    }

    fn write(&self, w: &mut Writer<'_, '_>) {
        w.raw(b"version\r\n");
    }
}

impl Command for Version {}

/// `verbosity <level>`: completes with [`Response::Ok`](crate::Response::Ok). memcached
/// clamps the level to 2.
#[derive(Debug, Clone, Copy)]
pub struct Verbosity {
    level: u32,
}

impl Verbosity {
    /// `verbosity <level>`.
    pub fn new(level: u32) -> Self {
        Self { level }
    }
}

impl Encode for Verbosity {
    fn plan(&self, _: &Limits) -> Result<Plan, EncodeError> {
        plan(Expect::Ok, LINE_SLACK + 10)
    }

    fn write(&self, w: &mut Writer<'_, '_>) {
        w.raw(b"verbosity ");
        w.u64(self.level.into());
        w.noreply();
        w.raw(b"\r\n");
    }
}

impl Command for Verbosity {}
impl NoreplyCommand for Verbosity {}

/// `flush_all [<delay>]`: invalidate every item, now or after `delay` seconds.
/// Completes with [`Response::Ok`](crate::Response::Ok).
///
/// The delay follows the exptime rules: 0 (or no delay) means now, and memcached reads
/// a delay above 30 days as a unix time. A later `flush_all` replaces a scheduled one.
#[derive(Debug, Clone, Copy, Default)]
pub struct FlushAll {
    delay: Option<u32>,
}

impl FlushAll {
    /// `flush_all`: now.
    pub fn new() -> Self {
        Self { delay: None }
    }

    /// `flush_all <delay>`; `0` is written as `0` and means now.
    pub fn delay(seconds: u32) -> Self {
        Self {
            delay: Some(seconds),
        }
    }
}

impl Encode for FlushAll {
    fn plan(&self, _: &Limits) -> Result<Plan, EncodeError> {
        if self.delay.is_some_and(|d| d > i32::MAX as u32) {
            return Err(EncodeError::InvalidExptime(
                "memcached reads the flush_all delay as a 32-bit signed number",
            ));
        }
        plan(Expect::Ok, LINE_SLACK + 10)
    }

    fn write(&self, w: &mut Writer<'_, '_>) {
        w.raw(b"flush_all");
        if let Some(delay) = self.delay {
            w.raw(b" ");
            w.u64(delay.into());
        }
        w.noreply();
        w.raw(b"\r\n");
    }
}

impl Command for FlushAll {}
impl NoreplyCommand for FlushAll {}

/// `cache_memlimit <megabytes>`: completes with [`Response::Ok`](crate::Response::Ok), or
/// fails with a [`ServerError`](crate::ServerError) of kind
/// [`MemlimitTooSmall`](crate::ServerErrorKind::MemlimitTooSmall) (below 8 MB) or
/// [`MemlimitAdjustFailed`](crate::ServerErrorKind::MemlimitAdjustFailed).
#[derive(Debug, Clone, Copy)]
pub struct CacheMemlimit {
    megabytes: u32,
}

impl CacheMemlimit {
    /// `cache_memlimit <megabytes>`.
    pub fn new(megabytes: u32) -> Self {
        Self { megabytes }
    }
}

impl Encode for CacheMemlimit {
    fn plan(&self, _: &Limits) -> Result<Plan, EncodeError> {
        plan(Expect::Memlimit, LINE_SLACK + 10)
    }

    fn write(&self, w: &mut Writer<'_, '_>) {
        w.raw(b"cache_memlimit ");
        w.u64(self.megabytes.into());
        w.noreply();
        w.raw(b"\r\n");
    }
}

impl Command for CacheMemlimit {}
impl NoreplyCommand for CacheMemlimit {}

/// `quit`: memcached sends nothing and closes the connection. Completes with
/// [`Response::Closed`](crate::Response::Closed) when the caller reports end of stream
/// ([`Codec::handle_eof`](crate::Codec::handle_eof)). Nothing can be sent after it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quit;

impl Encode for Quit {
    fn plan(&self, _: &Limits) -> Result<Plan, EncodeError> {
        plan(Expect::Close, 6)
    }

    fn write(&self, w: &mut Writer<'_, '_>) {
        w.raw(b"quit\r\n");
    }
}

impl Command for Quit {}

/// `shutdown [graceful]`: on a server started with `-A`, it exits and the command
/// completes with [`Response::Closed`](crate::Response::Closed) at end of stream.
/// Otherwise it fails with the server's error line (`ERROR: shutdown not enabled` on
/// 1.6.18). Nothing can be sent after it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shutdown {
    graceful: bool,
}

impl Shutdown {
    /// `shutdown`.
    pub fn new() -> Self {
        Self { graceful: false }
    }

    /// `shutdown graceful`.
    pub fn graceful() -> Self {
        Self { graceful: true }
    }
}

impl Encode for Shutdown {
    fn plan(&self, _: &Limits) -> Result<Plan, EncodeError> {
        plan(Expect::Close, 20)
    }

    fn write(&self, w: &mut Writer<'_, '_>) {
        w.raw(if self.graceful {
            b"shutdown graceful\r\n"
        } else {
            b"shutdown\r\n"
        });
    }
}

impl Command for Shutdown {}
