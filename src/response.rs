//! Typed replies. Every byte string is a zero-copy [`Bytes`] split off the caller's
//! read buffer.
//!
//! Which [`Response`] variants a command can complete with is listed on the command.
//! Error lines are not responses: they arrive as
//! [`CommandError::Server`](crate::CommandError::Server).

use bytes::Bytes;

mod admin;

pub use admin::{AdminStatus, ClusterConfig, ClusterNode, DumpEntry, LogLine, RawReply};

/// One stored item, as a single-key retrieval returns it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Value {
    /// The client flags stored with the item: 32 bits on most servers, 64 on
    /// servers built with `--enable-large-client-flags` (1.6.22+).
    pub flags: u64,
    /// The cas unique: present exactly for `gets` and `gats`.
    pub cas: Option<u64>,
    /// The value, byte for byte.
    pub data: Bytes,
}

/// One item of a multi-key retrieval, owned: the key it was sent under, and the item
/// (see [`Items::into_vec`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Item {
    /// The key, as the server sent it.
    pub key: Bytes,
    /// The item.
    pub value: Value,
}

/// Where one item of a multi-key reply lies in the reply's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ItemSpan {
    pub(crate) key_start: usize,
    pub(crate) key_len: usize,
    pub(crate) data_start: usize,
    pub(crate) data_len: usize,
    pub(crate) flags: u64,
    pub(crate) cas: Option<u64>,
}

/// The hits of a multi-key retrieval, in the order the server sent them (request
/// order, misses left out, a key asked for twice returned twice).
///
/// One zero-copy view of the reply: its bytes are one [`Bytes`] split off the read
/// buffer, and each item is a pair of ranges into it. Reading items borrows
/// ([`Items::iter`], [`Items::get`]); [`ItemRef::data_bytes`] or
/// [`Items::into_vec`] make owned zero-copy handles when they are wanted (each
/// handle costs an atomic reference count update, which is why the view does not
/// make them up front).
#[derive(Clone, Default)]
pub struct Items {
    frame: Bytes,
    items: Vec<ItemSpan>,
}

impl Items {
    pub(crate) fn new(frame: Bytes, items: Vec<ItemSpan>) -> Self {
        Self { frame, items }
    }

    /// How many items.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when every key missed.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The `i`th item.
    pub fn get(&self, i: usize) -> Option<ItemRef<'_>> {
        self.items
            .get(i)
            .map(|span| ItemRef::new(&self.frame, span))
    }

    /// Every item, in wire order.
    pub fn iter(&self) -> ItemsIter<'_> {
        ItemsIter {
            frame: &self.frame,
            spans: self.items.iter(),
        }
    }

    /// Owned items, each with zero-copy `Bytes` for its key and value.
    pub fn into_vec(self) -> Vec<Item> {
        self.iter().map(|item| item.to_item()).collect()
    }
}

impl<'a> IntoIterator for &'a Items {
    type Item = ItemRef<'a>;
    type IntoIter = ItemsIter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The items of a [`Items`], in wire order.
#[derive(Debug, Clone)]
pub struct ItemsIter<'a> {
    frame: &'a Bytes,
    spans: std::slice::Iter<'a, ItemSpan>,
}

impl<'a> Iterator for ItemsIter<'a> {
    type Item = ItemRef<'a>;

    fn next(&mut self) -> Option<ItemRef<'a>> {
        self.spans.next().map(|span| ItemRef::new(self.frame, span))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.spans.size_hint()
    }
}

impl DoubleEndedIterator for ItemsIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.spans
            .next_back()
            .map(|span| ItemRef::new(self.frame, span))
    }
}

impl ExactSizeIterator for ItemsIter<'_> {}

impl PartialEq for Items {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Items {}

impl std::fmt::Debug for Items {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// One item of a [`Items`] reply, borrowed from it.
#[derive(Clone, Copy)]
pub struct ItemRef<'a> {
    /// The key, as the server sent it.
    pub key: &'a [u8],
    /// The client flags stored with the item.
    pub flags: u64,
    /// The cas unique: present exactly for `gets` and `gats`.
    pub cas: Option<u64>,
    /// The value, byte for byte.
    pub data: &'a [u8],
    frame: &'a Bytes,
}

impl<'a> ItemRef<'a> {
    fn new(frame: &'a Bytes, span: &ItemSpan) -> Self {
        Self {
            key: &frame[span.key_start..span.key_start + span.key_len],
            flags: span.flags,
            cas: span.cas,
            data: &frame[span.data_start..span.data_start + span.data_len],
            frame,
        }
    }

    /// The value as a zero-copy `Bytes` sharing the reply's memory.
    pub fn data_bytes(&self) -> Bytes {
        self.frame.slice_ref(self.data)
    }

    /// The key as a zero-copy `Bytes` sharing the reply's memory.
    pub fn key_bytes(&self) -> Bytes {
        self.frame.slice_ref(self.key)
    }

    /// An owned copy of the item (zero-copy handles, no byte copied).
    pub fn to_item(&self) -> Item {
        Item {
            key: self.key_bytes(),
            value: Value {
                flags: self.flags,
                cas: self.cas,
                data: self.data_bytes(),
            },
        }
    }
}

impl PartialEq for ItemRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        (self.key, self.flags, self.cas, self.data)
            == (other.key, other.flags, other.cas, other.data)
    }
}

impl Eq for ItemRef<'_> {}

impl std::fmt::Debug for ItemRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ItemRef")
            .field("key", &self.key.escape_ascii().to_string())
            .field("flags", &self.flags)
            .field("cas", &self.cas)
            .field("data", &self.data.escape_ascii().to_string())
            .finish()
    }
}

/// One `STAT <name> <value>` line, owned (see [`StatLines::to_vec`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Stat {
    /// The name (`pid`, `items:1:number`, `22:addr`, ...).
    pub name: Bytes,
    /// The rest of the line after the name and one space; may hold spaces, may be empty.
    pub value: Bytes,
}

/// Where one `STAT` line's name and value lie in the reply's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct StatSpan {
    pub(crate) name: (usize, usize),
    pub(crate) value: (usize, usize),
}

/// The `STAT` lines of a stats reply, in wire order.
///
/// Like [`Items`], one zero-copy view of the reply: its bytes are one [`Bytes`] split
/// off the read buffer, and each line is a pair of ranges into it.
#[derive(Clone, Default)]
pub struct StatLines {
    frame: Bytes,
    lines: Vec<StatSpan>,
}

impl StatLines {
    pub(crate) fn new(frame: Bytes, lines: Vec<StatSpan>) -> Self {
        Self { frame, lines }
    }

    /// How many lines.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// True for a reply of no lines (`stats items` on an empty cache).
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The `i`th line.
    pub fn get(&self, i: usize) -> Option<StatRef<'_>> {
        self.lines.get(i).map(|span| self.line(span))
    }

    /// The value of the first line named `name`.
    pub fn value(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|s| s.name == name.as_bytes())
            .map(|s| s.value)
    }

    /// Every line, in wire order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = StatRef<'_>> + ExactSizeIterator {
        self.lines.iter().map(|span| self.line(span))
    }

    /// Owned lines, with zero-copy `Bytes` for names and values.
    pub fn to_vec(&self) -> Vec<Stat> {
        self.iter()
            .map(|s| Stat {
                name: self.frame.slice_ref(s.name),
                value: self.frame.slice_ref(s.value),
            })
            .collect()
    }

    fn line(&self, span: &StatSpan) -> StatRef<'_> {
        let (n, nl) = span.name;
        let (v, vl) = span.value;
        StatRef {
            name: &self.frame[n..n + nl],
            value: &self.frame[v..v + vl],
        }
    }
}

impl PartialEq for StatLines {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for StatLines {}

impl std::fmt::Debug for StatLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// One line of a [`StatLines`], borrowed from it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatRef<'a> {
    /// The name (`pid`, `items:1:number`, `22:addr`, ...).
    pub name: &'a [u8],
    /// The rest of the line after the name and one space; may hold spaces, may be empty.
    pub value: &'a [u8],
}

impl std::fmt::Debug for StatRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}={}",
            self.name.escape_ascii(),
            self.value.escape_ascii()
        )
    }
}

/// One `ITEM <key> [<bytes> b; <expiry> s]` line of `stats cachedump`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheDumpEntry {
    /// The item's key.
    pub key: Bytes,
    /// The value's size in bytes.
    pub size: u64,
    /// Expiry as a unix time, or 0 for none.
    pub expiry: u64,
}

/// One `PREFIX <prefix> get <n> hit <n> set <n> del <n>` line of `stats detail dump`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PrefixStats {
    /// The key prefix.
    pub prefix: Bytes,
    /// Gets for keys with this prefix.
    pub get: u64,
    /// Hits among them.
    pub hit: u64,
    /// Sets.
    pub set: u64,
    /// Deletes.
    pub del: u64,
}

/// A successful reply, typed by the command it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Response {
    // The replies that carry nothing come first, in the order of the receive side's
    // status table, so turning one into the other costs no branch.
    /// Storage command: `STORED`.
    Stored,
    /// Storage command: `NOT_STORED` (add on an existing key, replace/append/prepend on a missing one).
    NotStored,
    /// `cas`: `EXISTS`, the item changed since the cas unique was read.
    Exists,
    /// `NOT_FOUND`: `cas`, `delete`, `touch`, `incr`/`decr` on a missing key.
    NotFound,
    /// `delete`: `DELETED`.
    Deleted,
    /// `touch`: `TOUCHED`.
    Touched,
    /// `OK`: `flush_all`, `verbosity`, `cache_memlimit`, `stats detail on|off`.
    Ok,
    /// `stats reset`: `RESET`.
    Reset,
    /// [`Auth`](crate::command::Auth): `STORED`, the connection is authenticated.
    Authenticated,
    /// Single-key retrieval or `me`: no such item. (Not a failure: a miss is a result.)
    Miss,
    /// `mn`: `MN`.
    Noop,
    /// `quit` or `shutdown`: the server closed the connection, as asked.
    Closed,
    /// Single-key `get`/`gets`/`gat`/`gats`: the item.
    Hit(Value),
    /// Multi-key retrieval: the hits in the order the server sent them, which is
    /// request order, with misses left out and a key asked for twice returned twice.
    Items(Items),
    /// `incr`/`decr`: the new value.
    Counter(u64),
    /// `version`: the version string (`1.6.18`).
    Version(Bytes),
    /// `stats` and its `STAT`-line subcommands, in wire order.
    Stats(StatLines),
    /// `stats cachedump`.
    CacheDump(Vec<CacheDumpEntry>),
    /// `stats detail dump`.
    DetailDump(Vec<PrefixStats>),
    /// A meta command's reply (`mg`, `ms`, `md`, `ma`).
    Meta(MetaResponse),
    /// `me`: the item's metadata.
    MetaDebug(MetaDebug),
    /// `slabs reassign`, `lru_crawler crawl`, `lru_crawler metadump|mgdump`: a status
    /// word with a message instead of `OK` (or the dump).
    Admin(AdminStatus),
    /// `lru_crawler metadump`: every item line, in the order the crawler found them.
    MetaDump(Vec<DumpEntry>),
    /// `lru_crawler mgdump` (memcached 1.6.19 and later): every key, decoded (`mg
    /// <base64> b` lines give the binary key).
    MgDump(Vec<Bytes>),
    /// `config get cluster` on an ElastiCache configuration endpoint.
    ClusterConfig(ClusterConfig),
    /// `watch`: the server answered `OK`; the connection is now a log stream. *Not
    /// final*: the same token completes again with every [`Log`](Self::Log) line, and
    /// last with the connection's end (see [`Watch`](crate::command::Watch)).
    Watching,
    /// A log line of a `watch` connection. *Not final* (see [`Watching`](Self::Watching)).
    Log(LogLine),
    /// A raw command's reply, in the shape its caller declared.
    Raw(RawReply),
}

impl Response {
    /// False for the completions after which the same command completes again
    /// ([`Watching`](Self::Watching) and [`Log`](Self::Log) of a `watch`), true for
    /// every other.
    pub fn is_final(&self) -> bool {
        !matches!(self, Self::Watching | Self::Log(_))
    }

    /// Whether the command did what it asked: stored, deleted, touched, counted, hit,
    /// `OK`, a meta success or value (`HD`/`VA`/`MN`), or any data-carrying reply.
    /// False for the outcomes that leave things as they were: `NOT_STORED`,
    /// `EXISTS`, `NOT_FOUND`, a miss, and meta `EN`/`NF`/`NS`/`EX`.
    pub fn is_success(&self) -> bool {
        match self {
            Self::NotStored | Self::Exists | Self::NotFound | Self::Miss => false,
            Self::Meta(m) => matches!(m.status, MetaStatus::Value | MetaStatus::Success),
            Self::Admin(_) => false,
            _ => true,
        }
    }
}

/// `as_x(&self) -> Option<&T>` and `into_x(self) -> Option<T>` for each variant that
/// carries something, so a caller that knows what its command gets writes
/// `response.as_counter()` rather than a `match`.
macro_rules! accessors {
    ($($(#[$doc:meta])* $variant:ident($ty:ty) => $as:ident, $into:ident;)*) => {
        impl Response {
            $(
                $(#[$doc])*
                #[doc = concat!("\n\n`Some` for [`Response::", stringify!($variant), "`].")]
                pub fn $as(&self) -> Option<&$ty> {
                    match self {
                        Self::$variant(v) => Some(v),
                        _ => None,
                    }
                }

                $(#[$doc])*
                #[doc = concat!("\n\nOwned; `Some` for [`Response::", stringify!($variant), "`].")]
                pub fn $into(self) -> Option<$ty> {
                    match self {
                        Self::$variant(v) => Some(v),
                        _ => None,
                    }
                }
            )*
        }
    };
}

accessors! {
    /// The item of a single-key retrieval hit.
    Hit(Value) => as_hit, into_hit;
    /// The items of a multi-key retrieval.
    Items(Items) => as_items, into_items;
    /// The new value of `incr`/`decr`.
    Counter(u64) => as_counter, into_counter;
    /// The version string of `version`.
    Version(Bytes) => as_version, into_version;
    /// The lines of a `stats` reply.
    Stats(StatLines) => as_stats, into_stats;
    /// The entries of `stats cachedump`.
    CacheDump(Vec<CacheDumpEntry>) => as_cache_dump, into_cache_dump;
    /// The prefixes of `stats detail dump`.
    DetailDump(Vec<PrefixStats>) => as_detail_dump, into_detail_dump;
    /// The reply of `mg`/`ms`/`md`/`ma`.
    Meta(MetaResponse) => as_meta, into_meta;
    /// The reply of `me`.
    MetaDebug(MetaDebug) => as_meta_debug, into_meta_debug;
    /// A status word of an admin command other than `OK`.
    Admin(AdminStatus) => as_admin, into_admin;
    /// The entries of `lru_crawler metadump`.
    MetaDump(Vec<DumpEntry>) => as_meta_dump, into_meta_dump;
    /// The keys of `lru_crawler mgdump`.
    MgDump(Vec<Bytes>) => as_mg_dump, into_mg_dump;
    /// The reply of `config get cluster`.
    ClusterConfig(ClusterConfig) => as_cluster_config, into_cluster_config;
    /// One log line of a `watch`.
    Log(LogLine) => as_log, into_log;
    /// The reply of a [`Raw`](crate::command::Raw) command.
    Raw(RawReply) => as_raw, into_raw;
}

/// The return code of a meta reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum MetaStatus {
    /// `VA <size>`: success with a value (`mg` hit with `v`, `ma` with `v`).
    Value,
    /// `HD`: success without a value (`mg` hit, `ms` stored, `md` deleted, `ma` applied).
    #[default]
    Success,
    /// `EN`: `mg` miss.
    Miss,
    /// `NF`: not found (`md`, `ma`, `ms` with cas).
    NotFound,
    /// `NS`: not stored (`ms` add/replace/append/prepend refused, `ma` create failed).
    NotStored,
    /// `EX`: cas mismatch.
    Exists,
}

impl MetaStatus {
    /// The two-letter code on the wire.
    pub fn code(self) -> &'static str {
        match self {
            Self::Value => "VA",
            Self::Success => "HD",
            Self::Miss => "EN",
            Self::NotFound => "NF",
            Self::NotStored => "NS",
            Self::Exists => "EX",
        }
    }
}

/// A remaining time-to-live, as the `t` return flag reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ttl {
    /// `t-1`: the item never expires.
    Never,
    /// Seconds left.
    Seconds(u32),
}

/// The reply to `mg`, `ms`, `md` or `ma`: the code, the value, and the returned flags.
///
/// The decoder has checked every flag it knows when the reply arrived (numbers in
/// range, the echoed key and opaque those of the command), so the typed accessors
/// below read [`MetaResponse::raw_flags`] without failing. Return flags this crate does
/// not know are kept: [`MetaResponse::flag`] finds any flag by its letter.
///
/// One zero-copy handle on the reply's bytes (its flags and its value), so a reply
/// costs one reference count however much it carries.
#[derive(Clone, Default)]
pub struct MetaResponse {
    /// The return code; for a quiet command the server stayed silent about, the code
    /// that silence stands for (see [`MetaResponse::inferred`](MetaResponse#structfield.inferred)).
    pub status: MetaStatus,
    /// True if the server sent nothing for this quiet command and the status was
    /// inferred from quiet mode (`mg q` miss, `ms`/`md`/`ma q` success).
    pub inferred: bool,
    /// The reply's bytes: the header line if it has flags, then the data block.
    frame: Bytes,
    /// The return flags in `frame`.
    flags: (usize, usize),
    /// Where the value starts in `frame` (it runs to the end), for a `VA` reply.
    value: Option<usize>,
}

impl MetaResponse {
    /// What a quiet command's silence stands for.
    pub(crate) fn silence(status: MetaStatus) -> Self {
        Self {
            status,
            inferred: true,
            ..Self::default()
        }
    }

    /// A reply the server sent: `frame` holds the flags at `flags` and, from
    /// `value` on, the value.
    pub(crate) fn new(
        status: MetaStatus,
        frame: Bytes,
        flags: (usize, usize),
        value: Option<usize>,
    ) -> Self {
        Self {
            status,
            inferred: false,
            frame,
            flags,
            value,
        }
    }

    /// The data block of a `VA` reply.
    pub fn value(&self) -> Option<&[u8]> {
        self.value.map(|start| &self.frame[start..])
    }

    /// The data block of a `VA` reply, as a zero-copy `Bytes` sharing the reply's
    /// memory (one reference count).
    pub fn value_bytes(&self) -> Option<Bytes> {
        self.value.map(|start| self.frame.slice(start..))
    }

    /// All return flag tokens after the code (and size), exactly as sent.
    pub fn raw_flags(&self) -> &[u8] {
        let (start, len) = self.flags;
        &self.frame[start..start + len]
    }

    /// The token of the return flag `letter` (`b'c'`, `b'O'`, or one this crate does
    /// not know), without its letter; `None` if the server did not return it.
    pub fn flag(&self, letter: u8) -> Option<&[u8]> {
        self.raw_flags()
            .split(|&b| b == b' ')
            .find(|t| t.first() == Some(&letter))
            .map(|t| &t[1..])
    }

    fn number<T: std::str::FromStr>(&self, letter: u8) -> Option<T> {
        std::str::from_utf8(self.flag(letter)?).ok()?.parse().ok()
    }

    /// `c`: the cas unique.
    pub fn cas(&self) -> Option<u64> {
        self.number(b'c')
    }

    /// `f`: the client flags.
    pub fn client_flags(&self) -> Option<u64> {
        self.number(b'f')
    }

    /// `t`: the remaining TTL.
    pub fn ttl(&self) -> Option<Ttl> {
        match self.flag(b't')? {
            b"-1" => Some(Ttl::Never),
            _ => self.number(b't').map(Ttl::Seconds),
        }
    }

    /// `s`: the item size.
    pub fn size(&self) -> Option<u64> {
        self.number(b's')
    }

    /// `h`: whether the item had been fetched before.
    pub fn hit_before(&self) -> Option<bool> {
        self.flag(b'h').map(|t| t == b"1")
    }

    /// `l`: seconds since the last access.
    pub fn last_access(&self) -> Option<u64> {
        self.number(b'l')
    }

    /// `k`: the key, as the server printed it (base64 if
    /// [`key_is_base64`](Self::key_is_base64)).
    pub fn key(&self) -> Option<&[u8]> {
        self.flag(b'k')
    }

    /// `b` returned beside `k`: the key is base64.
    pub fn key_is_base64(&self) -> bool {
        self.flag(b'b').is_some()
    }

    /// `O`: the opaque, echoed.
    pub fn opaque(&self) -> Option<&[u8]> {
        self.flag(b'O')
    }

    /// `W`: this client won the right to recache the item.
    pub fn won(&self) -> bool {
        self.flag(b'W').is_some()
    }

    /// `X`: the item is stale.
    pub fn stale(&self) -> bool {
        self.flag(b'X').is_some()
    }

    /// `Z`: another client already received the win flag.
    pub fn win_sent(&self) -> bool {
        self.flag(b'Z').is_some()
    }
}

impl PartialEq for MetaResponse {
    fn eq(&self, other: &Self) -> bool {
        (self.status, self.inferred, self.value(), self.raw_flags())
            == (
                other.status,
                other.inferred,
                other.value(),
                other.raw_flags(),
            )
    }
}

impl Eq for MetaResponse {}

impl std::fmt::Debug for MetaResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetaResponse")
            .field("status", &self.status)
            .field("inferred", &self.inferred)
            .field("value", &self.value().map(|v| v.escape_ascii().to_string()))
            .field("raw_flags", &self.raw_flags().escape_ascii().to_string())
            .finish()
    }
}

/// The reply to `me`: `ME <key> <k>=<v>*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaDebug {
    /// The key (base64 if the request used `b`).
    pub key: Bytes,
    /// The `k=v` pairs, space-separated, as sent.
    pub fields: Bytes,
}

impl MetaDebug {
    /// The value of field `name` (`exp`, `la`, `cas`, `fetch`, `cls`, `size`, or any other).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.pairs()
            .find(|(k, _)| *k == name.as_bytes())
            .map(|(_, v)| v)
    }

    /// Every `k=v` pair in wire order.
    pub fn pairs(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.fields
            .split(|&b| b == b' ')
            .filter(|t| !t.is_empty())
            .map(|t| match t.iter().position(|&b| b == b'=') {
                Some(i) => (&t[..i], &t[i + 1..]),
                None => (t, &t[t.len()..]),
            })
    }

    fn number<T: std::str::FromStr>(&self, name: &str) -> Option<T> {
        std::str::from_utf8(self.get(name)?).ok()?.parse().ok()
    }

    /// `exp`: expiry as printed. memcached 1.6.18 prints the *negated* remaining
    /// seconds (`-100` for 100 s left); `-1` means never. Later versions print it positive.
    pub fn exp(&self) -> Option<i64> {
        self.number("exp")
    }

    /// The time left, read the way the server that printed it meant it: before
    /// memcached 1.6.24 `exp` is the negated time left, from 1.6.24 on it is the time left.
    /// `exp=-1` is [`Ttl::Never`] on both; before 1.6.24 it is also what an item with
    /// one second left prints, which cannot be told apart. `server` unknown (`None`)
    /// reads it as 1.6.18 does, like the rest of the codec.
    ///
    /// ```
    /// # use bytes::Bytes;
    /// use memcache_codec::response::{MetaDebug, Ttl};
    /// use memcache_codec::profile::ServerVersion;
    /// let old = MetaDebug { key: Bytes::from_static(b"k"), fields: Bytes::from_static(b"exp=-100 la=3") };
    /// assert_eq!(old.ttl(Some(ServerVersion::new(1, 6, 18))), Some(Ttl::Seconds(100)));
    /// let new = MetaDebug { key: Bytes::from_static(b"k"), fields: Bytes::from_static(b"exp=100 la=3") };
    /// assert_eq!(new.ttl(Some(ServerVersion::new(1, 6, 40))), Some(Ttl::Seconds(100)));
    /// ```
    pub fn ttl(&self, server: Option<crate::profile::ServerVersion>) -> Option<Ttl> {
        let exp = self.exp()?;
        if exp == -1 {
            return Some(Ttl::Never);
        }
        let positive = server.is_some_and(|v| v >= crate::profile::since::ME_EXP_POSITIVE);
        let left = if positive { exp } else { exp.checked_neg()? };
        // A negative time left is an item past its expiry that the server has not
        // reclaimed yet: none left.
        Some(Ttl::Seconds(u32::try_from(left.max(0)).unwrap_or(u32::MAX)))
    }

    /// `la`: seconds since last access.
    pub fn last_access(&self) -> Option<u64> {
        self.number("la")
    }

    /// `cas`: the cas unique.
    pub fn cas(&self) -> Option<u64> {
        self.number("cas")
    }

    /// `fetch`: whether the item was fetched before.
    pub fn fetched(&self) -> Option<bool> {
        match self.get("fetch")? {
            b"yes" => Some(true),
            b"no" => Some(false),
            _ => None,
        }
    }

    /// `cls`: the slab class.
    pub fn slab_class(&self) -> Option<u32> {
        self.number("cls")
    }

    /// `size`: the item's total size in bytes.
    pub fn size(&self) -> Option<u64> {
        self.number("size")
    }
}
