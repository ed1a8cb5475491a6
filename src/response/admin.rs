//! Typed replies of the admin commands, `watch` and raw commands.

use std::borrow::Cow;

use bytes::Bytes;

use crate::expect::AdminWord;
use crate::key::percent_decode;

/// A status word an admin command answered with instead of `OK`, with the server's
/// message (treat the message as opaque: it changes between versions).
///
/// Which words a command can get is listed on it: `slabs reassign` any but
/// [`NotStarted`](Self::NotStarted); `lru_crawler crawl` and the dumps
/// [`Busy`](Self::Busy), [`BadClass`](Self::BadClass) and
/// [`NotStarted`](Self::NotStarted).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AdminStatus {
    /// `BUSY <msg>`: a page move or crawl is already running; try again later.
    Busy(Bytes),
    /// `BADCLASS <msg>`: a slab class id is invalid.
    BadClass(Bytes),
    /// `NOSPARE <msg>`: the source class has no spare page.
    NoSpare(Bytes),
    /// `NOTFULL <msg>`: the destination class must be full to take a page.
    NotFull(Bytes),
    /// `UNSAFE <msg>`: the source class cannot give a page right now.
    Unsafe(Bytes),
    /// `SAME <msg>`: source and destination are the same class.
    Same(Bytes),
    /// `NOTSTARTED <msg>`: the crawler had nothing to crawl.
    NotStarted(Bytes),
}

impl AdminStatus {
    pub(crate) fn new(word: AdminWord, message: Bytes) -> Self {
        match word {
            AdminWord::Busy => Self::Busy(message),
            AdminWord::BadClass => Self::BadClass(message),
            AdminWord::NoSpare => Self::NoSpare(message),
            AdminWord::NotFull => Self::NotFull(message),
            AdminWord::Unsafe => Self::Unsafe(message),
            AdminWord::Same => Self::Same(message),
            AdminWord::NotStarted => Self::NotStarted(message),
        }
    }

    /// The word, as memcached writes it (`BUSY`, `BADCLASS`, ...).
    pub fn word(&self) -> &'static str {
        match self {
            Self::Busy(_) => "BUSY",
            Self::BadClass(_) => "BADCLASS",
            Self::NoSpare(_) => "NOSPARE",
            Self::NotFull(_) => "NOTFULL",
            Self::Unsafe(_) => "UNSAFE",
            Self::Same(_) => "SAME",
            Self::NotStarted(_) => "NOTSTARTED",
        }
    }

    /// The text after the word (and one space), possibly empty.
    pub fn message(&self) -> &[u8] {
        match self {
            Self::Busy(m)
            | Self::BadClass(m)
            | Self::NoSpare(m)
            | Self::NotFull(m)
            | Self::Unsafe(m)
            | Self::Same(m)
            | Self::NotStarted(m) => m,
        }
    }
}

/// `k=v` pairs separated by spaces, as metadump and log lines hold them: a token
/// without `=` is a name with an empty value.
fn pairs(line: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    line.split(|&b| b == b' ')
        .filter(|t| !t.is_empty())
        .map(|t| match t.iter().position(|&b| b == b'=') {
            Some(i) => (&t[..i], &t[i + 1..]),
            None => (t, &t[t.len()..]),
        })
}

/// One item of `lru_crawler metadump`:
/// `key=<url-encoded> exp=<-1|unix> la=<unix> cas=<n> fetch=<yes|no> cls=<n> size=<n>`,
/// with ` flags=<n>` from memcached 1.6.24 (64 bits on a server built with large
/// client flags).
///
/// The fields protocol.txt promises (`key`, `exp`, `la`, `cas`, `fetch`) are
/// required and checked when the line arrives, as are the numbers of `cls`, `size`
/// and `flags` when present; every field, these and any a newer server adds, stays
/// readable through [`field`](Self::field) and [`fields`](Self::fields).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DumpEntry {
    /// The key, URL-decoded (`md%3A2` is `md:2`). A zero-copy view of the reply
    /// unless the line held a `%` escape.
    pub key: Bytes,
    /// `exp`: the absolute unix time the item expires, or `-1` for never.
    pub exp: i64,
    /// `la`: the unix time of the last access.
    pub last_access: u64,
    /// `cas`: the item's cas unique.
    pub cas: u64,
    /// `fetch`: whether the item was fetched since it was stored.
    pub fetched: bool,
    /// `cls`: the slab class.
    pub class: Option<u32>,
    /// `size`: the item's total size in memory (key, value and header).
    pub size: Option<u64>,
    /// `flags`: the client flags (memcached 1.6.24 and later).
    pub flags: Option<u64>,
    /// The whole line as sent, without its line end (and trailing space).
    pub line: Bytes,
}

impl DumpEntry {
    /// The raw value of field `name` (URL-encoded for `key`), as sent.
    pub fn field(&self, name: &str) -> Option<&[u8]> {
        self.fields()
            .find(|(k, _)| *k == name.as_bytes())
            .map(|(_, v)| v)
    }

    /// Every `name=value` field, in wire order.
    pub fn fields(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        pairs(&self.line)
    }
}

/// One node of an ElastiCache cluster: `<host>|<ip>|<port>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClusterNode {
    /// The node's host name.
    pub host: Bytes,
    /// Its IP address, as text (may be empty when the service leaves it out).
    pub ip: Bytes,
    /// Its port.
    pub port: u16,
}

/// The reply to `config get cluster` from an AWS ElastiCache configuration endpoint
/// (auto discovery).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClusterConfig {
    /// The configuration version, which the service increments on every change.
    pub version: u64,
    /// The nodes, in the order listed.
    pub nodes: Vec<ClusterNode>,
}

/// One line of a `watch` log stream, as memcached wrote it (without its line end):
/// `ts=<secs.usecs> gid=<n> type=<kind> ...` pairs, or `[skipped: <n>]` when the
/// watcher fell behind and memcached dropped lines.
///
/// Values are URI-encoded by memcached (`key=n%2Cfoo`); [`key`](Self::key) decodes
/// the key. Field names and their presence vary between versions and watcher kinds,
/// so lines are kept as sent and read on demand.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LogLine {
    line: Bytes,
}

impl LogLine {
    pub(crate) fn new(line: Bytes) -> Self {
        Self { line }
    }

    /// The line, as sent.
    pub fn as_bytes(&self) -> &[u8] {
        &self.line
    }

    /// The line as a zero-copy `Bytes`.
    pub fn bytes(&self) -> Bytes {
        self.line.clone()
    }

    /// The raw value of field `name` (`ts`, `gid`, `type`, `key`, `status`, ...).
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.pairs()
            .find(|(k, _)| *k == name.as_bytes())
            .map(|(_, v)| v)
    }

    /// Every `name=value` pair, in wire order.
    pub fn pairs(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        pairs(&self.line)
    }

    /// `type`: the event (`item_get`, `item_store`, `eviction`, `conn_new`, ...).
    pub fn kind(&self) -> Option<&[u8]> {
        self.get("type")
    }

    /// `key`, URI-decoded; `None` if absent or not valid URI encoding.
    pub fn key(&self) -> Option<Cow<'_, [u8]>> {
        let raw = self.get("key")?;
        if raw.contains(&b'%') {
            percent_decode(raw).map(Cow::Owned)
        } else {
            Some(Cow::Borrowed(raw))
        }
    }

    /// `gid`: the global id, by which out-of-order lines can be put back in order.
    pub fn gid(&self) -> Option<u64> {
        std::str::from_utf8(self.get("gid")?).ok()?.parse().ok()
    }

    /// `[skipped: <n>]`: memcached dropped `n` lines because this watcher fell
    /// behind.
    pub fn skipped(&self) -> Option<u64> {
        let n = self.line.strip_prefix(b"[skipped: ")?.strip_suffix(b"]")?;
        std::str::from_utf8(n).ok()?.parse().ok()
    }
}

impl std::fmt::Debug for LogLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LogLine(\"{}\")", self.line.escape_ascii())
    }
}

/// The reply to a [`Raw`](crate::command::Raw) command: its lines (without line ends, the
/// closing `END` left out) and, for a data block, the block. Zero-copy views of the
/// read buffer.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RawReply {
    /// The reply's bytes: its lines, or a header line with its `\r\n` then the block.
    frame: Bytes,
    lines: Vec<(usize, usize)>,
    /// Where the block starts in `frame` (it runs to the end); 0 for none (a block
    /// always follows its header).
    data: usize,
}

impl RawReply {
    /// A reply of `lines` (start, length) within `frame`.
    pub(crate) fn new(frame: Bytes, lines: Vec<(usize, usize)>) -> Self {
        Self {
            frame,
            lines,
            data: 0,
        }
    }

    /// A header line of `header_len` bytes (with its `\r\n`), then a block: `frame`.
    pub(crate) fn block(frame: Bytes, header_len: usize) -> Self {
        Self {
            frame,
            lines: vec![(0, header_len - 2)],
            data: header_len,
        }
    }

    /// How many lines.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// True for a reply of no line (`END` alone).
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The `i`th line.
    pub fn line(&self, i: usize) -> Option<&[u8]> {
        self.lines
            .get(i)
            .map(|&(start, len)| &self.frame[start..start + len])
    }

    /// The `i`th line as a zero-copy `Bytes`.
    pub fn line_bytes(&self, i: usize) -> Option<Bytes> {
        self.lines
            .get(i)
            .map(|&(start, len)| self.frame.slice(start..start + len))
    }

    /// Every line, in wire order.
    pub fn lines(&self) -> impl DoubleEndedIterator<Item = &[u8]> + ExactSizeIterator {
        self.lines
            .iter()
            .map(|&(start, len)| &self.frame[start..start + len])
    }

    /// The data block, for [`RawShape::Block`](crate::command::RawShape::Block) (its header is
    /// line 0).
    pub fn data(&self) -> Option<&[u8]> {
        (self.data > 0).then(|| &self.frame[self.data..])
    }

    /// The data block as a zero-copy `Bytes`.
    pub fn data_bytes(&self) -> Option<Bytes> {
        (self.data > 0).then(|| self.frame.slice(self.data..))
    }
}

impl std::fmt::Debug for RawReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("RawReply");
        let lines: Vec<String> = self.lines().map(|l| l.escape_ascii().to_string()).collect();
        d.field("lines", &lines);
        if let Some(data) = self.data() {
            d.field("data", &data.escape_ascii().to_string());
        }
        d.finish()
    }
}

#[cfg(test)]
mod tests {
    use std::mem::size_of;

    use super::*;
    use crate::response::{MetaResponse, Response};

    /// A completion is moved on every reply: the admin replies must not make
    /// `Response` larger than the meta reply already does.
    #[test]
    fn admin_replies_do_not_grow_response() {
        let meta = size_of::<MetaResponse>();
        for (name, size) in [
            ("AdminStatus", size_of::<AdminStatus>()),
            ("Vec<DumpEntry>", size_of::<Vec<DumpEntry>>()),
            ("ClusterConfig", size_of::<ClusterConfig>()),
            ("LogLine", size_of::<LogLine>()),
            ("RawReply", size_of::<RawReply>()),
        ] {
            assert!(size <= meta, "{name}: {size} > {meta}");
        }
        assert!(size_of::<Response>() <= meta + 8);
    }
}
