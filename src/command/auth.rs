//! `Auth`: memcached's ASCII authentication (`memcached -Y <authfile>`).

use super::sealed::{Encode, Encoded, Writer};
use super::{Command, digits};
use crate::error::EncodeError;
use crate::expect::Expect;

/// The longest `user:password` line memcached's authfile reader keeps.
const MAX_ENTRY: usize = 255;

/// ASCII authentication: `set auth 0 0 <len>\r\n<user> <password>\r\n`, the only
/// command a server started with `-Y <authfile>` reads before it.
///
/// A server without `-Y` stores it as an item named `auth` holding the credentials:
/// with a [`ServerProfile`](crate::profile::ServerProfile) that says so, `Auth` is refused
/// ([`EncodeError::AuthenticationDisabled`]); without one, send it only to servers
/// you know require it.
///
/// Completes with [`Response::Authenticated`](crate::Response::Authenticated), or with
/// [`CommandError::AuthenticationFailed`](crate::CommandError::AuthenticationFailed);
/// after a failure the connection stays unauthenticated, so the codec is poisoned
/// with [`ConnectionError::Unauthenticated`](crate::ConnectionError::Unauthenticated)
/// and refuses further commands.
///
/// Until authenticated, memcached writes every reply of one read over the previous
/// one and sends only the last (see the testkit's `AsciiAuth`), and reads a `set`
/// behind a failed attempt as a second attempt. So `Auth` must be sent alone: with
/// other commands pending it is refused
/// ([`EncodeError::AuthenticationNotAlone`]), and while it is pending every other
/// command is refused ([`EncodeError::AuthenticationPending`]). Wait for its
/// completion, then pipeline freely.
///
/// ```
/// use memcache_codec::{Codec, EncodeError, Response};
/// use memcache_codec::command::{Auth, Version};
/// use bytes::BytesMut;
/// use std::time::Instant;
///
/// let (mut codec, mut out, now) = (Codec::new(), BytesMut::new(), Instant::now());
/// codec.send(&Auth::new("alice", "secret"), &mut out, now)?;
/// assert_eq!(&out[..], b"set auth 0 0 12\r\nalice secret\r\n");
/// assert_eq!(codec.send(&Version, &mut out, now), Err(EncodeError::AuthenticationPending));
///
/// let mut input = BytesMut::from(&b"STORED\r\n"[..]);
/// assert_eq!(codec.decode(&mut input, now)?.unwrap().result, Ok(Response::Authenticated));
/// codec.send(&Version, &mut out, now)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Auth<'a> {
    user: &'a [u8],
    password: &'a [u8],
}

impl<'a> Auth<'a> {
    /// Credentials as the authfile holds them (`user:password`). Neither may be
    /// empty or hold a space or control byte, and the user no `:` (memcached splits
    /// the block at spaces and authfile lines at `:`); checked at `send`.
    pub fn new(
        user: &'a (impl AsRef<[u8]> + ?Sized),
        password: &'a (impl AsRef<[u8]> + ?Sized),
    ) -> Self {
        Self {
            user: user.as_ref(),
            password: password.as_ref(),
        }
    }

    fn check(&self) -> Result<(), EncodeError> {
        let bad = |b: &u8| *b <= b' ' || *b == 0x7f;
        let reason = if self.user.is_empty() {
            "empty user"
        } else if self.password.is_empty() {
            "empty password"
        } else if self.user.iter().any(bad) || self.user.contains(&b':') {
            "the user holds a space, a control byte or ':'"
        } else if self.password.iter().any(bad) {
            "the password holds a space or a control byte"
        } else if self.user.len() + 1 + self.password.len() > MAX_ENTRY {
            "longer than an authfile line (255 bytes)"
        } else {
            return Ok(());
        };
        Err(EncodeError::InvalidCredentials { reason })
    }
}

impl Encode for Auth<'_> {
    fn encode(&self, w: &mut Writer<'_, '_>) -> Result<Encoded, EncodeError> {
        self.check()?;
        if w.server.auth_disabled {
            return Err(EncodeError::AuthenticationDisabled);
        }
        if !w.first() {
            return Err(EncodeError::AuthenticationNotAlone);
        }
        let len = self.user.len() + 1 + self.password.len();
        const VERB: &[u8] = b"set auth 0 0 ";
        let mut line = w.line(VERB.len() + digits(len as u64) + 2, len + 2);
        line.put(VERB);
        line.number(len as u64);
        line.put(b"\r\n");
        line.end();
        let mut block = w.line(len + 2, 0);
        block.put(self.user);
        block.byte(b' ');
        block.put(self.password);
        block.put(b"\r\n");
        block.end();
        Ok(Encoded::of(Expect::Auth))
    }
}

impl Command for Auth<'_> {}
