//! Live tests: the codec against a real memcached, through the same blocking and
//! tokio adapters the examples show (`examples/adapters/`).
//!
//! Each test starts its own memcached on a free loopback port (`-p -1`), or uses
//! `MEMCACHED_ADDR`. Without memcached they print "skipped" and pass, unless
//! `CI=true`, where they fail. See `harness.rs`.
//!
//! * `classic`: every classic command and each of its outcomes, noreply with a fence,
//!   binary values, 250-byte keys, the item size limit, a 100-key multi-get.
//! * `meta`: every meta command, its flags and outcomes, quiet batches.
//! * `load`: 100 000 mixed commands, at least 100 in flight, each reply checked
//!   against a client-side model.
//! * `faults`: the server killed mid-pipeline, a stopped server, reconnecting.
//! * `tokio_adapter`: the tokio adapter, including cancel and faults.
//! * `servers`: the probe and what it gates, 64-bit flags, ASCII auth (`-Y`), mixed
//!   quiet pipelines, quiet writes before `quit`.
//! * `admin`: the dumps, slab moves, LRU tuning, a watcher seeing another connection's
//!   sets, `config get cluster`/`refresh_certs` on a stock server, raw commands.

#[allow(dead_code)] // each target uses part of the adapter
#[path = "../../examples/adapters/blocking.rs"]
mod blocking;
#[allow(dead_code)]
#[path = "../../examples/adapters/memcached.rs"]
mod memcached;
#[allow(dead_code)]
#[path = "../../examples/adapters/tokio_client.rs"]
mod tokio_client;

mod harness;

mod admin;
mod classic;
mod faults;
mod load;
mod meta;
mod servers;
mod tokio_adapter;
