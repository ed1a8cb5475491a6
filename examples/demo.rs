//! A short tour of the codec: encode a few commands, then decode the replies
//! memcached 1.6.18 gives them (pieced together from the recorded transcripts in
//! `tests/data`), printing both sides.
//!
//! Run with `cargo run --example demo`.

use std::time::Instant;

use bytes::BytesMut;
use memcache_codec::{Codec, Command, Get, GetMulti, Incr, MetaGet, Stats, Store};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("offline: decoding replies in the shape memcached 1.6.18 recorded for these commands");
    let mut codec = Codec::new();
    let mut out = BytesMut::new();
    let now = Instant::now();
    let keys = ["s_m1", "s_missing", "s_m2"];
    let commands: [&dyn Command; 7] = [
        &Store::set("s_m1", "v1").flags(1),
        &Store::set("s_m2", "v2").flags(2),
        &Get::new("s_m1").with_cas(),
        &GetMulti::new(&keys),
        &Incr::new("s_m1", 1),
        &MetaGet::new("s_m2")
            .return_value()
            .return_client_flags()
            .opaque("7"),
        &Stats::arg("sizes"),
    ];
    for command in commands {
        codec.send(command, &mut out, now)?;
    }
    println!("\n>>> sent {} bytes:\n{}", out.len(), out.escape_ascii());

    let recorded: &[u8] = b"STORED\r\nSTORED\r\nVALUE s_m1 1 2 6\r\nv1\r\n\
        END\r\nVALUE s_m1 1 2\r\nv1\r\nVALUE s_m2 2 2\r\nv2\r\nEND\r\n\
        CLIENT_ERROR cannot increment or decrement non-numeric value\r\n\
        VA 2 f2 O7\r\nv2\r\nSTAT sizes_status disabled\r\nEND\r\n";
    println!(
        "\n<<< received {} bytes:\n{}",
        recorded.len(),
        recorded.escape_ascii()
    );

    // Feed it in 16-byte reads, as a socket might deliver it.
    let mut input = BytesMut::new();
    println!();
    for chunk in recorded.chunks(16) {
        input.extend_from_slice(chunk);
        while let Some(done) = codec.decode(&mut input, now)? {
            println!("command #{}: {:?}", done.token.get(), done.result);
        }
    }
    assert_eq!(codec.pending(), 0);
    Ok(())
}
