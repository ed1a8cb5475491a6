//! The classic text protocol commands.

use super::Encoded;
use super::sealed::Encode;
use super::{
    Command, Exptime, Line, NoreplyCommand, Writer, digits, fixed, key_len, refuse_after_quiet,
    signed_digits,
};
use crate::error::EncodeError;
use crate::expect::{Expect, StatsShape};
use crate::key::MAX_KEY_LEN;

/// The largest `<bytes>` memcached reads correctly (it truncates lengths to 32 bits
/// and needs room for the trailing `\r\n`).
const MAX_VALUE_LEN: usize = (1 << 31) - 3;

fn retrieval_verb(cas: bool, touch: Option<Exptime>) -> &'static [u8] {
    match (cas, touch.is_some()) {
        (false, false) => b"get",
        (true, false) => b"gets",
        (false, true) => b"gat",
        (true, true) => b"gats",
    }
}

/// The length of a retrieval's head: the verb, and the exptime of `gat`/`gats`.
fn retrieval_head_len(cas: bool, touch: Option<Exptime>) -> usize {
    retrieval_verb(cas, touch).len() + touch.map_or(0, |t| 1 + signed_digits(t.as_raw().into()))
}

fn write_retrieval_head(line: &mut Line<'_>, cas: bool, touch: Option<Exptime>) {
    line.put(retrieval_verb(cas, touch));
    if let Some(t) = touch {
        line.byte(b' ');
        line.signed(t.as_raw().into());
    }
}

/// `get <key>`, or `gets`/`gat`/`gats` with [`Get::with_cas`] and [`Get::touch`].
///
/// Completes with [`Response::Hit`](crate::Response::Hit) or
/// [`Response::Miss`](crate::Response::Miss). The `VALUE` line must carry the requested
/// key, else the reply is a decode error.
///
/// ```
/// # use memcache_codec::Codec;
/// # use memcache_codec::command::{Get, Exptime};
/// # use bytes::BytesMut;
/// # let mut codec = Codec::new(); let mut out = BytesMut::new(); let now = std::time::Instant::now();
/// codec.send(&Get::new("user:1").with_cas().touch(Exptime::in_seconds(60)?), &mut out, now)?;
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
    #[inline]
    pub fn new<K: AsRef<[u8]> + ?Sized>(key: &'a K) -> Self {
        Self {
            key: key.as_ref(),
            cas: false,
            touch: None,
        }
    }

    /// Also return the cas unique (`gets`, or `gats` with [`Get::touch`]).
    #[inline]
    pub fn with_cas(mut self) -> Self {
        self.cas = true;
        self
    }

    /// Also set the item's expiration on a hit (`gat`, or `gats` with [`Get::with_cas`]).
    #[inline]
    pub fn touch(mut self, exptime: Exptime) -> Self {
        self.touch = Some(exptime);
        self
    }
}

impl Encode for Get<'_> {
    fn encode(&self, w: &mut Writer<'_, '_>) -> Result<Encoded, EncodeError> {
        let len = retrieval_head_len(self.cas, self.touch) + 1 + key_len(self.key, 0)? + 2;
        let mut line = w.line(len, 0);
        write_retrieval_head(&mut line, self.cas, self.touch);
        line.byte(b' ');
        let key = line.key(self.key, 0)?;
        line.put(b"\r\n");
        line.end();
        // The reply's `VALUE` must carry this key.
        w.record_key(len, key);
        Ok(Encoded::of(Expect::Single { cas: self.cas }))
    }
}

impl Command for Get<'_> {}

/// `get <key>*` with several keys (and `gets`/`gat`/`gats`).
///
/// Completes with [`Response::Items`](crate::Response::Items): hits in the order the
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
    #[inline]
    pub fn new(keys: &'a [K]) -> Self {
        Self {
            keys,
            cas: false,
            touch: None,
        }
    }

    /// Also return cas uniques (`gets`/`gats`).
    #[inline]
    pub fn with_cas(mut self) -> Self {
        self.cas = true;
        self
    }

    /// Also set the expiration of every hit (`gat`/`gats`).
    #[inline]
    pub fn touch(mut self, exptime: Exptime) -> Self {
        self.touch = Some(exptime);
        self
    }
}

impl<K: AsRef<[u8]>> Encode for GetMulti<'_, K> {
    fn encode(&self, w: &mut Writer<'_, '_>) -> Result<Encoded, EncodeError> {
        let count = self.keys.len();
        if count == 0 {
            return Err(EncodeError::NoKeys);
        }
        if count > w.limits.max_values_per_reply {
            return Err(EncodeError::TooManyKeys {
                count,
                limit: w.limits.max_values_per_reply,
            });
        }
        // Sized from the keys' lengths, so the output grows once. Each key's bytes are
        // then read once, copied in place and checked there: a key whose `as_ref()`
        // answers differently the second time (it cannot change what was checked) is
        // refused when its length no longer fits.
        let mut keys_len = 0usize;
        for (index, key) in self.keys.iter().enumerate() {
            keys_len += 1 + key_len(key.as_ref(), index)?;
        }
        let head = retrieval_head_len(self.cas, self.touch);
        let len = head + keys_len + 2;
        let mut line = w.line(len, 0);
        write_retrieval_head(&mut line, self.cas, self.touch);
        for (index, key) in self.keys.iter().enumerate() {
            let key = key.as_ref();
            if line.pos() + 1 + key.len() > head + keys_len {
                return Err(EncodeError::KeyChanged { index });
            }
            line.byte(b' ');
            line.key(key, index)?;
        }
        if line.pos() != head + keys_len {
            return Err(EncodeError::KeyChanged { index: count - 1 });
        }
        line.put(b"\r\n");
        line.end();
        // The reply's `VALUE`s must carry these keys, in this order: recorded as
        // written, space before each.
        w.record_key_list(len, head..head + keys_len, count);
        Ok(Encoded::of(Expect::Multi { cas: self.cas }))
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
/// # use memcache_codec::Codec;
/// # use memcache_codec::command::{Store, Exptime};
/// # use bytes::BytesMut;
/// # let mut codec = Codec::new(); let mut out = BytesMut::new(); let now = std::time::Instant::now();
/// codec.send(&Store::set("k", b"hello").client_flags(42).exptime(Exptime::in_seconds(300)?), &mut out, now)?;
/// assert_eq!(&out[..], b"set k 42 300 5\r\nhello\r\n");
/// # Ok::<(), memcache_codec::EncodeError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Store<'a> {
    mode: StoreMode,
    key: &'a [u8],
    value: &'a [u8],
    flags: u64,
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
            exptime: Exptime::never(),
        }
    }

    /// `set`: store unconditionally.
    #[inline]
    pub fn set<K, V>(key: &'a K, value: &'a V) -> Self
    where
        K: AsRef<[u8]> + ?Sized,
        V: AsRef<[u8]> + ?Sized,
    {
        Self::new(StoreMode::Set, key, value)
    }

    /// `add`: store only if the key is absent.
    #[inline]
    pub fn add<K, V>(key: &'a K, value: &'a V) -> Self
    where
        K: AsRef<[u8]> + ?Sized,
        V: AsRef<[u8]> + ?Sized,
    {
        Self::new(StoreMode::Add, key, value)
    }

    /// `replace`: store only if the key is present.
    #[inline]
    pub fn replace<K, V>(key: &'a K, value: &'a V) -> Self
    where
        K: AsRef<[u8]> + ?Sized,
        V: AsRef<[u8]> + ?Sized,
    {
        Self::new(StoreMode::Replace, key, value)
    }

    /// `append`: add the value after the stored one (flags and exptime are ignored by the server).
    #[inline]
    pub fn append<K, V>(key: &'a K, value: &'a V) -> Self
    where
        K: AsRef<[u8]> + ?Sized,
        V: AsRef<[u8]> + ?Sized,
    {
        Self::new(StoreMode::Append, key, value)
    }

    /// `prepend`: add the value before the stored one (flags and exptime are ignored by the server).
    #[inline]
    pub fn prepend<K, V>(key: &'a K, value: &'a V) -> Self
    where
        K: AsRef<[u8]> + ?Sized,
        V: AsRef<[u8]> + ?Sized,
    {
        Self::new(StoreMode::Prepend, key, value)
    }

    /// `cas`: store only if the item's cas unique is still `unique` (from `gets`).
    #[inline]
    pub fn cas<K, V>(key: &'a K, value: &'a V, unique: u64) -> Self
    where
        K: AsRef<[u8]> + ?Sized,
        V: AsRef<[u8]> + ?Sized,
    {
        Self::new(StoreMode::Cas(unique), key, value)
    }

    /// The client flags stored with the item (default 0). Above `u32::MAX` only for a
    /// server with 8-byte client flags (see [`ServerProfile`](crate::profile::ServerProfile)
    /// and [`Config::large_client_flags`](crate::Config::large_client_flags)): a
    /// 1.6.18 server silently keeps the low 32 bits, so the send is refused otherwise.
    #[inline]
    pub fn client_flags(mut self, flags: u64) -> Self {
        self.flags = flags;
        self
    }

    /// The expiration (default [`Exptime::never()`]).
    #[inline]
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
    fn encode(&self, w: &mut Writer<'_, '_>) -> Result<Encoded, EncodeError> {
        if self.value.len() > MAX_VALUE_LEN {
            return Err(EncodeError::ValueTooLarge {
                len: self.value.len(),
            });
        }
        w.value(self.value.len())?;
        let verb = self.verb();
        let flags = w.client_flags(self.flags)?;
        let exptime = i64::from(self.exptime.as_raw());
        let bytes = self.value.len() as u64;
        let cas = match self.mode {
            StoreMode::Cas(unique) => Some(unique),
            _ => None,
        };
        let len = verb.len()
            + key_len(self.key, 0)?
            + 1
            + digits(flags)
            + 1
            + signed_digits(exptime)
            + 1
            + digits(bytes)
            + cas.map_or(0, |c| 1 + digits(c))
            + w.noreply_len()
            + 2;
        let noreply = w.noreply;
        let mut line = w.line(len, self.value.len() + 2);
        line.put(verb);
        line.key(self.key, 0)?;
        line.byte(b' ');
        line.number(flags);
        line.byte(b' ');
        line.signed(exptime);
        line.byte(b' ');
        line.number(bytes);
        if let Some(unique) = cas {
            line.byte(b' ');
            line.number(unique);
        }
        line.finish(noreply);
        w.data(self.value);
        Ok(Encoded::of(Expect::Storage))
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
    #[inline]
    pub fn new<K: AsRef<[u8]> + ?Sized>(key: &'a K) -> Self {
        Self { key: key.as_ref() }
    }
}

impl Encode for Delete<'_> {
    fn encode(&self, w: &mut Writer<'_, '_>) -> Result<Encoded, EncodeError> {
        let len = 7 + key_len(self.key, 0)? + w.noreply_len() + 2;
        let noreply = w.noreply;
        let mut line = w.line(len, 0);
        line.put(b"delete ");
        line.key(self.key, 0)?;
        line.finish(noreply);
        Ok(Encoded::of(Expect::Delete))
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
    #[inline]
    pub fn new<K: AsRef<[u8]> + ?Sized>(key: &'a K, exptime: Exptime) -> Self {
        Self {
            key: key.as_ref(),
            exptime,
        }
    }
}

impl Encode for Touch<'_> {
    fn encode(&self, w: &mut Writer<'_, '_>) -> Result<Encoded, EncodeError> {
        let exptime = i64::from(self.exptime.as_raw());
        let len = 6 + key_len(self.key, 0)? + 1 + signed_digits(exptime) + w.noreply_len() + 2;
        let noreply = w.noreply;
        let mut line = w.line(len, 0);
        line.put(b"touch ");
        line.key(self.key, 0)?;
        line.byte(b' ');
        line.signed(exptime);
        line.finish(noreply);
        Ok(Encoded::of(Expect::Touch))
    }
}

impl Command for Touch<'_> {}
impl NoreplyCommand for Touch<'_> {}

fn encode_arith(
    w: &mut Writer<'_, '_>,
    verb: &[u8],
    key: &[u8],
    delta: u64,
) -> Result<Encoded, EncodeError> {
    let len = verb.len() + key_len(key, 0)? + 1 + digits(delta) + w.noreply_len() + 2;
    let noreply = w.noreply;
    let mut line = w.line(len, 0);
    line.put(verb);
    line.key(key, 0)?;
    line.byte(b' ');
    line.number(delta);
    line.finish(noreply);
    Ok(Encoded::of(Expect::Arith))
}

/// `incr <key> <delta>` or `decr <key> <delta>`: completes with
/// [`Response::Counter`](crate::Response::Counter) (the new value; `incr` wraps at
/// 2^64, `decr` stops at 0) or [`Response::NotFound`](crate::Response::NotFound). A
/// stored value that is not a decimal number gets `CLIENT_ERROR cannot increment or
/// decrement non-numeric value`.
///
/// Like [`Store`], the verb is the constructor: one struct per reply shape.
#[derive(Debug, Clone, Copy)]
pub struct Arithmetic<'a> {
    key: &'a [u8],
    delta: u64,
    verb: &'static [u8],
}

impl<'a> Arithmetic<'a> {
    /// `incr <key> <delta>`.
    #[inline]
    pub fn incr<K: AsRef<[u8]> + ?Sized>(key: &'a K, delta: u64) -> Self {
        Self {
            key: key.as_ref(),
            delta,
            verb: b"incr ",
        }
    }

    /// `decr <key> <delta>`.
    #[inline]
    pub fn decr<K: AsRef<[u8]> + ?Sized>(key: &'a K, delta: u64) -> Self {
        Self {
            key: key.as_ref(),
            delta,
            verb: b"decr ",
        }
    }
}

impl Encode for Arithmetic<'_> {
    fn encode(&self, w: &mut Writer<'_, '_>) -> Result<Encoded, EncodeError> {
        encode_arith(w, self.verb, self.key, self.delta)
    }
}

impl Command for Arithmetic<'_> {}
impl NoreplyCommand for Arithmetic<'_> {}

#[derive(Debug, Clone, Copy)]
enum StatsArgs<'a> {
    None,
    Word(&'a [u8]),
    Detail(bool),
    DetailDump,
    CacheDump { class: u32, limit: u32 },
    Words(&'a [&'a str]),
}

/// The reply shape of `stats <words>`, as memcached's `process_stat()` picks it from
/// the first word (and the second of `detail`); it ignores words after those.
fn words_shape(words: &[&str]) -> StatsShape {
    match words {
        ["reset", ..] => StatsShape::Reset,
        ["detail", "on" | "off", ..] => StatsShape::Ok,
        ["detail", "dump", ..] => StatsShape::Prefix,
        ["cachedump", ..] => StatsShape::Item,
        _ => StatsShape::Stat,
    }
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
/// | [`Stats::args`]`(&["slabs", "extra"])` | `stats slabs extra` | by the first words, as above |
///
/// An unknown subcommand gets `ERROR`.
#[derive(Debug, Clone, Copy)]
pub struct Stats<'a> {
    args: StatsArgs<'a>,
}

impl<'a> Stats<'a> {
    /// `stats`: general statistics.
    #[inline]
    pub fn new() -> Self {
        Self {
            args: StatsArgs::None,
        }
    }

    /// `stats <arg>` for a one-word subcommand: `settings`, `items`, `slabs`, `sizes`,
    /// `conns`, `extstore`, `reset`, or any other. The word is checked like a key.
    #[inline]
    pub fn arg<A: AsRef<[u8]> + ?Sized>(arg: &'a A) -> Self {
        Self {
            args: StatsArgs::Word(arg.as_ref()),
        }
    }

    /// `stats reset`.
    #[inline]
    pub fn reset() -> Self {
        Self::arg("reset")
    }

    /// `stats detail on` / `stats detail off`.
    #[inline]
    pub fn detail(on: bool) -> Self {
        Self {
            args: StatsArgs::Detail(on),
        }
    }

    /// `stats detail dump`.
    #[inline]
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
    #[inline]
    pub fn cachedump(class: u32, limit: u32) -> Self {
        Self {
            args: StatsArgs::CacheDump { class, limit },
        }
    }
}

impl<'a> Stats<'a> {
    /// `stats <word> <word>...`: any number of words, each checked like a key, the
    /// line at most 2048 bytes. The reply's shape follows the words as memcached
    /// reads them: `reset` gives [`Reset`](crate::Response::Reset), `detail on|off`
    /// [`Ok`](crate::Response::Ok), `detail dump`
    /// [`DetailDump`](crate::Response::DetailDump), `cachedump ...`
    /// [`CacheDump`](crate::Response::CacheDump), anything else `STAT` lines (memcached
    /// ignores words after the ones it reads). No words is `stats`.
    ///
    /// ```
    /// # use memcache_codec::Codec;
    /// # use memcache_codec::command::Stats;
    /// # use bytes::BytesMut;
    /// # let mut codec = Codec::new(); let mut out = BytesMut::new(); let now = std::time::Instant::now();
    /// codec.send(&Stats::args(&["detail", "dump"]), &mut out, now)?;
    /// assert_eq!(&out[..], b"stats detail dump\r\n");
    /// # Ok::<(), memcache_codec::EncodeError>(())
    /// ```
    #[inline]
    pub fn args(words: &'a [&'a str]) -> Self {
        Self {
            args: StatsArgs::Words(words),
        }
    }
}

impl Default for Stats<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl Encode for Stats<'_> {
    fn encode(&self, w: &mut Writer<'_, '_>) -> Result<Encoded, EncodeError> {
        let (len, shape) = match self.args {
            StatsArgs::None => (5, StatsShape::Stat),
            StatsArgs::Word(word) => {
                if word.len() > MAX_KEY_LEN {
                    return Err(EncodeError::InvalidToken {
                        what: "stats argument",
                        reason: crate::TokenError::TooLong {
                            len: word.len(),
                            limit: MAX_KEY_LEN,
                        },
                    });
                }
                // `stats reset` answers `RESET`; every other word, `STAT` lines.
                let shape = if word == b"reset" {
                    StatsShape::Reset
                } else {
                    StatsShape::Stat
                };
                (6 + word.len(), shape)
            }
            StatsArgs::Detail(on) => (if on { 15 } else { 16 }, StatsShape::Ok),
            StatsArgs::DetailDump => (17, StatsShape::Prefix),
            StatsArgs::CacheDump { class, limit } => (
                16 + digits(class.into()) + 1 + digits(limit.into()),
                StatsShape::Item,
            ),
            StatsArgs::Words(words) => {
                let len = 5 + words.iter().map(|w| 1 + w.len()).sum::<usize>();
                super::admin::check_line_len(len + 2)?;
                (len, words_shape(words))
            }
        };
        let mut line = w.line(len + 2, 0);
        line.put(b"stats");
        match self.args {
            StatsArgs::None => {}
            StatsArgs::Word(word) => {
                line.byte(b' ');
                line.token(word, MAX_KEY_LEN)
                    .map_err(|reason| EncodeError::InvalidToken {
                        what: "stats argument",
                        reason,
                    })?;
            }
            StatsArgs::Detail(on) => line.put(if on { b" detail on" } else { b" detail off" }),
            StatsArgs::DetailDump => line.put(b" detail dump"),
            StatsArgs::CacheDump { class, limit } => {
                line.put(b" cachedump ");
                line.number(class.into());
                line.byte(b' ');
                line.number(limit.into());
            }
            StatsArgs::Words(words) => {
                for word in words {
                    line.byte(b' ');
                    line.token(word.as_bytes(), MAX_KEY_LEN).map_err(|reason| {
                        EncodeError::InvalidToken {
                            what: "stats argument",
                            reason,
                        }
                    })?;
                }
            }
        }
        line.put(b"\r\n");
        line.end();
        Ok(Encoded::of(Expect::Stats(shape)))
    }
}

impl Command for Stats<'_> {}

/// `version`: completes with [`Response::Version`](crate::Response::Version).
#[derive(Debug, Clone, Copy, Default)]
pub struct Version;

impl Encode for Version {
    fn encode(&self, w: &mut Writer<'_, '_>) -> Result<Encoded, EncodeError> {
        fixed(w, b"version\r\n", Expect::Version)
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
    #[inline]
    pub fn new(level: u32) -> Self {
        Self { level }
    }
}

impl Encode for Verbosity {
    fn encode(&self, w: &mut Writer<'_, '_>) -> Result<Encoded, EncodeError> {
        encode_number(w, b"verbosity ", Some(self.level.into()), Expect::Ok)
    }
}

/// `<verb>[ <number>][ noreply]\r\n`.
fn encode_number(
    w: &mut Writer<'_, '_>,
    verb: &[u8],
    number: Option<u64>,
    expect: Expect,
) -> Result<Encoded, EncodeError> {
    let len = verb.len() + number.map_or(0, digits) + w.noreply_len() + 2;
    let noreply = w.noreply;
    let mut line = w.line(len, 0);
    line.put(verb);
    if let Some(n) = number {
        line.number(n);
    }
    line.finish(noreply);
    Ok(Encoded::of(expect))
}

impl Command for Verbosity {}
impl NoreplyCommand for Verbosity {}

/// `flush_all [<delay>]`: invalidate every item, now or at a later time.
/// Completes with [`Response::Ok`](crate::Response::Ok).
///
/// The delay is an [`Exptime`] (memcached reads it with the exptime rules): seconds
/// from now, or a unix time. A later `flush_all` replaces a scheduled one.
#[derive(Debug, Clone, Copy, Default)]
pub struct FlushAll {
    delay: Option<Exptime>,
}

impl FlushAll {
    /// `flush_all`: now.
    #[inline]
    pub fn new() -> Self {
        Self { delay: None }
    }

    /// `flush_all <delay>`: at that time ([`Exptime::in_seconds`] or
    /// [`Exptime::at`]); [`Exptime::never`] writes `0`, which means now.
    #[inline]
    pub fn delay(delay: Exptime) -> Self {
        Self { delay: Some(delay) }
    }
}

impl Encode for FlushAll {
    fn encode(&self, w: &mut Writer<'_, '_>) -> Result<Encoded, EncodeError> {
        let delay = match self.delay {
            // A negative delay is read as "now" too, but say so rather than send it.
            Some(d) if d.as_raw() < 0 => {
                return Err(EncodeError::InvalidExptime(
                    "a flush_all delay is a time to come: use FlushAll::new() for now",
                ));
            }
            Some(d) => Some(d.as_raw() as u64),
            None => None,
        };
        let verb: &[u8] = if delay.is_some() {
            b"flush_all "
        } else {
            b"flush_all"
        };
        encode_number(w, verb, delay, Expect::Ok)
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
    #[inline]
    pub fn new(megabytes: u32) -> Self {
        Self { megabytes }
    }
}

impl Encode for CacheMemlimit {
    fn encode(&self, w: &mut Writer<'_, '_>) -> Result<Encoded, EncodeError> {
        encode_number(
            w,
            b"cache_memlimit ",
            Some(self.megabytes.into()),
            Expect::Memlimit,
        )
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
    fn encode(&self, w: &mut Writer<'_, '_>) -> Result<Encoded, EncodeError> {
        fixed(w, b"quit\r\n", Expect::Close)
    }
}

impl Command for Quit {}

/// `shutdown [graceful]`: on a server started with `-A`, it exits and the command
/// completes with [`Response::Closed`](crate::Response::Closed) at end of stream.
/// Otherwise it fails with the server's error line (`ERROR: shutdown not enabled` on
/// 1.6.18). Nothing can be sent after it.
///
/// Unlike `quit`, memcached closes at once on `shutdown`, dropping replies it had not
/// written yet; and its error line right after quiet meta commands could be theirs.
/// So it is refused right after quiet commands ([`EncodeError::NeedsFence`]): send
/// an `mn` first.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shutdown {
    graceful: bool,
}

impl Shutdown {
    /// `shutdown`.
    #[inline]
    pub fn new() -> Self {
        Self { graceful: false }
    }

    /// `shutdown graceful`.
    #[inline]
    pub fn graceful() -> Self {
        Self { graceful: true }
    }
}

impl Encode for Shutdown {
    fn encode(&self, w: &mut Writer<'_, '_>) -> Result<Encoded, EncodeError> {
        refuse_after_quiet(w)?;
        let text: &[u8] = if self.graceful {
            b"shutdown graceful\r\n"
        } else {
            b"shutdown\r\n"
        };
        fixed(w, text, Expect::Close)
    }
}

impl Command for Shutdown {}
