//! The error types, split by who is at fault and by whether the connection survives.
//!
//! | Type | Who is at fault | What happened to the codec |
//! |---|---|---|
//! | [`EncodeError`] | the caller (bad key, bad token, too many pending, codec closed) | nothing: no byte written, deque unchanged |
//! | [`ServerError`] | memcached answered one command with an error line | nothing: the command completes with it (but see [`DecodeError::UnreadDataBlock`]) |
//! | [`ConnectionError`] | the byte stream broke ([`DecodeError`]), went quiet ([`ConnectionError::Timeout`]) or ended ([`ConnectionError::Closed`]) | poisoned: every pending command fails once with it, later calls repeat it |
//!
//! A command's completion carries a [`CommandError`], which is either of the last two.

use bytes::Bytes;
use thiserror::Error;

/// Why a key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A key must have at least one byte.
    #[error("key is empty")]
    Empty,
    /// memcached refuses keys over 250 bytes (for a base64 meta key: over 250 encoded bytes).
    #[error("key is {len} bytes on the wire, the limit is 250")]
    TooLong {
        /// Length of the key as it would be sent.
        len: usize,
    },
    /// Space, control bytes (0x00..=0x20) and DEL (0x7f) would split or end the command line.
    #[error("key has the forbidden byte {byte:#04x} at offset {offset}")]
    ForbiddenByte {
        /// The offending byte.
        byte: u8,
        /// Its position in the key.
        offset: usize,
    },
}

/// Why an argument token other than a key (an opaque, a stats argument, a raw
/// command's token) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
#[non_exhaustive]
pub enum TokenError {
    /// A token must have at least one byte.
    #[error("token is empty")]
    Empty,
    /// Longer than this argument allows.
    #[error("token is {len} bytes, the limit is {limit}")]
    TooLong {
        /// Length of the token.
        len: usize,
        /// The longest this argument may be.
        limit: usize,
    },
    /// Space, control bytes (0x00..=0x20) and DEL (0x7f) would split or end the command line.
    #[error("token has the forbidden byte {byte:#04x} at offset {offset}")]
    ForbiddenByte {
        /// The offending byte.
        byte: u8,
        /// Its position in the token.
        offset: usize,
    },
}

impl From<TokenError> for KeyError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Empty => Self::Empty,
            TokenError::TooLong { len, .. } => Self::TooLong { len },
            TokenError::ForbiddenByte { byte, offset } => Self::ForbiddenByte { byte, offset },
        }
    }
}

/// A command the caller asked for was refused before a single byte was written.
///
/// After an `EncodeError` the output buffer and the pending deque are exactly as
/// they were before the call.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A key (or the `index`th key of a multi-key command) is not a valid memcached key.
    #[error("invalid key at index {index}: {reason}")]
    InvalidKey {
        /// Position of the key in the command's key list (0 for single-key commands).
        index: usize,
        /// What is wrong with it.
        reason: KeyError,
    },
    /// The `index`th key of a multi-key command gave another length when it was
    /// written than when the command was sized (its `as_ref()` answered differently
    /// the second time). Nothing was sent: what is written is always what was checked.
    #[error("key at index {index} changed while the command was written")]
    KeyChanged {
        /// Position of the key in the command's key list.
        index: usize,
    },
    /// Client flags above `u32::MAX` for a server not known to store 8-byte flags: a
    /// 1.6.18 server silently keeps the low 32 bits, corrupting them. Allowed with a
    /// [`ServerProfile`](crate::profile::ServerProfile) saying `client_flags_size 8`, or with
    /// [`Config::large_client_flags`](crate::Config::large_client_flags).
    #[error(
        "client flags {flags} do not fit 32 bits, and the server is not known to store 8-byte flags"
    )]
    FlagsTooLarge {
        /// The flags.
        flags: u64,
    },
    /// A command or flag the server (its [`ServerProfile`](crate::profile::ServerProfile)) is
    /// too old for.
    #[error("{what} needs memcached {since}, the server is {server}")]
    Unsupported {
        /// What was asked for.
        what: &'static str,
        /// The first version that has it.
        since: crate::profile::ServerVersion,
        /// The server's version.
        server: crate::profile::ServerVersion,
    },
    /// A command the server (its [`ServerProfile`](crate::profile::ServerProfile)) is
    /// too new for: memcached dropped it.
    #[error("{what} was removed in memcached {removed}, the server is {server}")]
    Removed {
        /// What was asked for.
        what: &'static str,
        /// The first version without it.
        removed: crate::profile::ServerVersion,
        /// The server's version.
        server: crate::profile::ServerVersion,
    },
    /// A multi-key retrieval needs at least one key (`get` with none is a server `ERROR`).
    #[error("a multi-key retrieval needs at least one key")]
    NoKeys,
    /// More keys than [`Limits::max_values_per_reply`](crate::Limits::max_values_per_reply),
    /// so an honest reply could trip the decoder's cap.
    #[error("{count} keys in one retrieval, the limit is {limit}")]
    TooManyKeys {
        /// Keys in the command.
        count: usize,
        /// The configured limit.
        limit: usize,
    },
    /// memcached reads `<bytes>` as a 32-bit number; values of 2^31 - 2 bytes or more cannot be sent.
    #[error("value is {len} bytes, memcached cannot take more than 2147483645")]
    ValueTooLarge {
        /// Length of the value.
        len: usize,
    },
    /// An argument token (a stats argument, an opaque, ...) is empty, too long, or
    /// holds a space, a control byte or DEL.
    #[error("invalid {what}: {reason}")]
    InvalidToken {
        /// Which argument.
        what: &'static str,
        /// What is wrong with it.
        reason: TokenError,
    },
    /// A meta opaque (`O` flag) is at most 31 bytes after the `O` (32 with it).
    #[error("opaque is {len} bytes, the limit is 31")]
    OpaqueTooLong {
        /// Length of the opaque.
        len: usize,
    },
    /// An expiration time outside the range its constructor accepts.
    #[error("invalid expiration time: {0}")]
    InvalidExptime(&'static str),
    /// A meta command with more flag tokens than memcached accepts.
    #[error("{count} meta flags, memcached accepts at most {limit} for this command")]
    TooManyFlags {
        /// Flags in the command.
        count: usize,
        /// memcached's limit.
        limit: usize,
    },
    /// This quiet (or following) meta command could not be told apart from an earlier
    /// quiet command whose reply memcached may suppress: give each one a distinct
    /// opaque (`O`) or ask for the key back (`k`) with distinct keys.
    #[error(
        "reply could not be told apart from an earlier quiet meta command's; use distinct opaques"
    )]
    AmbiguousQuiet,
    /// [`Auth`](crate::command::Auth) credentials memcached cannot take.
    #[error("invalid credentials: {reason}")]
    InvalidCredentials {
        /// What is wrong with them.
        reason: &'static str,
    },
    /// [`Auth`](crate::command::Auth) must be the only command pending: before authentication
    /// memcached answers only the last command of a read.
    #[error("authentication must be sent with nothing else pending")]
    AuthenticationNotAlone,
    /// The server is known to run without ASCII authentication: it would store the
    /// credentials as an item named `auth`.
    #[error("the server does not use ASCII authentication")]
    AuthenticationDisabled,
    /// An [`Auth`](crate::command::Auth) is pending: nothing may be pipelined behind it (a
    /// `set` behind a failed attempt would be read as credentials).
    #[error("an authentication is pending: wait for its reply")]
    AuthenticationPending,
    /// [`Limits::max_pending`](crate::Limits::max_pending) commands are already waiting for replies.
    #[error("{limit} commands are already pending")]
    TooManyPending {
        /// The configured limit.
        limit: usize,
    },
    /// A `quit` or `shutdown` was sent: memcached ignores anything after it.
    #[error("the connection is closing: quit or shutdown was sent")]
    Closing,
    /// A [`Watch`](crate::command::Watch) is pending (waiting for its `OK`, or streaming log
    /// lines): memcached answers nothing sent after it on this connection.
    #[error("a watch is pending: the connection is a log stream (or about to become one)")]
    Watching,
    /// An `lru_crawler metadump` or `mgdump` is pending: memcached does not answer a
    /// command sent behind it in order (1.6.18 answers it before the dump, or not
    /// until the connection is read again), so its reply could not be paired. Send it
    /// once the dump has completed.
    #[error(
        "an lru_crawler dump is pending: a command sent behind it would be answered out of order"
    )]
    DumpPending,
    /// Quiet meta commands sent before this one may stay silent, and this command's
    /// reply cannot settle them (its lines end in a bare `\n`, or never come): send a
    /// command that always gets a reply (`mn`) first.
    #[error("quiet meta commands are pending: send a fence (mn) before this command")]
    NeedsFence,
    /// An argument memcached would misread or refuse to parse (an `lru tune` factor
    /// that is not a finite positive number, a slab class list that is empty, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// A command line longer than memcached reads: it closes the connection after 2048
    /// bytes without a newline (RESPONSES.md §1.5).
    #[error("command line of {len} bytes, the limit is {limit}")]
    LineTooLong {
        /// The line's length with its `\r\n`.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A [`Raw`](crate::command::Raw) command the codec cannot pair replies for (`quit`,
    /// `watch`, a dump, `noreply`, a quiet meta command), or whose line does not state
    /// its data block's length. The reason says which.
    #[error("raw command refused: {0}")]
    RawRefused(&'static str),
    /// The codec is poisoned; a new connection (and codec) is needed.
    #[error("the codec is poisoned: {0}")]
    Poisoned(ConnectionError),
}

/// The bytes from the server cannot be a valid reply to the pending commands.
///
/// Always fatal: the codec is poisoned, every pending command completes with
/// this error once, and later calls return it again.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Bytes arrived while no command was waiting for a reply. Reported at the first
    /// such byte, whatever follows it.
    #[error("byte {byte:#04x} arrived with no command pending")]
    Unsolicited {
        /// The first unsolicited byte.
        byte: u8,
    },
    /// A reply line that the command at the head of the deque cannot receive.
    #[error("expected {expected}, got {line:?}")]
    UnexpectedReply {
        /// What the head command can receive.
        expected: &'static str,
        /// The start of the offending line.
        line: Snippet,
    },
    /// A reply line of the right kind but the wrong shape (missing or extra fields).
    #[error("malformed {what} line: {line:?}")]
    Malformed {
        /// Which reply line.
        what: &'static str,
        /// The start of the offending line.
        line: Snippet,
    },
    /// A number that is not decimal digits or overflows its type (flags > u32, cas > u64, ...).
    #[error("bad number in the {field} field")]
    BadNumber {
        /// Which field.
        field: &'static str,
    },
    /// A line ended in a bare `\n`; memcached always sends `\r\n`.
    #[error("line ends in a bare \\n")]
    BareNewline,
    /// No `\r\n` within [`Limits::max_line_len`](crate::Limits::max_line_len) bytes.
    #[error("line longer than {limit} bytes")]
    LineTooLong {
        /// The configured limit.
        limit: usize,
    },
    /// A data block longer than [`Limits::max_value_len`](crate::Limits::max_value_len).
    #[error("value of {len} bytes, the limit is {limit}")]
    ValueTooLarge {
        /// The length the server announced.
        len: u64,
        /// The configured limit.
        limit: usize,
    },
    /// More `VALUE` lines in one reply than [`Limits::max_values_per_reply`](crate::Limits::max_values_per_reply).
    #[error("more than {limit} values in one reply")]
    TooManyValues {
        /// The configured limit.
        limit: usize,
    },
    /// More `STAT`/`ITEM`/`PREFIX` lines (or dump lines, or raw lines) in one reply
    /// than [`Limits::max_stat_lines`](crate::Limits::max_stat_lines).
    #[error("more than {limit} stats lines in one reply")]
    TooManyStatLines {
        /// The configured limit.
        limit: usize,
    },
    /// A reply holding more bytes than [`Limits::max_reply_len`](crate::Limits::max_reply_len).
    #[error("reply of more than {limit} bytes")]
    ReplyTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// The two bytes after a data block were not `\r\n`.
    #[error("data block not followed by \\r\\n")]
    BadDataTerminator,
    /// A `VALUE` for a key that was not asked for, or out of request order.
    #[error("value for a key that was not requested (or out of order): {key:?}")]
    UnexpectedKey {
        /// The key the server sent.
        key: Snippet,
    },
    /// A meta reply echoed an opaque (`O`) that does not belong to the command it answers.
    #[error("meta reply opaque does not match its command")]
    OpaqueMismatch,
    /// A meta reply echoed a key (`k`) that does not belong to the command it answers.
    #[error("meta reply key does not match its command")]
    KeyMismatch,
    /// An error line that more than one pending command could have produced: one sent
    /// after `noreply` commands, or while earlier quiet meta commands may have been
    /// silent. memcached's protocol cannot say which command it belongs to.
    #[error("error line cannot be attributed to one command: {error}")]
    AmbiguousError {
        /// The error line.
        error: ServerError,
    },
    /// memcached refused a command that carried a data block before reading the
    /// block (`ERROR`, or a classic storage command's `CLIENT_ERROR`, or an `ms`
    /// `CLIENT_ERROR` about its line); it may then read the block as commands and
    /// answer them, so the rest of the stream cannot be trusted. The refused command
    /// itself completed with the error; everything after it fails with this one.
    #[error(
        "memcached rejected a command before reading its data block ({error}); stream state unknown"
    )]
    UnreadDataBlock {
        /// The error line the command completed with.
        error: ServerError,
    },
}

/// Why the connection can no longer be used. The codec is poisoned with it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The server sent bytes that break the protocol.
    #[error("protocol violation: {0}")]
    Decode(#[from] DecodeError),
    /// Commands were pending and no byte arrived within the inactivity timeout.
    #[error("no reply within the inactivity timeout")]
    Timeout,
    /// The caller reported end of stream.
    #[error("connection closed by the server")]
    Closed,
    /// The caller reported an I/O failure (a reset, a failed write).
    #[error("connection failed: {0}")]
    Io(std::io::ErrorKind),
    /// The server requires ASCII authentication (`-Y`) and this connection is not
    /// authenticated: an [`Auth`](crate::command::Auth) failed, or a command got
    /// `CLIENT_ERROR unauthenticated`. Until authenticated memcached sends one reply
    /// per read whatever was pipelined, so replies can no longer be paired with
    /// commands.
    #[error("the connection is not authenticated ({error})")]
    Unauthenticated {
        /// The error line that showed it.
        error: ServerError,
    },
    /// The read buffer lost or changed bytes of a reply the codec was in the middle of
    /// (bytes taken out, or another buffer handed in): the caller must pass the same
    /// buffer to every call and only append to it.
    #[error(
        "the read buffer lost or changed bytes of a reply in progress (pass the same buffer, only append)"
    )]
    BufferTruncated,
}

/// What a command completes with when it does not get its normal reply.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CommandError {
    /// memcached answered this command with an error line. The connection is fine
    /// (unless the codec also reports [`DecodeError::UnreadDataBlock`] afterwards).
    #[error(transparent)]
    Server(#[from] ServerError),
    /// The connection failed before this command's reply arrived.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// [`Auth`](crate::command::Auth) was refused: wrong credentials (`CLIENT_ERROR
    /// authentication failure`) or a block the server could not read as credentials.
    /// The codec is poisoned with [`ConnectionError::Unauthenticated`] after it.
    #[error("authentication failed: {0}")]
    AuthenticationFailed(ServerError),
}

/// The kind of an error line memcached sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ServerErrorKind {
    /// `ERROR`, `ERROR <msg>` or `ERROR:<msg>`: unknown command or wrong token count.
    Error,
    /// `CLIENT_ERROR <msg>`: memcached found the request malformed or unsuitable.
    ClientError,
    /// `SERVER_ERROR <msg>`: memcached could not carry the request out.
    ServerError,
    /// `MEMLIMIT_TOO_SMALL <msg>`: `cache_memlimit` below 8 MB.
    MemlimitTooSmall,
    /// `MEMLIMIT_ADJUST_FAILED <msg>`: `cache_memlimit` could not be applied.
    MemlimitAdjustFailed,
    /// `WATCHER_TOO_MANY <msg>`: `watch` refused, too many watchers are connected.
    WatcherTooMany,
    /// `WATCHER_FAILED <msg>`: `watch` could not start.
    WatcherFailed,
    /// `Error <msg>` (mixed case): `refresh_certs` failed (`Error TLS not enabled` on
    /// a server with TLS support that was started without it, `Error loading the
    /// certificate chain: ...`).
    RefreshCertsFailed,
}

impl ServerError {
    /// `CLIENT_ERROR unauthenticated`: the server requires ASCII authentication.
    pub(crate) fn is_unauthenticated(&self) -> bool {
        self.kind == ServerErrorKind::ClientError && &self.message[..] == b"unauthenticated"
    }
}

impl ServerErrorKind {
    /// The word memcached starts the line with.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "ERROR",
            Self::ClientError => "CLIENT_ERROR",
            Self::ServerError => "SERVER_ERROR",
            Self::MemlimitTooSmall => "MEMLIMIT_TOO_SMALL",
            Self::MemlimitAdjustFailed => "MEMLIMIT_ADJUST_FAILED",
            Self::WatcherTooMany => "WATCHER_TOO_MANY",
            Self::WatcherFailed => "WATCHER_FAILED",
            Self::RefreshCertsFailed => "Error",
        }
    }
}

/// An error line memcached sent in reply to one command.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Error)]
pub struct ServerError {
    /// Which error word the line started with.
    pub kind: ServerErrorKind,
    /// The text after the word (and after one separating space or colon), possibly
    /// empty. Treat it as opaque: it changes between memcached versions.
    pub message: Bytes,
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind.as_str())?;
        if !self.message.is_empty() {
            write!(f, " {}", self.message.escape_ascii())?;
        }
        Ok(())
    }
}

/// The first bytes of an offending line, kept in an error for diagnostics.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Snippet(Bytes);

impl Snippet {
    const MAX: usize = 64;

    pub(crate) fn of(bytes: &[u8]) -> Self {
        Self(Bytes::copy_from_slice(&bytes[..bytes.len().min(Self::MAX)]))
    }

    /// The captured bytes (at most 64).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Snippet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "\"{}\"", self.0.escape_ascii())
    }
}

impl From<ConnectionError> for std::io::Error {
    fn from(e: ConnectionError) -> Self {
        let kind = match e {
            ConnectionError::Decode(_) => std::io::ErrorKind::InvalidData,
            ConnectionError::Timeout => std::io::ErrorKind::TimedOut,
            ConnectionError::Closed => std::io::ErrorKind::UnexpectedEof,
            ConnectionError::Io(kind) => kind,
            ConnectionError::BufferTruncated => std::io::ErrorKind::InvalidInput,
            ConnectionError::Unauthenticated { .. } => std::io::ErrorKind::PermissionDenied,
        };
        Self::new(kind, e)
    }
}

impl From<CommandError> for std::io::Error {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Connection(c) => c.into(),
            server => Self::other(server),
        }
    }
}

impl From<EncodeError> for std::io::Error {
    fn from(e: EncodeError) -> Self {
        match e {
            EncodeError::Poisoned(c) => c.into(),
            other => Self::new(std::io::ErrorKind::InvalidInput, other),
        }
    }
}
