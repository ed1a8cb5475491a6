//! The caller's read buffer during one call, as a cursor over three regions.
//!
//! ```text
//!  buf: | consumed (pos) | held | unread ...................................... |
//!       0               pos    pos+held                                   buf.len()
//! ```
//!
//! * *consumed*: bytes this call finished with. They leave the buffer once per call
//!   (when the call ends, [`Input::into_buf`]) or in the next split, not once per
//!   reply: that saves a buffer update per reply.
//! * *held*: the bytes of a multi-line reply in progress (a multi-key retrieval, a
//!   stats reply), kept until its `END` so the whole reply becomes one `Bytes`.
//!   Between calls the buffer starts with them.
//! * *unread*: everything after; the next reply line starts here.
//!
//! Invariant: `pos + held <= buf.len()`; while bytes are held, nothing is consumed
//! (`pos` does not move) until the held reply is taken or dropped.

use bytes::{Buf, Bytes, BytesMut};

pub(crate) struct Input<'b> {
    buf: &'b mut BytesMut,
    pos: usize,
    held: usize,
}

impl<'b> Input<'b> {
    /// The buffer, with `held` bytes of a reply in progress at its front.
    pub(crate) fn new(buf: &'b mut BytesMut, held: usize) -> Self {
        debug_assert!(held <= buf.len());
        Self { buf, pos: 0, held }
    }

    /// The bytes not read yet.
    #[inline]
    pub(crate) fn rest(&self) -> &[u8] {
        &self.buf[self.pos + self.held..]
    }

    /// How many bytes are not read yet.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.buf.len() - self.pos - self.held
    }

    /// Bytes held for the reply in progress.
    #[inline]
    pub(crate) fn held(&self) -> usize {
        self.held
    }

    /// The next `n` unread bytes are done with.
    #[inline]
    pub(crate) fn consume(&mut self, n: usize) {
        debug_assert!(self.held == 0 && n <= self.len());
        self.pos += n;
    }

    /// The next `n` unread bytes belong to the reply being held.
    #[inline]
    pub(crate) fn hold(&mut self, n: usize) {
        debug_assert!(n <= self.len());
        self.held += n;
    }

    /// The held reply, split off as one zero-copy `Bytes`.
    #[inline]
    pub(crate) fn take_held(&mut self) -> Bytes {
        let mut bytes = self.buf.split_to(self.pos + self.held).freeze();
        bytes.advance(self.pos);
        (self.pos, self.held) = (0, 0);
        bytes
    }

    /// Drops the held reply (an error line ended it).
    #[inline]
    pub(crate) fn drop_held(&mut self) {
        self.pos += self.held;
        self.held = 0;
    }

    /// Forgets the held reply, leaving its bytes in the buffer, unread (the codec was
    /// poisoned: nothing will be read again).
    #[inline]
    pub(crate) fn release_held(&mut self) {
        self.held = 0;
    }

    /// The next `n` unread bytes, split off as a zero-copy `Bytes`. The consumed
    /// prefix leaves the buffer in the same split (then is dropped from the front of
    /// the `Bytes`, which is cheap), rather than in a separate `advance`.
    #[inline]
    pub(crate) fn split(&mut self, n: usize) -> Bytes {
        debug_assert_eq!(self.held, 0);
        let mut bytes = self.buf.split_to(self.pos + n).freeze();
        bytes.advance(self.pos);
        self.pos = 0;
        bytes
    }

    /// Ends the call: the consumed bytes leave the buffer, which is handed back.
    #[inline]
    pub(crate) fn into_buf(mut self) -> &'b mut BytesMut {
        self.flush();
        self.buf
    }

    /// Removes the consumed bytes from the caller's buffer.
    #[inline]
    fn flush(&mut self) {
        if self.pos > 0 {
            self.buf.advance(self.pos);
            self.pos = 0;
        }
    }
}
