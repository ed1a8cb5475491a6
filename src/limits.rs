//! Caps on everything the server (or the caller) can make the codec hold, and the
//! inactivity timeout.

use std::time::Duration;

/// Caps on what the server's bytes can make the codec (and the caller's read buffer) hold.
///
/// Every cap has its own error, and is checked *before* the memory is committed: a
/// `VALUE` line announcing 1 TiB fails on the header, not after buffering it.
///
/// Memory the codec holds stays within these caps plus the caller's last read: one
/// partial line (≤ `max_line_len`), and the reply being assembled: at most
/// `max_reply_len` bytes (a multi-key reply's values, a stats reply's lines, a data
/// block with its header), with at most `max_values_per_reply` values or
/// `max_stat_lines` lines, each value at most `max_value_len`. The per-item caps alone
/// would multiply (16384 values of 128 MiB); `max_reply_len` bounds their product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Longest reply line, without its `\r\n`. Default 8192: memcached's own lines are
    /// under 600 bytes (a `VALUE` header with a 250-byte key, a meta header with every
    /// return flag), stats values are short.
    pub max_line_len: usize,
    /// Longest data block (`VALUE`/`VA` payload). Default 128 MiB: memcached's item
    /// limit is 1 MiB by default but `-I` raises it up to 1 GiB, so a fixed 1 MiB would
    /// break real deployments. Raise it to match a server run with a larger `-I`.
    pub max_value_len: usize,
    /// Most `VALUE` items in one multi-key reply (and so most keys in one multi-key
    /// retrieval, which is checked when encoding). Default 16384.
    pub max_values_per_reply: usize,
    /// Most `STAT`/`ITEM`/`PREFIX` lines in one stats reply, and most lines in any
    /// other reply held until its end: an `lru_crawler` dump (one line per item) and
    /// a raw command's lines. Default 100000 (`stats cachedump <class> 0` lists a
    /// whole slab class); raise it for a dump of a larger cache, or dump it class by
    /// class.
    pub max_stat_lines: usize,
    /// Most commands waiting for a reply. Default 65536.
    pub max_pending: usize,
    /// Most bytes one reply may hold: every value of a multi-key reply with its
    /// header, a stats reply's lines, a single value with its header. Checked when a
    /// data block is announced and as lines are held, before memory is committed.
    /// Default 256 MiB; raise it (with `max_value_len`) for multi-gets of many large
    /// values.
    pub max_reply_len: usize,
}

impl Limits {
    /// The defaults, as a constant.
    pub const DEFAULT: Self = Self {
        max_line_len: 8192,
        max_value_len: 128 * 1024 * 1024,
        max_values_per_reply: 16384,
        max_stat_lines: 100_000,
        max_pending: 65536,
        max_reply_len: 256 * 1024 * 1024,
    };

    /// Sets [`max_line_len`](Self::max_line_len).
    pub const fn with_max_line_len(mut self, n: usize) -> Self {
        self.max_line_len = n;
        self
    }

    /// Sets [`max_value_len`](Self::max_value_len).
    pub const fn with_max_value_len(mut self, n: usize) -> Self {
        self.max_value_len = n;
        self
    }

    /// Sets [`max_values_per_reply`](Self::max_values_per_reply).
    pub const fn with_max_values_per_reply(mut self, n: usize) -> Self {
        self.max_values_per_reply = n;
        self
    }

    /// Sets [`max_stat_lines`](Self::max_stat_lines).
    pub const fn with_max_stat_lines(mut self, n: usize) -> Self {
        self.max_stat_lines = n;
        self
    }

    /// Sets [`max_pending`](Self::max_pending).
    pub const fn with_max_pending(mut self, n: usize) -> Self {
        self.max_pending = n;
        self
    }

    /// Sets [`max_reply_len`](Self::max_reply_len).
    pub const fn with_max_reply_len(mut self, n: usize) -> Self {
        self.max_reply_len = n;
        self
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Everything a [`Codec`](crate::Codec) is configured with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// The caps.
    pub limits: Limits,
    /// Twisted's `timeOut`: while commands are pending, the longest silence from the
    /// server before the connection is declared dead. `None` disables it.
    /// Default 60 seconds, as in Twisted's `MemCacheProtocol`.
    pub inactivity_timeout: Option<Duration>,
    /// The server stores 8-byte client flags (1.6.22+ built with
    /// `--enable-large-client-flags`), so flags above `u32::MAX` may be sent. Default
    /// off; a [`ServerProfile`](crate::profile::ServerProfile) with `client_flags_size 8` turns
    /// it on too.
    pub large_client_flags: bool,
    /// Every quiet meta command sent without an opaque gets one, `~` and its token
    /// number (`O~<n>`), so no reply can be mistaken for another's and quiet commands
    /// can be pipelined freely. (Opaques of your own starting with `~` could collide
    /// with these: such a command is refused with
    /// [`EncodeError::AmbiguousQuiet`](crate::EncodeError::AmbiguousQuiet) rather than
    /// sent.) Default on; turn it off to send exactly the bytes asked for
    /// (quiet commands that could not be told apart are then refused with
    /// [`EncodeError::AmbiguousQuiet`](crate::EncodeError::AmbiguousQuiet)).
    pub auto_opaque: bool,
}

impl Config {
    /// The defaults, as a constant.
    pub const DEFAULT: Self = Self {
        limits: Limits::DEFAULT,
        inactivity_timeout: Some(Duration::from_secs(60)),
        large_client_flags: false,
        auto_opaque: true,
    };

    /// Sets [`limits`](Self::limits).
    pub const fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets [`inactivity_timeout`](Self::inactivity_timeout).
    pub const fn with_inactivity_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.inactivity_timeout = timeout;
        self
    }

    /// Sets [`large_client_flags`](Self::large_client_flags).
    pub const fn with_large_client_flags(mut self, on: bool) -> Self {
        self.large_client_flags = on;
        self
    }

    /// Sets [`auto_opaque`](Self::auto_opaque).
    pub const fn with_auto_opaque(mut self, on: bool) -> Self {
        self.auto_opaque = on;
        self
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::DEFAULT
    }
}
