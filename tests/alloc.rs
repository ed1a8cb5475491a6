//! Heap allocations, counted by a global allocator that tallies the current
//! thread's allocations (the test harness's own threads do not disturb it).
//!
//! In steady state (buffers warmed up and reused, values dropped) a single-key
//! response costs no allocation, and encoding allocates nothing beyond buffer growth.
#![allow(unsafe_code)] // a GlobalAlloc impl is unsafe by definition

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Instant;

use bytes::BytesMut;
use memcache_codec::Codec;
use memcache_codec::command::Arithmetic;
use memcache_codec::command::{Command, Get, MetaGet, MetaSet, Store};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: forwarding the caller's layout to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: as for `dealloc`, and `new_size` is the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

/// Runs `rounds` request/response round trips of `command` answered by `reply`,
/// reusing the output and input buffers; returns allocations per round after warm-up.
fn per_round(command: &dyn Command, reply: &[u8]) -> f64 {
    let mut codec = Codec::new();
    let mut out = BytesMut::with_capacity(4096);
    let mut input = BytesMut::with_capacity(4096);
    let now = Instant::now();
    let mut round = |codec: &mut Codec| {
        out.clear();
        codec.send(command, &mut out, now).unwrap();
        input.extend_from_slice(reply);
        let done = codec.decode(&mut input, now).unwrap().unwrap();
        assert!(done.result.is_ok(), "{:?}", done.result);
        drop(done);
        assert!(codec.decode(&mut input, now).unwrap().is_none());
    };
    for _ in 0..1000 {
        round(&mut codec);
    }
    let before = allocations();
    let rounds = 10_000;
    for _ in 0..rounds {
        round(&mut codec);
    }
    (allocations() - before) as f64 / f64::from(rounds)
}

#[test]
fn single_key_responses_allocate_nothing_in_steady_state() {
    let rows: &[(&str, &dyn Command, &[u8])] = &[
        (
            "get hit",
            &Get::new("key:0001"),
            b"VALUE key:0001 0 32\r\n0123456789abcdef0123456789abcdef\r\nEND\r\n",
        ),
        ("get miss", &Get::new("key:0001"), b"END\r\n"),
        (
            "gets hit",
            &Get::new("key:0001").with_cas(),
            b"VALUE key:0001 5 3 99\r\nabc\r\nEND\r\n",
        ),
        (
            "set",
            &Store::set("key:0001", "0123456789abcdef0123456789abcdef"),
            b"STORED\r\n",
        ),
        ("incr", &Arithmetic::incr("counter", 1), b"42\r\n"),
        (
            "mg hit",
            &MetaGet::new("key:0001").return_value(),
            b"VA 3\r\nabc\r\n",
        ),
        ("ms", &MetaSet::new("key:0001", "abc"), b"HD\r\n"),
    ];
    for (name, command, reply) in rows {
        assert_eq!(per_round(*command, reply), 0.0, "{name}");
    }
}

#[test]
fn encoding_allocates_only_when_the_buffer_grows() {
    let mut codec = Codec::new();
    let now = Instant::now();
    let keys: Vec<String> = (0..100).map(|i| format!("key:{i:04}")).collect();
    let mut out = BytesMut::with_capacity(1 << 16);
    let mut input = BytesMut::with_capacity(1 << 16);
    let mut round = |codec: &mut Codec| {
        let sixteen = "0123456789abcdef";
        codec
            .send(
                &Store::set(sixteen, "0123456789abcdef0123456789abcdef"),
                &mut out,
                now,
            )
            .unwrap();
        codec
            .send(
                &memcache_codec::command::GetMulti::new(&keys),
                &mut out,
                now,
            )
            .unwrap();
        codec
            .send(
                &MetaGet::new(sixteen).return_value().opaque("1"),
                &mut out,
                now,
            )
            .unwrap();
        input.extend_from_slice(b"STORED\r\nEND\r\nEN O1\r\n");
        while codec.decode(&mut input, now).unwrap().is_some() {}
        out.clear();
    };
    // Warm the deque and the key store, then measure with capacity to spare.
    for _ in 0..10 {
        round(&mut codec);
    }
    let before = allocations();
    for _ in 0..1000 {
        round(&mut codec);
    }
    assert_eq!(allocations() - before, 0);
}
