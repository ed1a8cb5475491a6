//! Every caller-provided byte slice is read once: what is written is exactly what
//! was checked, or the send is refused with nothing written. A key type whose
//! `as_ref()` answers differently from call to call (interior mutability, a cursor, a
//! buggy wrapper) can never inject a second command or make the codec panic.

use std::cell::Cell;
use std::time::Instant;

use bytes::BytesMut;
use memcache_codec::command::GetMulti;
use memcache_codec::{Codec, EncodeError, KeyError, Response};

/// A key whose `as_ref()` returns its next answer on each call (the last one from
/// then on).
struct Shifty {
    answers: Vec<Vec<u8>>,
    calls: Cell<usize>,
}

impl Shifty {
    fn new(answers: &[&[u8]]) -> Self {
        Self {
            answers: answers.iter().map(|a| a.to_vec()).collect(),
            calls: Cell::new(0),
        }
    }
}

impl AsRef<[u8]> for Shifty {
    fn as_ref(&self) -> &[u8] {
        let n = self.calls.get();
        self.calls.set(n + 1);
        &self.answers[n.min(self.answers.len() - 1)]
    }
}

/// Sends a multi-key get of `keys` into a buffer already holding a few bytes; on a
/// refusal, checks that nothing was written and nothing is pending.
fn send(keys: &[Shifty]) -> (Result<BytesMut, EncodeError>, Codec) {
    let mut codec = Codec::new();
    let mut out = BytesMut::from(&b"earlier"[..]);
    match codec.send(&GetMulti::new(keys), &mut out, Instant::now()) {
        Ok(_) => (Ok(out.split_off(7)), codec),
        Err(e) => {
            assert_eq!(&out[..], b"earlier", "a refused send wrote nothing");
            assert_eq!(codec.pending(), 0, "a refused send left nothing pending");
            (Err(e), codec)
        }
    }
}

#[test]
fn a_key_that_grows_an_injection_is_refused() {
    // Checked as "ok", then answering with a command line break: the old two-read
    // encoder wrote `get ok x\r\nflush_all\r\nget y`.
    let keys = [
        Shifty::new(&[b"ok"]),
        Shifty::new(&[b"x", b"x\r\nflush_all\r\nget y"]),
    ];
    let (result, _) = send(&keys);
    assert_eq!(result, Err(EncodeError::KeyChanged { index: 1 }));
}

#[test]
fn a_key_that_turns_forbidden_at_the_same_length_is_refused() {
    let keys = [Shifty::new(&[b"abcdef", b"a\r\nb\r\n"])];
    let (result, _) = send(&keys);
    assert_eq!(
        result,
        Err(EncodeError::InvalidKey {
            index: 0,
            reason: KeyError::ForbiddenByte {
                byte: b'\r',
                offset: 1,
            },
        })
    );
    // A space (the server's token separator) is caught the same way.
    let keys = [Shifty::new(&[b"abc", b"a b"])];
    assert!(matches!(
        send(&keys).0,
        Err(EncodeError::InvalidKey { index: 0, .. })
    ));
}

#[test]
fn a_key_that_grows_past_the_limit_is_refused_without_panicking() {
    let long = [b'k'; 300];
    let keys = [Shifty::new(&[b"k", &long])];
    assert_eq!(send(&keys).0, Err(EncodeError::KeyChanged { index: 0 }));
    // Or shrinks: the line would be shorter than sized.
    let keys = [Shifty::new(&[b"kkkk", b"k"])];
    assert_eq!(send(&keys).0, Err(EncodeError::KeyChanged { index: 0 }));
    // Too long from the start: refused before a byte is copied.
    let keys = [Shifty::new(&[&long])];
    assert_eq!(
        send(&keys).0,
        Err(EncodeError::InvalidKey {
            index: 0,
            reason: KeyError::TooLong { len: 300 },
        })
    );
}

#[test]
fn what_is_written_is_what_the_reply_is_checked_against() {
    // A key that changes to another valid key of the same length: the second answer
    // is what went on the wire and what the reply must carry.
    let keys = [Shifty::new(&[b"aaaa", b"bbbb", b"cccc"])];
    let (written, mut codec) = send(&keys);
    assert_eq!(&written.unwrap()[..], b"get bbbb\r\n");
    let now = Instant::now();
    let mut input = BytesMut::from(&b"VALUE bbbb 0 1\r\nx\r\nEND\r\n"[..]);
    let done = codec.decode(&mut input, now).unwrap().unwrap();
    let Ok(Response::Items(values)) = done.result else {
        panic!("{done:?}")
    };
    assert_eq!(values.get(0).map(|item| item.key), Some(&b"bbbb"[..]));

    // A reply carrying the key first answered is not the one asked for.
    let keys = [Shifty::new(&[b"aaaa", b"bbbb"])];
    let (_, mut codec) = send(&keys);
    let mut input = BytesMut::from(&b"VALUE aaaa 0 1\r\nx\r\nEND\r\n"[..]);
    let done = codec.decode(&mut input, now).unwrap().unwrap();
    assert!(done.connection_error().is_some(), "{done:?}");
}
