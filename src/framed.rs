//! The codec as a `tokio_util::codec::{Decoder, Encoder}` (feature `tokio-util`), so
//! a [`Framed`](tokio_util::codec::Framed) stream of [`Completion`]s and sink of
//! commands comes for free.
//!
//! [`FramedCodec`] wraps a [`Codec`] with a clock. The codec reads no clock, and
//! `Decoder::decode` has no `now` argument, so the caller passes the function to ask
//! (`Instant::now`, or `|| tokio::time::Instant::now().into_std()` to follow tokio's
//! paused test clock): the inactivity timer restarts whenever bytes arrive, and that
//! needs the real time of arrival.
//!
//! * Decoding is [`Codec::decode`]: one [`Completion`] per frame, in send order.
//! * End of stream ([`Decoder::decode_eof`]) is [`Codec::handle_eof`]: every pending
//!   command comes out once, failed with [`ConnectionError::Closed`] (a pending
//!   `quit` completes with [`Response::Closed`](crate::Response::Closed)), then the
//!   stream ends.
//! * Encoding takes `&C` for any [`Command`] and is [`Codec::send`]: a refused
//!   command writes nothing. [`FramedCodec::last_token`] is the token of the last
//!   command encoded.
//! * The inactivity timeout stays with the caller, as without `Framed`: sleep until
//!   [`Codec::poll_timeout`], call [`Codec::handle_timeout`], then read the failed
//!   completions with [`FramedCodec::drain_failed`] (`Framed` calls `decode` only
//!   after a read, and a stalled server sends nothing).
//!
//! ```
//! use std::time::Instant;
//! use futures_util::{SinkExt, StreamExt};
//! use memcache_codec::framed::FramedCodec;
//! use memcache_codec::{Codec, Response};
//! use memcache_codec::command::{Get, Store};
//! use tokio_util::codec::Framed;
//! # use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let (stream, mut server_end) = tokio::io::duplex(64 * 1024);
//! # // memcache-testkit's model of memcached 1.6.18 answers at the other end.
//! # tokio::spawn(async move {
//! #     let mut server = memcache_testkit::Server::new();
//! #     let (mut buf, mut out) = (vec![0; 16 * 1024], Vec::new());
//! #     while let Ok(n @ 1..) = server_end.read(&mut buf).await {
//! #         server.feed(&buf[..n], &mut out);
//! #         if server_end.write_all(&out).await.is_err() { break; }
//! #         out.clear();
//! #     }
//! # });
//! // `stream`: any AsyncRead + AsyncWrite connected to memcached.
//! let mut framed = Framed::new(stream, FramedCodec::new(Codec::new(), Instant::now));
//! framed.feed(&Store::set("greeting", "hello")).await?;
//! framed.send(&Get::new("greeting")).await?; // one write for both
//! let get = framed.codec().last_token().unwrap();
//!
//! let stored = framed.next().await.unwrap()?;
//! assert_eq!(stored.result, Ok(Response::Stored));
//! let hit = framed.next().await.unwrap()?;
//! assert_eq!(hit.token, get);
//! assert_eq!(&hit.result?.into_hit().unwrap().data[..], b"hello");
//! # Ok(())
//! # }
//! ```

use std::io;
use std::time::Instant;

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

use crate::command::Command;
use crate::{Codec, Completion, ConnectionError, EncodeError, Token};

/// A [`Codec`] and a clock: the `tokio_util` [`Decoder`] of [`Completion`]s and
/// [`Encoder`] of commands. See the [module documentation](self).
#[derive(Debug)]
pub struct FramedCodec<C> {
    codec: Codec,
    clock: C,
    last_token: Option<Token>,
}

impl<C: FnMut() -> Instant> FramedCodec<C> {
    /// Wraps `codec`; `clock` is called for the time of each encode and decode.
    pub fn new(codec: Codec, clock: C) -> Self {
        Self {
            codec,
            clock,
            last_token: None,
        }
    }

    /// The codec.
    pub fn codec(&self) -> &Codec {
        &self.codec
    }

    /// The codec, to send what the `Encoder` does not take (noreply, quiet
    /// batches: write into `Framed::write_buffer_mut`), and for timeouts and cancel.
    pub fn codec_mut(&mut self) -> &mut Codec {
        &mut self.codec
    }

    /// The codec, unwrapped.
    pub fn into_codec(self) -> Codec {
        self.codec
    }

    /// The token of the last command the `Encoder` accepted.
    pub fn last_token(&self) -> Option<Token> {
        self.last_token
    }

    /// The next pending command failed by [`Codec::handle_timeout`],
    /// [`Codec::handle_io_error`] or [`Codec::handle_eof`], without reading: `None`
    /// once every one has come out (or while the codec is not poisoned).
    pub fn drain_failed(&mut self) -> Option<Completion> {
        self.codec.poisoned()?;
        // A poisoned codec reads nothing: every pending command fails in order.
        self.codec
            .decode(&mut BytesMut::new(), (self.clock)())
            .ok()
            .flatten()
    }
}

/// What a [`FramedCodec`] fails with: the transport's I/O error, the connection's
/// failure (the codec is poisoned), or a command refused before anything was
/// written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FramedError {
    /// Reading or writing the transport failed. Report it with
    /// [`Codec::handle_io_error`] to fail the pending commands.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The connection is over: bytes that break the protocol, a timeout, or the
    /// end of stream.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// A command was refused; nothing was written.
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

impl From<FramedError> for io::Error {
    fn from(e: FramedError) -> Self {
        match e {
            FramedError::Io(e) => e,
            FramedError::Connection(e) => e.into(),
            FramedError::Encode(e) => e.into(),
        }
    }
}

impl<C: FnMut() -> Instant> Decoder for FramedCodec<C> {
    type Item = Completion;
    type Error = FramedError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Completion>, FramedError> {
        let next = self.codec.decode(src, (self.clock)())?;
        if next.is_none() {
            // A data block announces its size: make room for it in one step.
            if let Some(want) = self.codec.min_buffer_len() {
                src.reserve(want.saturating_sub(src.len()));
            }
        }
        Ok(next)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Completion>, FramedError> {
        if self.codec.poisoned().is_none() {
            if let Some(done) = self.decode(src)? {
                return Ok(Some(done));
            }
            self.codec.handle_eof();
        }
        match self.codec.decode(src, (self.clock)()) {
            Ok(done) => Ok(done),
            // Every pending command came out: the stream ends here.
            Err(ConnectionError::Closed) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

impl<C: FnMut() -> Instant, K: Command + ?Sized> Encoder<&K> for FramedCodec<C> {
    type Error = FramedError;

    fn encode(&mut self, command: &K, dst: &mut BytesMut) -> Result<(), FramedError> {
        let token = self.codec.send(command, dst, (self.clock)())?;
        self.last_token = Some(token);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{Get, Quit, Store};
    use crate::{CommandError, Response};

    fn framed() -> FramedCodec<fn() -> Instant> {
        FramedCodec::new(Codec::new(), Instant::now)
    }

    #[test]
    fn encode_is_send_and_decode_is_decode() {
        let mut f = framed();
        let mut out = BytesMut::new();
        f.encode(&Store::set("k", "v"), &mut out).unwrap();
        let set = f.last_token().unwrap();
        f.encode(&Get::new("k"), &mut out).unwrap();
        let get = f.last_token().unwrap();
        assert_eq!(&out[..], b"set k 0 0 1\r\nv\r\nget k\r\n");
        // A refused command writes nothing and keeps the last token.
        assert!(matches!(
            f.encode(&Get::new("bad key"), &mut out),
            Err(FramedError::Encode(_))
        ));
        assert_eq!((out.len(), f.last_token()), (23, Some(get)));

        let mut input = BytesMut::from(&b"STORED\r\nVALUE k 0 1\r\nv"[..]);
        let stored = f.decode(&mut input).unwrap().unwrap();
        assert_eq!((stored.token, stored.result), (set, Ok(Response::Stored)));
        assert!(f.decode(&mut input).unwrap().is_none());
        input.extend_from_slice(b"\r\nEND\r\n");
        assert_eq!(f.decode(&mut input).unwrap().unwrap().token, get);
    }

    #[test]
    fn end_of_stream_fails_each_pending_command_once_then_ends() {
        let mut f = framed();
        let mut out = BytesMut::new();
        for key in ["a", "b"] {
            f.encode(&Get::new(key), &mut out).unwrap();
        }
        f.encode(&Quit, &mut out).unwrap();
        // The first reply, and half of the second.
        let mut input = BytesMut::from(&b"END\r\nVALUE b 0 5\r\nhe"[..]);
        assert_eq!(
            f.decode_eof(&mut input).unwrap().unwrap().result,
            Ok(Response::Miss)
        );
        let lost = f.decode_eof(&mut input).unwrap().unwrap();
        assert_eq!(
            lost.result,
            Err(CommandError::Connection(ConnectionError::Closed))
        );
        let quit = f.decode_eof(&mut input).unwrap().unwrap();
        assert_eq!(quit.result, Ok(Response::Closed));
        assert!(f.decode_eof(&mut input).unwrap().is_none());
        assert!(f.decode_eof(&mut input).unwrap().is_none());
    }

    #[test]
    fn end_of_stream_after_a_protocol_error_is_that_error() {
        let mut f = framed();
        let mut input = BytesMut::from(&b"STORED\r\n"[..]);
        let e = f.decode(&mut input).unwrap_err();
        assert!(matches!(
            e,
            FramedError::Connection(ConnectionError::Decode(_))
        ));
        assert!(matches!(
            f.decode_eof(&mut input),
            Err(FramedError::Connection(ConnectionError::Decode(_)))
        ));
    }

    #[test]
    fn a_timeout_is_drained_without_reading() {
        let mut f = framed();
        let mut out = BytesMut::new();
        f.encode(&Get::new("a"), &mut out).unwrap();
        f.encode(&Get::new("b"), &mut out).unwrap();
        assert!(f.drain_failed().is_none()); // not poisoned: nothing to drain
        let deadline = f.codec().poll_timeout().unwrap();
        f.codec_mut().handle_timeout(deadline);
        let timed_out = Err(CommandError::Connection(ConnectionError::Timeout));
        assert_eq!(f.drain_failed().unwrap().result, timed_out);
        assert_eq!(f.drain_failed().unwrap().result, timed_out);
        assert!(f.drain_failed().is_none());
    }
}
