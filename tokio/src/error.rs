//! What a call fails with.

use std::io;
use std::sync::Arc;

use memcache_codec::{CommandError, ConnectionError, EncodeError, Response, ServerError};

/// Why a call has no answer.
///
/// | Variant | Was the command sent? | The connection |
/// |---|---|---|
/// | [`Encode`](Self::Encode) | no: refused before a byte was written | fine |
/// | [`Server`](Self::Server) | yes, memcached answered with an error line | fine |
/// | [`Connection`](Self::Connection) | maybe: its outcome is unknown | over; the next call reconnects (if the client can) |
/// | [`Connect`](Self::Connect) | no | could not be made |
/// | [`Unavailable`](Self::Unavailable) | no: the key's server is down ([`Cluster`](crate::Cluster)) | not tried |
/// | [`UnexpectedReply`](Self::UnexpectedReply) | yes | fine (the codec checked the reply fits the command; only a method's narrower reading failed) |
/// | [`WatchNeedsOwnConnection`](Self::WatchNeedsOwnConnection) | no | fine |
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The command was refused before anything was written: a bad key, a value
    /// too large, too many keys, ... Nothing was sent.
    #[error("command refused, nothing sent: {0}")]
    Encode(#[from] EncodeError),
    /// memcached answered with an error line (`ERROR`, `CLIENT_ERROR`,
    /// `SERVER_ERROR`, ...).
    #[error("memcached answered: {0}")]
    Server(ServerError),
    /// The connection failed before the reply arrived (end of stream, reset,
    /// inactivity timeout, bytes that break the protocol): the command may or may
    /// not have been carried out.
    #[error("connection failed: {0}")]
    Connection(ConnectionError),
    /// No connection could be made (refused, unreachable, TLS handshake, connect
    /// timeout). Nothing was sent.
    #[error("cannot connect: {0}")]
    Connect(Arc<io::Error>),
    /// The key's server is down and the [`Policy`](memcache_codec::distribution::Policy)
    /// is to fail fast, or every server is down. Nothing was sent.
    #[cfg(feature = "distribution")]
    #[cfg_attr(docsrs, doc(cfg(feature = "distribution")))]
    #[error(transparent)]
    Unavailable(#[from] memcache_codec::distribution::Unavailable),
    /// A [`Watch`](memcache_codec::command::Watch) sent with
    /// [`Client::call`](crate::Client::call) or [`Client::pipeline`](crate::Client::pipeline):
    /// it would turn the shared connection into a log stream, on which every other
    /// command would go unanswered. Nothing was sent; use
    /// [`Client::watch`](crate::Client::watch), which opens a connection of its own.
    #[error("watch turns its connection into a log stream: use Client::watch, nothing sent")]
    WatchNeedsOwnConnection,
    /// A reply the method does not read (the codec already checked that the reply
    /// fits the command, so this does not happen with memcached).
    #[error("unexpected reply: {0:?}")]
    UnexpectedReply(Box<Response>),
}

impl Error {
    /// True if the connection failed or could not be made: the error of a server,
    /// not of a command (what a [`Cluster`](crate::Cluster) counts against a
    /// server's health).
    pub fn is_connection(&self) -> bool {
        matches!(self, Self::Connection(_) | Self::Connect(_))
    }

    pub(crate) fn connect(e: io::Error) -> Self {
        Self::Connect(Arc::new(e))
    }
}

impl From<CommandError> for Error {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Server(e) => Self::Server(e),
            CommandError::Connection(e) => Self::Connection(e),
            // CommandError is non_exhaustive: anything new is about the command.
            other => Self::Connection(ConnectionError::Io(io::Error::from(other).kind())),
        }
    }
}

impl From<ConnectionError> for Error {
    fn from(e: ConnectionError) -> Self {
        Self::Connection(e)
    }
}

impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Connection(e) => e.into(),
            Error::Encode(e) => e.into(),
            Error::Connect(e) => Self::new(e.kind(), Error::Connect(e)),
            other => Self::other(other),
        }
    }
}

/// The unexpected-reply error for `response`.
pub(crate) fn unexpected(response: Response) -> Error {
    Error::UnexpectedReply(Box::new(response))
}
