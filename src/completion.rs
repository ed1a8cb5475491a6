//! What the codec hands back: a [`Token`] per sent command, and a [`Completion`] per
//! finished one. The lowest layer of the crate besides the errors and responses, so the
//! receive side and the codec both use it without depending on each other.

use crate::error::{CommandError, ConnectionError};
use crate::response::Response;

/// Identifies a sent command in its [`Completion`]. Tokens increase by one per
/// command sent with a reply expected, in send order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Token(pub(crate) u64);

impl Token {
    /// The token's index: how many commands were sent before it (with a reply
    /// expected) on this codec.
    pub fn index(self) -> u64 {
        self.0
    }
}

/// A command's outcome: its reply, or why it has none.
///
/// Every command sent with [`Codec::send`](crate::Codec::send) completes exactly once
/// with a *final* completion (unless [cancelled](crate::Codec::cancel)), in send
/// order. The one command that also completes before that is a
/// [`Watch`](crate::command::Watch): its `OK` ([`Response::Watching`]) and each log line
/// ([`Response::Log`]) are non-final completions with its token, and the final one
/// comes when the connection ends ([`is_final`](Self::is_final)).
#[must_use = "a completion carries a command's result"]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The token [`Codec::send`](crate::Codec::send) returned for the command.
    pub token: Token,
    /// The reply, a server error line, or the connection failure.
    pub result: Result<Response, CommandError>,
}

impl Completion {
    /// Whether the command is done: false only for a `watch`'s
    /// [`Watching`](Response::Watching) and [`Log`](Response::Log) completions, after
    /// which the same token completes again.
    pub fn is_final(&self) -> bool {
        match &self.result {
            Ok(response) => response.is_final(),
            Err(_) => true,
        }
    }

    /// The connection error this command failed with, if it failed because the
    /// connection did.
    pub fn connection_error(&self) -> Option<&ConnectionError> {
        match &self.result {
            Err(CommandError::Connection(e)) => Some(e),
            _ => None,
        }
    }
}
