//! Heap allocations per response and per encoded command, counted by a global
//! allocator that tallies this thread's allocations, reallocations and bytes.
//!
//! ```text
//! cargo bench --bench alloc
//! ```
//!
//! Steady state: the codec, its output buffer and its input buffer are reused for
//! thousands of round trips before counting, and every completion (with its
//! values) is dropped before the next read, so the input buffer can reclaim its
//! space. "Pipelined" rows decode a batch of 100 replies per read instead of one.
//! memcache-proto's parsers are counted on the same replies for comparison.
//! (`tests/alloc.rs` asserts the zero-allocation targets; this prints the figures.)

#![allow(unsafe_code)] // a GlobalAlloc impl is unsafe by definition

#[path = "streams/mod.rs"]
#[allow(dead_code)] // the decode bench uses the rest
mod streams;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use memcache_codec::Codec;
use memcache_codec::command::Arithmetic;
use memcache_codec::command::{Delete, Get, GetMulti, MetaGet, MetaSet, Stats, Store};

struct Counting;

thread_local! {
    /// (allocations + reallocations, bytes requested).
    static COUNTS: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

fn count(bytes: usize) {
    COUNTS.with(|c| {
        let (n, b) = c.get();
        c.set((n + 1, b + bytes as u64));
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: forwarding the caller's layout to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` (or `realloc`) above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: as for `dealloc`; `new_size` is the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn counts() -> (u64, u64) {
    COUNTS.with(Cell::get)
}

/// Allocations and bytes per unit of `f`'s work, after `warm` unwarmed runs.
fn per_unit(warm: usize, runs: usize, units_per_run: usize, mut f: impl FnMut()) -> (f64, f64) {
    for _ in 0..warm {
        f();
    }
    let before = counts();
    for _ in 0..runs {
        f();
    }
    let after = counts();
    let units = (runs * units_per_run) as f64;
    (
        (after.0 - before.0) as f64 / units,
        (after.1 - before.1) as f64 / units,
    )
}

type Send = fn(&mut Codec, &mut BytesMut, Instant);

struct Row {
    name: &'static str,
    send: Send,
    reply: Vec<u8>,
}

fn rows() -> Vec<Row> {
    let hit = |k: &str| format!("VALUE {k} 0 32\r\nabcdefghijklmnopqrstuvwxyz012345\r\nEND\r\n");
    let mut gets100 = Vec::new();
    for i in 0..100 {
        gets100.extend_from_slice(
            format!(
                "VALUE key:{i:04} 0 100 {}\r\n{}\r\n",
                1000 + i,
                "v".repeat(100)
            )
            .as_bytes(),
        );
    }
    gets100.extend_from_slice(b"END\r\n");
    let send_gets100: Send = |c, o, n| {
        let keys: [String; 100] = std::array::from_fn(|i| format!("key:{i:04}"));
        c.send(&GetMulti::new(&keys).with_cas(), o, n)
            .map(drop)
            .unwrap()
    };
    vec![
        Row {
            name: "get hit (32 B)",
            send: |c, o, n| c.send(&Get::new("key:0001"), o, n).map(drop).unwrap(),
            reply: hit("key:0001").into_bytes(),
        },
        Row {
            name: "get miss",
            send: |c, o, n| c.send(&Get::new("key:0001"), o, n).map(drop).unwrap(),
            reply: b"END\r\n".to_vec(),
        },
        Row {
            name: "set",
            send: |c, o, n| {
                c.send(&Store::set("key:0001", streams::VALUE_32), o, n)
                    .map(drop)
                    .unwrap()
            },
            reply: b"STORED\r\n".to_vec(),
        },
        Row {
            name: "incr",
            send: |c, o, n| {
                c.send(&Arithmetic::incr("counter", 1), o, n)
                    .map(drop)
                    .unwrap()
            },
            reply: b"42\r\n".to_vec(),
        },
        Row {
            name: "delete",
            send: |c, o, n| c.send(&Delete::new("key:0001"), o, n).map(drop).unwrap(),
            reply: b"DELETED\r\n".to_vec(),
        },
        Row {
            name: "mg v f c hit",
            send: |c, o, n| {
                let mg = MetaGet::new("key:0001")
                    .return_value()
                    .return_client_flags()
                    .return_cas();
                c.send(&mg, o, n).map(drop).unwrap()
            },
            reply: b"VA 32 f0 c100\r\nabcdefghijklmnopqrstuvwxyz012345\r\n".to_vec(),
        },
        Row {
            name: "ms",
            send: |c, o, n| {
                c.send(&MetaSet::new("key:0001", streams::VALUE_32), o, n)
                    .map(drop)
                    .unwrap()
            },
            reply: b"HD\r\n".to_vec(),
        },
        Row {
            name: "stats (5 lines)",
            send: |c, o, n| c.send(&Stats::new(), o, n).map(drop).unwrap(),
            reply: streams::STATS_BLOCK.to_vec(),
        },
        Row {
            name: "gets 100 keys",
            send: send_gets100,
            reply: gets100,
        },
    ]
}

/// One round trip per call: send, read the reply, decode, drop the completion.
fn round_trips(row: &Row, batch: usize) -> (f64, f64) {
    let mut codec = Codec::new();
    let mut out = BytesMut::with_capacity(64 * 1024);
    let mut input = BytesMut::with_capacity(64 * 1024);
    let mut batched = Vec::with_capacity(row.reply.len() * batch);
    for _ in 0..batch {
        batched.extend_from_slice(&row.reply);
    }
    let now = Instant::now();
    // Sending is not what is counted here: send outside the counted part.
    let decode = |codec: &mut Codec, input: &mut BytesMut| {
        input.extend_from_slice(&batched);
        let mut done = 0;
        while let Some(completion) = codec.decode(input, now).expect("valid reply") {
            assert!(completion.result.is_ok(), "{:?}", completion.result);
            drop(completion);
            done += 1;
        }
        assert_eq!(done, batch);
    };
    for _ in 0..200 {
        out.clear();
        for _ in 0..batch {
            (row.send)(&mut codec, &mut out, now);
        }
        decode(&mut codec, &mut input);
    }
    let runs = 2000 / batch.max(1) + 20;
    let (mut allocs, mut bytes) = (0u64, 0u64);
    for _ in 0..runs {
        out.clear();
        for _ in 0..batch {
            (row.send)(&mut codec, &mut out, now);
        }
        let before = counts();
        decode(&mut codec, &mut input);
        let after = counts();
        allocs += after.0 - before.0;
        bytes += after.1 - before.1;
    }
    let units = (runs * batch) as f64;
    (allocs as f64 / units, bytes as f64 / units)
}

fn peer_allocs(reply: &[u8]) -> Option<(f64, f64)> {
    // memcache-proto cannot parse STAT lines: no figure.
    memcache_proto::Response::parse(reply).ok()?;
    let copying = per_unit(100, 2000, 1, || {
        let parsed = memcache_proto::Response::parse(reply).expect("valid");
        drop(std::hint::black_box(parsed));
    });
    let frozen = Bytes::copy_from_slice(reply);
    let zero_copy = per_unit(100, 2000, 1, || {
        let parsed = memcache_proto::ResponseBytes::parse(frozen.clone()).expect("valid");
        drop(std::hint::black_box(parsed));
    });
    Some((copying.0, zero_copy.0))
}

fn encode_rows() {
    println!();
    println!("Encoding: allocations per command sent into a reused output buffer");
    println!("(steady state: the deque and key store warmed; cold: a new codec and buffer).");
    println!();
    println!("| command | steady allocs | cold allocs (first send) |");
    println!("|---|---:|---:|");
    let keys: Vec<String> = (0..100).map(|i| format!("key:{i:04}")).collect();
    type Enc<'k> = Box<dyn Fn(&mut Codec, &mut BytesMut, Instant) + 'k>;
    let cases: Vec<(&str, Enc<'_>, &[u8])> = vec![
        (
            "set 16 B key, 32 B value",
            Box::new(|c: &mut Codec, o: &mut BytesMut, n| {
                c.send(&Store::set("user:0000000042a", streams::VALUE_32), o, n)
                    .map(drop)
                    .unwrap()
            }),
            b"STORED\r\n",
        ),
        (
            "gets 100 keys",
            Box::new(|c: &mut Codec, o: &mut BytesMut, n| {
                c.send(&GetMulti::new(&keys).with_cas(), o, n)
                    .map(drop)
                    .unwrap()
            }),
            b"END\r\n",
        ),
        (
            "mg v f c",
            Box::new(|c: &mut Codec, o: &mut BytesMut, n| {
                let mg = MetaGet::new("user:0000000042a")
                    .return_value()
                    .return_client_flags()
                    .return_cas();
                c.send(&mg, o, n).map(drop).unwrap()
            }),
            b"EN\r\n",
        ),
    ];
    for (name, send, reply) in &cases {
        let now = Instant::now();
        let mut codec = Codec::new();
        let mut out = BytesMut::with_capacity(1 << 20);
        let mut input = BytesMut::with_capacity(1 << 16);
        let drain = |codec: &mut Codec, input: &mut BytesMut, n: usize| {
            for _ in 0..n {
                input.extend_from_slice(reply);
            }
            while codec.decode(input, now).expect("valid").is_some() {}
        };
        // Cold: the first command of a new codec into a new buffer.
        let before = counts();
        let mut fresh = BytesMut::new();
        send(&mut codec, &mut fresh, now);
        let cold = counts().0 - before.0;
        drain(&mut codec, &mut input, 1);
        // Steady: batches of 100 commands, drained between batches.
        for _ in 0..20 {
            out.clear();
            for _ in 0..100 {
                send(&mut codec, &mut out, now);
            }
            drain(&mut codec, &mut input, 100);
        }
        let mut steady = 0;
        for _ in 0..100 {
            out.clear();
            let before = counts();
            for _ in 0..100 {
                send(&mut codec, &mut out, now);
            }
            steady += counts().0 - before.0;
            drain(&mut codec, &mut input, 100);
        }
        println!("| {name} | {:.3} | {cold} |", steady as f64 / 10_000.0);
    }
}

fn main() {
    println!("Allocations per response, decoding (steady state, completions dropped).");
    println!();
    println!(
        "| reply | codec allocs, 1 per read | codec bytes | codec allocs, 100 per read \
         | mp Response allocs | mp ResponseBytes allocs |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for row in rows() {
        let (one, one_bytes) = round_trips(&row, 1);
        let (hundred, _) = round_trips(&row, 100);
        let peer = peer_allocs(&row.reply);
        let show = |x: Option<f64>| x.map_or("n/a".to_owned(), |v| format!("{v:.2}"));
        println!(
            "| {} | {one:.3} | {one_bytes:.0} | {hundred:.3} | {} | {} |",
            row.name,
            show(peer.map(|p| p.0)),
            show(peer.map(|p| p.1)),
        );
    }
    encode_rows();
}
