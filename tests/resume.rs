//! Resuming instead of rescanning: a partial line or data block continues where it
//! stopped. Counted with `Codec::bytes_examined`, never timed.

use std::time::Instant;

use bytes::BytesMut;
use memcache_codec::command::{Get, GetMulti, MetaGet, Stats};
use memcache_codec::{Codec, Response};

/// Feeds `reply` one byte at a time; returns the responses and the bytes examined.
fn trickle(codec: &mut Codec, reply: &[u8]) -> (Vec<Response>, u64) {
    let now = Instant::now();
    let mut buf = BytesMut::with_capacity(reply.len());
    let mut responses = Vec::new();
    for &b in reply {
        buf.extend_from_slice(&[b]);
        while let Some(done) = codec.decode(&mut buf, now).expect("valid reply") {
            responses.push(done.result.expect("a reply"));
        }
    }
    assert!(buf.is_empty());
    (responses, codec.bytes_examined())
}

#[test]
fn a_mebibyte_value_fed_byte_by_byte_is_examined_at_most_twice() {
    let value: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
    let mut reply = format!("VALUE big 3 {}\r\n", value.len()).into_bytes();
    reply.extend_from_slice(&value);
    reply.extend_from_slice(b"\r\nEND\r\n");

    let mut codec = Codec::new();
    codec
        .send(&Get::new("big"), &mut BytesMut::new(), Instant::now())
        .unwrap();
    let (responses, examined) = trickle(&mut codec, &reply);
    let [Response::Hit(hit)] = &responses[..] else {
        panic!("{responses:?}")
    };
    assert_eq!(hit.data, value);
    assert!(
        examined <= 2 * reply.len() as u64,
        "examined {examined} bytes of {}",
        reply.len()
    );
    // In fact the data block is never searched: the header, the terminator and END.
    assert!(examined < 64, "examined {examined}");

    // The same for a meta value.
    let mut reply = format!("VA {}\r\n", value.len()).into_bytes();
    reply.extend_from_slice(&value);
    reply.extend_from_slice(b"\r\n");
    let mut codec = Codec::new();
    codec
        .send(
            &MetaGet::new("big").return_value(),
            &mut BytesMut::new(),
            Instant::now(),
        )
        .unwrap();
    let (responses, examined) = trickle(&mut codec, &reply);
    assert_eq!(responses.len(), 1);
    assert!(examined < 32, "examined {examined}");
}

#[test]
fn long_lines_fed_byte_by_byte_are_searched_once() {
    // 2000 stats lines with long values, and a 1000-key multi-get, trickled in.
    let mut reply = Vec::new();
    for i in 0..2000 {
        reply.extend_from_slice(format!("STAT name{i} {}\r\n", "v".repeat(200)).as_bytes());
    }
    reply.extend_from_slice(b"END\r\n");
    let mut codec = Codec::new();
    codec
        .send(&Stats::new(), &mut BytesMut::new(), Instant::now())
        .unwrap();
    let (responses, examined) = trickle(&mut codec, &reply);
    assert!(matches!(&responses[..], [Response::Stats(lines)] if lines.len() == 2000));
    assert_eq!(
        examined,
        reply.len() as u64,
        "every byte searched exactly once"
    );

    let keys: Vec<String> = (0..1000).map(|i| format!("key{i}")).collect();
    let mut reply = Vec::new();
    for key in &keys {
        reply.extend_from_slice(format!("VALUE {key} 0 100\r\n{}\r\n", "x".repeat(100)).as_bytes());
    }
    reply.extend_from_slice(b"END\r\n");
    let mut codec = Codec::new();
    codec
        .send(&GetMulti::new(&keys), &mut BytesMut::new(), Instant::now())
        .unwrap();
    let (responses, examined) = trickle(&mut codec, &reply);
    assert!(matches!(&responses[..], [Response::Items(items)] if items.len() == 1000));
    assert!(examined <= 2 * reply.len() as u64);
    // Headers and terminators only: the 100-byte values are never searched.
    assert!(
        examined < reply.len() as u64 / 2,
        "examined {examined} of {}",
        reply.len()
    );
}

/// Feeds `reply` in two reads cut at `cut`; returns the response and the bytes examined.
fn in_two(keys: &[String], reply: &[u8], cut: usize) -> (Response, u64) {
    let now = Instant::now();
    let mut codec = Codec::new();
    codec
        .send(&GetMulti::new(keys).with_cas(), &mut BytesMut::new(), now)
        .unwrap();
    let mut buf = BytesMut::from(&reply[..cut]);
    let mut responses = Vec::new();
    for next in [&reply[cut..], &[][..]] {
        while let Some(done) = codec.decode(&mut buf, now).expect("valid reply") {
            responses.push(done.result.expect("a reply"));
        }
        buf.extend_from_slice(next);
    }
    assert!(buf.is_empty(), "cut at {cut}: {} bytes left", buf.len());
    let [response] = <[Response; 1]>::try_from(responses).expect("one response");
    (response, codec.bytes_examined())
}

#[test]
fn a_multi_key_reply_cut_anywhere_is_examined_as_if_whole() {
    // The fast paths take a buffered item in one step and a cut one into raw mode from
    // its header: whichever runs, the count and the values match the one-read feed.
    let keys: Vec<String> = (0..4).map(|i| format!("key{i}")).collect();
    let mut reply = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let value = "v\r\n".repeat(i * 3);
        reply.extend_from_slice(
            format!("VALUE {key} {i} {} {}\r\n{value}\r\n", value.len(), 100 + i).as_bytes(),
        );
    }
    reply.extend_from_slice(b"END\r\n");
    let (whole, examined) = in_two(&keys, &reply, reply.len());
    let Response::Items(values) = &whole else {
        panic!("{whole:?}")
    };
    assert_eq!(values.len(), 4);
    for cut in 0..reply.len() {
        let (response, cut_examined) = in_two(&keys, &reply, cut);
        assert_eq!(response, whole, "cut at {cut}");
        assert_eq!(cut_examined, examined, "cut at {cut}");
    }
}
