//! The reply streams every decode contender is fed, and the commands that make the
//! codec expect them. Shared by the decode and alloc benches (`#[path]`-included).
//!
//! Everything is deterministic: the same bytes on every run, and the STORED and
//! get-hit streams are rebuilt byte for byte by `benches/twisted_seed.py`
//! (checked with [`fnv1a`]).

use std::time::Instant;

use bytes::BytesMut;
use memcache_codec::Codec;
use memcache_testkit::command::{Cmd, MgFlag, StatsArgs, StoreMode};

/// The 32-byte value of every small item.
pub(crate) const VALUE_32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz012345";

/// The five `STAT` lines and `END` of the mixed stream's stats replies.
pub(crate) const STATS_BLOCK: &[u8] = b"STAT pid 4242\r\nSTAT uptime 86400\r\n\
STAT time 1700000000\r\nSTAT version 1.6.18\r\nSTAT curr_connections 10\r\nEND\r\n";

/// The key of item `i`: `key:0000` .. `key:9999` (8 bytes).
pub(crate) fn key(i: usize) -> String {
    format!("key:{:04}", i % 10_000)
}

/// The commands whose replies make up the streams (testkit's owned commands).
mod cmd {
    use super::*;

    /// `set <key> 0 0 32` with [`VALUE_32`].
    pub(crate) fn set(key: &str) -> Cmd {
        Cmd::Store {
            mode: StoreMode::Set,
            key: key.into(),
            value: VALUE_32.into(),
            flags: 0,
            exptime: 0,
            noreply: false,
        }
    }

    /// `get <key>` (hit or miss).
    pub(crate) fn get(key: &str) -> Cmd {
        Cmd::Get {
            key: key.into(),
            cas: false,
            touch: None,
        }
    }

    /// `incr <key> 1`.
    pub(crate) fn incr(key: &str) -> Cmd {
        Cmd::Incr {
            key: key.into(),
            delta: 1,
            noreply: false,
        }
    }

    /// `delete <key>`.
    pub(crate) fn delete(key: &str) -> Cmd {
        Cmd::Delete {
            key: key.into(),
            noreply: false,
        }
    }

    /// `stats`.
    pub(crate) fn stats() -> Cmd {
        Cmd::Stats(StatsArgs::None)
    }

    /// `gets <key>*`.
    pub(crate) fn gets(keys: &[String]) -> Cmd {
        Cmd::GetMulti {
            keys: keys.iter().map(|k| k.as_str().into()).collect(),
            cas: true,
            touch: None,
        }
    }

    /// `mg <key> v f c`.
    pub(crate) fn meta_get(key: &str) -> Cmd {
        Cmd::MetaGet {
            key: key.into(),
            flags: vec![
                MgFlag::ReturnValue,
                MgFlag::ReturnClientFlags,
                MgFlag::ReturnCas,
            ],
        }
    }

    /// `ms <key> 32` with [`VALUE_32`].
    pub(crate) fn meta_set(key: &str) -> Cmd {
        Cmd::MetaSet {
            key: key.into(),
            value: VALUE_32.into(),
            flags: Vec::new(),
        }
    }
}

/// Whether memcache-proto 0.0.5 can parse a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Peer {
    /// Every reply kind in it.
    Parses,
    /// All but `STAT` lines ("unknown response"): its driver skips each such line to
    /// its CRLF itself, as a user would have to, and counts the block's `END`.
    SkipsStatLines,
    /// No meta protocol at all.
    NoMeta,
}

/// One reply stream and the commands that make a codec expect it.
#[derive(Debug)]
pub(crate) struct Stream {
    /// Short name used in bench ids and tables.
    pub(crate) name: &'static str,
    /// The bytes memcached would send.
    pub(crate) bytes: Vec<u8>,
    /// Complete replies in it (one per command).
    pub(crate) responses: usize,
    /// The commands, in send order.
    pub(crate) commands: Vec<Cmd>,
    /// How memcache-proto copes with it.
    pub(crate) peer: Peer,
}

impl Stream {
    /// Sends every command of the stream to `codec` (their bytes are written to a
    /// scratch buffer and dropped), so its deque expects the stream.
    pub(crate) fn fill(&self, codec: &mut Codec, now: Instant) {
        let mut out = BytesMut::with_capacity(64 * 1024);
        for cmd in &self.commands {
            cmd.send(codec, &mut out, now)
                .expect("bench commands are valid");
            if out.len() > 48 * 1024 {
                out.clear();
            }
        }
    }
}

/// `n` × `STORED`, answering `set key:NNNN 0 0 32`.
pub(crate) fn stored(n: usize) -> Stream {
    let mut bytes = Vec::with_capacity(8 * n);
    let mut commands = Vec::with_capacity(n);
    for i in 0..n {
        bytes.extend_from_slice(b"STORED\r\n");
        commands.push(cmd::set(&key(i)));
    }
    Stream {
        name: "stored",
        bytes,
        responses: n,
        commands,
        peer: Peer::Parses,
    }
}

fn push_hit(bytes: &mut Vec<u8>, key: &str) {
    bytes.extend_from_slice(format!("VALUE {key} 0 32\r\n").as_bytes());
    bytes.extend_from_slice(VALUE_32);
    bytes.extend_from_slice(b"\r\nEND\r\n");
}

/// `n` single-key get hits with 32-byte values (60 bytes each).
pub(crate) fn get_hit(n: usize) -> Stream {
    let mut bytes = Vec::with_capacity(60 * n);
    let mut commands = Vec::with_capacity(n);
    for i in 0..n {
        let k = key(i);
        push_hit(&mut bytes, &k);
        commands.push(cmd::get(&k));
    }
    Stream {
        name: "get_hit",
        bytes,
        responses: n,
        commands,
        peer: Peer::Parses,
    }
}

/// xorshift64: a fixed, dependency-free shuffle.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// `n` (a multiple of 100) replies: 40% STORED, 35% get hit, 10% miss, 8% incr
/// numbers, 5% DELETED/NOT_FOUND, 2% five-line stats block + END; shuffled.
pub(crate) fn mixed(n: usize) -> Stream {
    assert_eq!(n % 100, 0, "the mix is exact per hundred");
    let per_hundred: [(u8, usize); 6] = [
        (b'S', 40),
        (b'H', 35),
        (b'M', 10),
        (b'I', 8),
        (b'D', 5),
        (b'T', 2),
    ];
    let mut kinds: Vec<u8> = Vec::with_capacity(n);
    for _ in 0..n / 100 {
        for (kind, count) in per_hundred {
            kinds.extend(std::iter::repeat_n(kind, count));
        }
    }
    let mut state = 0x9E37_79B9_7F4A_7C15;
    for i in (1..kinds.len()).rev() {
        let j = (xorshift(&mut state) % (i as u64 + 1)) as usize;
        kinds.swap(i, j);
    }
    let mut bytes = Vec::with_capacity(32 * n);
    let mut commands = Vec::with_capacity(n);
    for (i, kind) in kinds.into_iter().enumerate() {
        let k = key(i);
        match kind {
            b'S' => {
                bytes.extend_from_slice(b"STORED\r\n");
                commands.push(cmd::set(&k));
            }
            b'H' => {
                push_hit(&mut bytes, &k);
                commands.push(cmd::get(&k));
            }
            b'M' => {
                bytes.extend_from_slice(b"END\r\n");
                commands.push(cmd::get(&k));
            }
            b'I' => {
                bytes.extend_from_slice(format!("{}\r\n", 1000 + 7 * i).as_bytes());
                commands.push(cmd::incr(&k));
            }
            b'D' => {
                let line: &[u8] = if i % 2 == 0 {
                    b"DELETED\r\n"
                } else {
                    b"NOT_FOUND\r\n"
                };
                bytes.extend_from_slice(line);
                commands.push(cmd::delete(&k));
            }
            _ => {
                bytes.extend_from_slice(STATS_BLOCK);
                commands.push(cmd::stats());
            }
        }
    }
    Stream {
        name: "mixed",
        bytes,
        responses: n,
        commands,
        peer: Peer::SkipsStatLines,
    }
}

/// One `gets` reply for `keys` keys with 100-byte values and cas uniques
/// (100 keys: 12,905 bytes; 1000 keys: 129,005 bytes).
pub(crate) fn gets_multi(keys: usize, name: &'static str) -> Stream {
    let value: Vec<u8> = (0..100u8).map(|i| b'a' + i % 26).collect();
    let mut bytes = Vec::with_capacity(130 * keys + 5);
    let mut names = Vec::with_capacity(keys);
    for i in 0..keys {
        let k = key(i);
        bytes.extend_from_slice(format!("VALUE {k} 0 100 {}\r\n", 1000 + i).as_bytes());
        bytes.extend_from_slice(&value);
        bytes.extend_from_slice(b"\r\n");
        names.push(k);
    }
    bytes.extend_from_slice(b"END\r\n");
    Stream {
        name,
        bytes,
        responses: 1,
        commands: vec![cmd::gets(&names)],
        peer: Peer::Parses,
    }
}

/// One get hit carrying a 512 KiB value.
pub(crate) fn large_value() -> Stream {
    let len = 512 * 1024;
    let mut bytes = Vec::with_capacity(len + 64);
    bytes.extend_from_slice(format!("VALUE big 0 {len}\r\n").as_bytes());
    bytes.extend((0..len).map(|i| (i % 251) as u8));
    bytes.extend_from_slice(b"\r\nEND\r\n");
    Stream {
        name: "value_512k",
        bytes,
        responses: 1,
        commands: vec![cmd::get("big")],
        peer: Peer::Parses,
    }
}

/// `n` meta replies, alternating `mg k v f c` hits (`VA 32 f0 c<cas>` + 32 bytes)
/// and `ms` successes (`HD`).
pub(crate) fn meta(n: usize) -> Stream {
    let mut bytes = Vec::with_capacity(30 * n);
    let mut commands = Vec::with_capacity(n);
    for i in 0..n {
        let k = key(i);
        if i % 2 == 0 {
            bytes.extend_from_slice(format!("VA 32 f0 c{}\r\n", 100_000 + i).as_bytes());
            bytes.extend_from_slice(VALUE_32);
            bytes.extend_from_slice(b"\r\n");
            commands.push(cmd::meta_get(&k));
        } else {
            bytes.extend_from_slice(b"HD\r\n");
            commands.push(cmd::meta_set(&k));
        }
    }
    Stream {
        name: "meta_mg_ms",
        bytes,
        responses: n,
        commands,
        peer: Peer::NoMeta,
    }
}

/// Every stream of the decode bench, in table order.
pub(crate) fn all() -> Vec<Stream> {
    vec![
        stored(8192),
        get_hit(4096),
        mixed(4000),
        gets_multi(100, "gets_100"),
        gets_multi(1000, "gets_1000"),
        large_value(),
        meta(4096),
    ]
}

/// How a stream is cut into the reads the codec sees.
pub(crate) const CHUNKINGS: [(&str, usize); 3] =
    [("whole", usize::MAX), ("16k", 16 * 1024), ("1460", 1460)];

/// FNV-1a 64 of `bytes`: lets the Python seed script prove it built the same stream.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
