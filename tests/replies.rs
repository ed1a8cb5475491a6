//! One row per reply kind: the commands sent, the server's bytes, and the
//! completions expected (exact, nothing masked). Every row is also fed one byte at a
//! time and split at every position, with trailing bytes of a next reply left alone.

mod common;

use common::{codec_with, decode_every_way};
use memcache_codec::command::Arithmetic;
use memcache_codec::command::{
    CacheMemlimit, Command, Delete, Exptime, FlushAll, Get, GetMulti, MetaArithmetic, MetaDelete,
    MetaGet, MetaNoop, MetaSet, Quit, Shutdown, Stats, Store, Touch, Verbosity, Version,
};

fn check(commands: &[&dyn Command], recv: &[u8], expected: &[&str]) {
    let got = decode_every_way(&|| codec_with(commands).0, recv, false, false);
    let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    want.push("End(pending=0, buffered=0)".into());
    assert_eq!(got, want, "recv {:?}", common::text(recv));
}

#[test]
fn single_key_retrieval() {
    let rows: &[(&dyn Command, &[u8], &str)] = &[
        (
            &Get::new("k"),
            b"VALUE k 0 5\r\nhello\r\nEND\r\n",
            "Hit(0 \"hello\")",
        ),
        (&Get::new("k"), b"END\r\n", "Miss"),
        (
            &Get::new("k"),
            b"VALUE k 4294967295 0\r\n\r\nEND\r\n",
            "Hit(4294967295 \"\")",
        ),
        (
            &Get::new("k"),
            b"VALUE k 1 12\r\n\r\nEND\r\nVALUE\r\nEND\r\n",
            "Hit(1 \"\\r\\nEND\\r\\nVALUE\")",
        ),
        (
            &Get::new("k"),
            b"VALUE k 0 3\r\n\x00\xff\n\r\nEND\r\n",
            "Hit(0 \"\\x00\\xff\\n\")",
        ),
        (
            &Get::new("k").with_cas(),
            b"VALUE k 2 1 18446744073709551615\r\nx\r\nEND\r\n",
            "Hit(2 18446744073709551615 \"x\")",
        ),
        (
            &Get::new("k").touch(Exptime::never()),
            b"VALUE k 0 1\r\nx\r\nEND\r\n",
            "Hit(0 \"x\")",
        ),
        (
            &Get::new("k").with_cas().touch(Exptime::expired()),
            b"VALUE k 0 1 7\r\nx\r\nEND\r\n",
            "Hit(0 7 \"x\")",
        ),
        (
            &Get::new("k"),
            b"SERVER_ERROR out of memory writing get response\r\n",
            "Err(SERVER_ERROR out of memory writing get response)",
        ),
    ];
    for (command, recv, expected) in rows {
        check(&[*command], recv, &[expected]);
    }
}

#[test]
fn multi_key_retrieval() {
    let keys = ["a", "b", "a", "c"];
    let rows: &[(&[u8], &str)] = &[
        (b"END\r\n", "Items[]"),
        (
            b"VALUE a 1 1\r\n1\r\nVALUE a 1 1\r\n1\r\nEND\r\n",
            "Items[a 1 \"1\", a 1 \"1\"]",
        ),
        (
            b"VALUE b 0 2\r\nbb\r\nVALUE c 0 0\r\n\r\nEND\r\n",
            "Items[b 0 \"bb\", c 0 \"\"]",
        ),
        (
            b"VALUE a 0 1\r\n1\r\nCLIENT_ERROR bad command line format\r\n",
            "Err(CLIENT_ERROR bad command line format)",
        ),
    ];
    for (recv, expected) in rows {
        check(&[&GetMulti::new(&keys)], recv, &[expected]);
    }
    check(
        &[&GetMulti::new(&keys).with_cas().touch(Exptime::never())],
        b"VALUE c 9 1 5\r\nz\r\nEND\r\n",
        &["Items[c 9 5 \"z\"]"],
    );
}

#[test]
fn single_line_replies() {
    let rows: &[(&dyn Command, &[u8], &str)] = &[
        (&Store::set("k", "v"), b"STORED\r\n", "Stored"),
        (&Store::add("k", "v"), b"NOT_STORED\r\n", "NotStored"),
        (&Store::cas("k", "v", 1), b"EXISTS\r\n", "Exists"),
        (&Store::cas("k", "v", 1), b"NOT_FOUND\r\n", "NotFound"),
        (&Store::replace("k", "v"), b"NOT_STORED\r\n", "NotStored"),
        (&Store::append("k", "v"), b"STORED\r\n", "Stored"),
        (&Store::prepend("k", "v"), b"STORED\r\n", "Stored"),
        (
            &Store::set("k", "v"),
            b"SERVER_ERROR out of memory storing object\r\n",
            "Err(SERVER_ERROR out of memory storing object)",
        ),
        (&Delete::new("k"), b"DELETED\r\n", "Deleted"),
        (&Delete::new("k"), b"NOT_FOUND\r\n", "NotFound"),
        (
            &Touch::new("k", Exptime::never()),
            b"TOUCHED\r\n",
            "Touched",
        ),
        (
            &Touch::new("k", Exptime::never()),
            b"NOT_FOUND\r\n",
            "NotFound",
        ),
        (&Arithmetic::incr("k", 1), b"0\r\n", "Counter(0)"),
        (
            &Arithmetic::incr("k", 1),
            b"18446744073709551615\r\n",
            "Counter(18446744073709551615)",
        ),
        (&Arithmetic::decr("k", 1), b"NOT_FOUND\r\n", "NotFound"),
        (
            &Arithmetic::decr("k", 1),
            b"CLIENT_ERROR cannot increment or decrement non-numeric value\r\n",
            "Err(CLIENT_ERROR cannot increment or decrement non-numeric value)",
        ),
        (&Version, b"VERSION 1.6.18\r\n", "Version(1.6.18)"),
        (
            &Version,
            b"VERSION 1.6.18 with build info\r\n",
            "Version(1.6.18 with build info)",
        ),
        (&Verbosity::new(1), b"OK\r\n", "Ok"),
        (
            &FlushAll::delay(Exptime::in_seconds(10).unwrap()),
            b"OK\r\n",
            "Ok",
        ),
        (
            &FlushAll::new(),
            b"CLIENT_ERROR flush_all not allowed\r\n",
            "Err(CLIENT_ERROR flush_all not allowed)",
        ),
        (&CacheMemlimit::new(64), b"OK\r\n", "Ok"),
        (
            &CacheMemlimit::new(2_000_000_000),
            b"MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n",
            "Err(MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes)",
        ),
        (
            &Shutdown::graceful(),
            b"ERROR: shutdown not enabled\r\n",
            "Err(ERROR shutdown not enabled)",
        ),
        (
            &Shutdown::new(),
            b"SERVER_ERROR: shutdown not enabled\r\n",
            "Err(SERVER_ERROR shutdown not enabled)",
        ),
        (&Version, b"ERROR\r\n", "Err(ERROR)"),
        (
            &Version,
            b"ERROR Too many open connections\r\n",
            "Err(ERROR Too many open connections)",
        ),
    ];
    for (command, recv, expected) in rows {
        check(&[*command], recv, &[expected]);
    }
}

#[test]
fn stats_replies() {
    let rows: &[(&dyn Command, &[u8], &str)] = &[
        (
            &Stats::new(),
            b"STAT pid 1\r\nSTAT version 1.6.18\r\nSTAT rusage_user 0.014915\r\nEND\r\n",
            "Stats[pid=1, version=1.6.18, rusage_user=0.014915]",
        ),
        (&Stats::arg("items"), b"END\r\n", "Stats[]"),
        (
            &Stats::arg("settings"),
            b"STAT domain_socket NULL\r\nSTAT ext path with spaces\r\nSTAT empty \r\nEND\r\n",
            "Stats[domain_socket=NULL, ext=path with spaces, empty=]",
        ),
        (
            &Stats::arg("conns"),
            b"STAT 22:addr tcp:127.0.0.1:21211\r\nEND\r\n",
            "Stats[22:addr=tcp:127.0.0.1:21211]",
        ),
        (&Stats::reset(), b"RESET\r\n", "Reset"),
        (&Stats::arg("reset"), b"RESET\r\n", "Reset"),
        (&Stats::detail(true), b"OK\r\n", "Ok"),
        (&Stats::detail(false), b"OK\r\n", "Ok"),
        (
            &Stats::detail_dump(),
            b"PREFIX user get 3 hit 2 set 1 del 0\r\nPREFIX s get 0 hit 0 set 9 del 1\r\nEND\r\n",
            "DetailDump[user 3 2 1 0, s 0 0 9 1]",
        ),
        (&Stats::detail_dump(), b"END\r\n", "DetailDump[]"),
        (
            &Stats::cachedump(1, 0),
            b"ITEM foo [5 b; 0 s]\r\nITEM bar [1 b; 1795237400 s]\r\nEND\r\n",
            "CacheDump[foo 5 0, bar 1 1795237400]",
        ),
        (&Stats::cachedump(1, 1), b"END\r\n", "CacheDump[]"),
        (
            &Stats::cachedump(1, 1),
            b"CLIENT_ERROR stats cachedump not allowed\r\n",
            "Err(CLIENT_ERROR stats cachedump not allowed)",
        ),
        (&Stats::arg("nosuchthing"), b"ERROR\r\n", "Err(ERROR)"),
    ];
    for (command, recv, expected) in rows {
        check(&[*command], recv, &[expected]);
    }
}

#[test]
fn meta_replies() {
    let rows: &[(&dyn Command, &[u8], &str)] = &[
        (&MetaGet::new("k"), b"HD\r\n", "Meta(HD)"),
        (&MetaGet::new("k"), b"EN\r\n", "Meta(EN)"),
        (
            &MetaGet::new("k").return_value(),
            b"VA 0\r\n\r\n",
            "Meta(VA \"\")",
        ),
        (
            &MetaGet::new("k").return_value(),
            b"VA 7\r\n\r\nEND\r\n\r\n",
            "Meta(VA \"\\r\\nEND\\r\\n\")",
        ),
        (
            &MetaGet::new("k").return_value().return_client_flags(),
            b"VA 8 f3\r\n\r\nVA 1\r\n\r\n",
            "Meta(VA \"\\r\\nVA 1\\r\\n\" [f3])",
        ),
        (
            &MetaGet::new("k").return_value().opaque("o1").return_key(),
            b"VA 1 Oo1 kk W X Z Q7 y\r\nv\r\n",
            "Meta(VA \"v\" [Oo1 kk W X Z Q7 y])",
        ),
        (
            &MetaGet::new("k")
                .return_hit_before()
                .return_last_access()
                .return_size(),
            b"HD h0 l12 s1\r\n",
            "Meta(HD [h0 l12 s1])",
        ),
        // Servers before memcached#880 send a bare EN without the opaque.
        (&MetaGet::new("k").opaque("9"), b"EN\r\n", "Meta(EN)"),
        (&MetaSet::new("k", "v"), b"HD\r\n", "Meta(HD)"),
        (
            &MetaSet::new("k", "v").return_cas(),
            b"NS c0\r\n",
            "Meta(NS [c0])",
        ),
        (
            &MetaSet::new("k", "v").compare_cas(3),
            b"EX\r\n",
            "Meta(EX)",
        ),
        (
            &MetaSet::new("k", "v").compare_cas(3),
            b"NF\r\n",
            "Meta(NF)",
        ),
        (&MetaDelete::new("k"), b"HD\r\n", "Meta(HD)"),
        (
            &MetaDelete::new("k").opaque("x"),
            b"NF Ox\r\n",
            "Meta(NF [Ox])",
        ),
        (
            &MetaArithmetic::new("k").return_value(),
            b"VA 2\r\n10\r\n",
            "Meta(VA \"10\")",
        ),
        (
            &MetaArithmetic::decr("k", 5).return_ttl().return_cas(),
            b"HD t-1 c4\r\n",
            "Meta(HD [t-1 c4])",
        ),
        (&MetaArithmetic::new("k"), b"NS\r\n", "Meta(NS)"),
        (&MetaNoop, b"MN\r\n", "Noop"),
        (
            &memcache_codec::command::MetaDebug::new("k"),
            b"ME k exp=-1 la=3 cas=2 fetch=no cls=1 size=63\r\n",
            "ME(k exp=-1 la=3 cas=2 fetch=no cls=1 size=63)",
        ),
        (
            &memcache_codec::command::MetaDebug::new("k"),
            b"EN\r\n",
            "Miss",
        ),
        (
            &MetaGet::new("k").return_value(),
            b"SERVER_ERROR out of memory\r\n",
            "Err(SERVER_ERROR out of memory)",
        ),
    ];
    for (command, recv, expected) in rows {
        check(&[*command], recv, &[expected]);
    }
}

#[test]
fn typed_meta_fields() {
    let (mut codec, _) = codec_with(&[&MetaGet::new("k")
        .return_value()
        .return_cas()
        .return_client_flags()
        .return_ttl()
        .return_size()
        .return_hit_before()
        .return_last_access()
        .return_key()
        .opaque("op")]);
    let mut buf = bytes::BytesMut::from(&b"VA 2 c9 f7 t-1 s2 h1 l5 kaw== Oop b W Q1\r\nhi\r\n"[..]);
    let done = codec
        .decode(&mut buf, std::time::Instant::now())
        .unwrap()
        .unwrap();
    let meta = done.result.unwrap().into_meta().unwrap();
    assert_eq!(meta.status, memcache_codec::response::MetaStatus::Value);
    assert_eq!(meta.value(), Some(&b"hi"[..]));
    assert_eq!(meta.cas(), Some(9));
    assert_eq!(meta.client_flags(), Some(7));
    assert_eq!(meta.ttl(), Some(memcache_codec::response::Ttl::Never));
    assert_eq!(meta.size(), Some(2));
    assert_eq!(meta.hit_before(), Some(true));
    assert_eq!(meta.last_access(), Some(5));
    // Echoed in base64 (the item was stored with a base64 key): "aw==" is "k".
    assert_eq!(meta.key(), Some(&b"aw=="[..]));
    assert_eq!(meta.opaque(), Some(&b"op"[..]));
    assert!(meta.key_is_base64() && meta.won() && !meta.stale() && !meta.win_sent());
    assert_eq!(meta.flag(b'Q'), Some(&b"1"[..]));
    assert_eq!(meta.flag(b'z'), None);
}

#[test]
fn pipelined_replies_and_trailing_bytes() {
    let keys = ["a", "b"];
    let commands: &[&dyn Command] = &[
        &Store::set("a", "1"),
        &GetMulti::new(&keys),
        &Arithmetic::incr("a", 1),
        &Get::new("a"),
        &MetaNoop,
    ];
    check(
        commands,
        b"STORED\r\nVALUE a 0 1\r\n1\r\nVALUE b 0 1\r\n2\r\nEND\r\n2\r\nVALUE a 0 1\r\n2\r\nEND\r\nMN\r\n",
        &["Stored", "Items[a 0 \"1\", b 0 \"2\"]", "Counter(2)", "Hit(0 \"2\")", "Noop"],
    );
    // Bytes of a reply to a command not yet sent stay in the buffer, untouched.
    let (mut codec, _) = codec_with(&[&Get::new("a")]);
    let mut buf = bytes::BytesMut::from(&b"END\r\nSTORED\r\nSTO"[..]);
    let now = std::time::Instant::now();
    assert!(codec.decode(&mut buf, now).unwrap().is_some());
    assert!(matches!(
        codec.decode(&mut buf, now),
        Err(memcache_codec::ConnectionError::Decode(
            memcache_codec::DecodeError::Unsolicited { byte: b'S' }
        ))
    ));
    assert_eq!(&buf[..], b"STORED\r\nSTO");
}

#[test]
fn values_are_zero_copy_slices_of_the_read_buffer() {
    let keys = ["a", "b"];
    let (mut codec, _) = codec_with(&[&GetMulti::new(&keys), &Get::new("c")]);
    let mut buf = bytes::BytesMut::with_capacity(256);
    buf.extend_from_slice(
        b"VALUE a 0 3\r\nxyz\r\nVALUE b 0 2\r\nuv\r\nEND\r\nVALUE c 0 1\r\nw\r\nEND\r\n",
    );
    let range = buf.as_ptr() as usize..buf.as_ptr() as usize + buf.len();
    let now = std::time::Instant::now();
    let items = codec
        .decode(&mut buf, now)
        .unwrap()
        .unwrap()
        .result
        .unwrap()
        .into_items()
        .unwrap();
    let single = codec
        .decode(&mut buf, now)
        .unwrap()
        .unwrap()
        .result
        .unwrap()
        .into_hit()
        .unwrap();
    let second = items.get(1).unwrap();
    let owned = items.clone().into_vec();
    for bytes in [
        items.get(0).unwrap().key,
        items.get(0).unwrap().data,
        second.key,
        second.data,
        &second.data_bytes()[..],
        &owned[1].key[..],
        &owned[1].value.data[..],
        &single.data[..],
    ] {
        assert!(
            range.contains(&(bytes.as_ptr() as usize)),
            "not a view of the read buffer"
        );
    }
    assert_eq!(second.data, b"uv");
    assert_eq!(owned[1].value.data, second.data_bytes());
}

#[test]
fn quit_completes_at_end_of_stream() {
    let (mut codec, _) = codec_with(&[&Get::new("a"), &Quit]);
    let mut buf = bytes::BytesMut::from(&b"END\r\n"[..]);
    let now = std::time::Instant::now();
    assert_eq!(
        common::shape_with(&codec.decode(&mut buf, now).unwrap().unwrap(), false),
        "Miss"
    );
    assert!(codec.decode(&mut buf, now).unwrap().is_none());
    codec.handle_eof();
    assert_eq!(
        common::shape_with(&codec.decode(&mut buf, now).unwrap().unwrap(), false),
        "Closed"
    );
    assert_eq!(
        codec.decode(&mut buf, now),
        Err(memcache_codec::ConnectionError::Closed)
    );
}
