//! Connection-level tests of the model: chunking, closing, reply timing,
//! robustness on arbitrary input.

use crate::{Options, ParseResult, Server, parse_request};

fn run(server: &mut Server, input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    server.feed(input, &mut out);
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// What the model answers to `input`, as text (for the command modules' tests).
pub(crate) fn reply_text(server: &mut Server, input: &[u8]) -> String {
    text(&run(server, input))
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// A pipeline of valid and invalid commands, none of which depends on how
/// the input is cut (no failed get after other commands, no watch or
/// metadump, no line over 2 KiB, no incr right after a second fetch).
const PIPELINE: &[u8] = b"set a 0 0 5\r\nhello\r\nget a nope a\r\ngets a\r\nadd a 0 0 1\r\nx\r\n\
replace b 1 0 1\r\ny\r\nappend a 0 0 3\r\n!!!\r\nprepend a 0 0 1\r\n<\r\nget a\r\n\
set n 5 0 3\r\n100\r\ndecr n 1\r\nincr n 10\r\ndelete n 0\r\ndelete n\r\ntouch a 100\r\n\
cas a 0 0 1 999\r\nz\r\nset bad 0 0 3\r\nabcde\r\nset k 0 0 x\r\ny\r\nflush_all 0 noreply\r\n\
mg a v\r\nms m 3 T100 F5 c k O42\r\nabc\r\nmg m s v f t c k O1 q\r\nmg nope v q k\r\nmd m q\r\n\
md m k O3\r\nma c N0 J41 v\r\nma c MD D2 t c\r\nme c\r\nme nope\r\nmn\r\nverbosity 1\r\n\
version\r\nstats detail on\r\nget p:x\r\nstats detail dump\r\nGET\r\n\r\nms z 2 MZ\r\nzz\r\nmn\r\n";

#[test]
fn chunking_does_not_change_the_output() {
    let whole = run(&mut Server::new(), PIPELINE);
    let mut bytewise = Server::new();
    let mut out = Vec::new();
    for b in PIPELINE {
        bytewise.feed(std::slice::from_ref(b), &mut out);
    }
    assert_eq!(text(&out), text(&whole));
    let mut rng = Rng(7);
    for _ in 0..50 {
        let mut server = Server::new();
        let mut out = Vec::new();
        let mut rest = PIPELINE;
        while !rest.is_empty() {
            let n = 1 + rng.below(40).min(rest.len() - 1);
            server.feed(&rest[..n], &mut out);
            rest = &rest[n..];
        }
        assert_eq!(text(&out), text(&whole));
    }
    assert!(text(&whole).ends_with("CLIENT_ERROR invalid mode for ms M token\r\nMN\r\n"));
}

#[test]
fn closing_rules() {
    let mut s = Server::new();
    assert_eq!(
        run(&mut s, b"set a 0 0 1\r\nx\r\nget a\r\nquit\r\nget a\r\n"),
        b"STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n"
    );
    assert!(s.is_closed());
    assert_eq!(run(&mut s, b"get a\r\n"), b"");
    s.reconnect();
    assert!(!s.is_closed());
    // a last token starting with HTTP/ closes at once: queued replies are lost
    assert_eq!(
        run(&mut s, b"version\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        b""
    );
    assert!(s.is_closed());
    s.reconnect();
    // a known command is not checked for HTTP/
    assert_eq!(run(&mut s, b"get / HTTP/1.1\r\n"), b"END\r\n");
    // more than 2048 bytes without a newline
    let mut long = b"set ".to_vec();
    long.extend(std::iter::repeat_n(b'a', 3000));
    assert_eq!(run(&mut s, &long), b"");
    assert!(s.is_closed());
    // ... but a 3000-byte line that arrives whole is fine
    s.reconnect();
    long.extend_from_slice(b" 0 0 1\r\nx\r\nversion\r\n");
    assert_eq!(
        text(&run(&mut s, &long)),
        "CLIENT_ERROR bad command line format\r\nERROR\r\nVERSION 1.6.18\r\n"
    );
    // ... unless it does not fit the 16 KiB read buffer
    let mut huge = b"set ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 20000));
    huge.extend_from_slice(b" 0 0 1\r\n");
    assert_eq!(run(&mut s, &huge), b"");
    assert!(s.is_closed());
    // get/gets lines are exempt, whatever the length
    s.reconnect();
    let mut get = b"gets ".to_vec();
    for _ in 0..8000 {
        get.extend_from_slice(b"k ");
    }
    let mut out = Vec::new();
    for chunk in get.chunks(1000) {
        s.feed(chunk, &mut out);
    }
    assert!(out.is_empty() && !s.is_closed());
    s.feed(b"\r\n", &mut out);
    assert_eq!(out, b"END\r\n");
    // but not gat
    let mut gat = b"gat 0 ".to_vec();
    gat.extend(std::iter::repeat_n(b'k', 2100));
    assert_eq!(run(&mut s, &gat), b"");
    assert!(s.is_closed());
    // the binary protocol is not modelled: the connection is closed
    s.reconnect();
    assert_eq!(run(&mut s, b"\x80\x0b\x00\x00"), b"");
    assert!(s.is_closed());
}

#[test]
fn get_line_buffer_is_capped() {
    let mut s = Server::with_options(Options {
        max_read_buffer: 64 * 1024,
        ..Options::default()
    });
    let mut get = b"get ".to_vec();
    get.extend(std::iter::repeat_n(b'k', 100_000));
    assert_eq!(
        text(&run(&mut s, &get)),
        "SERVER_ERROR out of memory reading request\r\n"
    );
    assert!(s.is_closed());
}

#[test]
fn special_servers() {
    let mut full = Server::with_options(Options {
        max_connections_reached: true,
        ..Options::default()
    });
    assert!(full.is_closed());
    assert_eq!(run(&mut full, b""), b"ERROR Too many open connections\r\n");
    assert_eq!(run(&mut full, b"version\r\n"), b"");

    let mut s = Server::new();
    assert_eq!(
        run(&mut s, b"shutdown\r\nshutdown graceful\r\n"),
        b"ERROR: shutdown not enabled\r\nERROR: shutdown not enabled\r\n"
    );
    let mut s = Server::with_options(Options {
        shutdown_enabled: true,
        ..Options::default()
    });
    assert_eq!(
        run(
            &mut s,
            b"shutdown now\r\nversion\r\nshutdown\r\nversion\r\n"
        ),
        b""
    );
    assert!(s.is_closed() && s.is_shut_down());
    s.reconnect();
    assert!(s.is_closed());
}

#[test]
fn replies_wait_for_the_data_block() {
    let mut s = Server::new();
    // memcached writes nothing while it waits for the rest of a data block
    assert_eq!(run(&mut s, b"version\r\nset a 0 0 10\r\nhello"), b"");
    assert_eq!(run(&mut s, b"world\r\n"), b"VERSION 1.6.18\r\nSTORED\r\n");
    // a too-large value is swallowed as it arrives, the error comes at the end
    let mut out = run(&mut s, b"set big 0 0 2000000\r\n");
    for _ in 0..20 {
        out.extend(run(&mut s, &[b'z'; 100_000]));
    }
    assert!(out.is_empty());
    assert_eq!(
        text(&run(&mut s, b"\r\nget big\r\n")),
        "SERVER_ERROR object too large for cache\r\nEND\r\n"
    );
}

#[test]
fn failed_get_drops_queued_replies() {
    let long = "k".repeat(251);
    let mut s = Server::new();
    let input = format!("set s_ok 0 0 1\r\nx\r\nget s_ok {long}\r\n");
    assert_eq!(
        text(&run(&mut s, input.as_bytes())),
        "CLIENT_ERROR bad command line format\r\n"
    );
    // a successful get writes what was queued before it
    let input = format!("version\r\nget s_ok\r\nmg s_ok v\r\nget {long}\r\n");
    assert_eq!(
        text(&run(&mut s, input.as_bytes())),
        "VERSION 1.6.18\r\nVALUE s_ok 0 1\r\nx\r\nEND\r\nCLIENT_ERROR bad command line format\r\n"
    );
    // memcached yields (and writes) every 21 commands
    let input = format!("{}get {long}\r\n", "version\r\n".repeat(21));
    assert_eq!(
        text(&run(&mut s, input.as_bytes())),
        format!(
            "{}CLIENT_ERROR bad command line format\r\n",
            "VERSION 1.6.18\r\n".repeat(21)
        )
    );
}

#[test]
fn watch_and_metadump() {
    let mut s = Server::new();
    assert_eq!(
        text(&run(&mut s, b"version\r\nwatch\r\n")),
        "VERSION 1.6.18\r\nERROR cannot pipeline other commands before watch\r\n"
    );
    assert_eq!(text(&run(&mut s, b"watch bogus\r\n")), "ERROR\r\n");
    assert_eq!(
        text(&run(&mut s, b"watch fetchers\r\nversion\r\n")),
        "OK\r\n"
    );
    assert_eq!(run(&mut s, b"version\r\n"), b"");
    s.reconnect();
    assert_eq!(
        text(&run(&mut s, b"set a:b 0 100 2\r\nxy\r\n")),
        "STORED\r\n"
    );
    let dump = text(&run(&mut s, b"lru_crawler metadump all\r\nversion\r\n"));
    assert_eq!(
        dump,
        "key=a%3Ab exp=1700000100 la=1700000000 cas=1 fetch=no cls=1 size=64\nEND\r\n"
    );
    // input after a metadump waits for the next read
    assert_eq!(text(&run(&mut s, b"mn\r\n")), "VERSION 1.6.18\r\nMN\r\n");
    assert_eq!(
        text(&run(&mut s, b"lru_crawler metadump 0\r\n")),
        "BADCLASS invalid class id\r\n"
    );
    assert_eq!(
        text(&run(&mut s, b"stats cachedump 1 0\r\n")),
        "ITEM a:b [2 b; 1700000100 s]\r\nEND\r\n"
    );
}

#[test]
fn stats_shapes() {
    let mut s = Server::new();
    let out = text(&run(&mut s, b"set a 0 0 1\r\nx\r\nstats\r\n"));
    assert!(out.starts_with("STORED\r\nSTAT pid "));
    assert!(out.contains("STAT curr_items 1\r\n") && out.contains("STAT cmd_set 1\r\n"));
    assert!(out.ends_with("STAT lru_bumps_dropped 0\r\nEND\r\n"));
    let out = text(&run(&mut s, b"stats settings\r\n"));
    assert!(
        out.contains("STAT item_size_max 1048576\r\n")
            && out.ends_with("STAT memory_file (null)\r\nEND\r\n")
    );
    let out = text(&run(&mut s, b"stats items\r\n"));
    assert!(
        out.starts_with("STAT items:1:number 1\r\n")
            && out.ends_with("STAT items:1:hits_to_temp 0\r\nEND\r\n")
    );
    let out = text(&run(&mut s, b"stats slabs\r\n"));
    assert!(
        out.starts_with("STAT 1:chunk_size 96\r\n")
            && out.ends_with("STAT active_slabs 1\r\nSTAT total_malloced 1048576\r\nEND\r\n")
    );
    assert_eq!(
        text(&run(&mut s, b"stats sizes\r\n")),
        "STAT sizes_status disabled\r\nEND\r\n"
    );
    assert_eq!(
        text(&run(&mut s, b"stats sizes_enable\r\n")),
        "STAT sizes_status enabled\r\n"
    );
    assert_eq!(text(&run(&mut s, b"set b 0 0 100\r\n")).len(), 0);
    run(&mut s, &[b'v'; 100]);
    assert_eq!(text(&run(&mut s, b"\r\n")), "STORED\r\n");
    assert_eq!(
        text(&run(&mut s, b"stats sizes\r\n")),
        "STAT 160 1\r\nEND\r\n"
    );
    assert_eq!(
        text(&run(
            &mut s,
            b"stats reset\r\nstats bogus\r\nstats detail\r\n"
        )),
        "RESET\r\nERROR\r\nCLIENT_ERROR usage: stats detail on|off|dump\r\n"
    );
    assert_eq!(
        text(&run(
            &mut s,
            b"stats cachedump 1\r\nstats cachedump x 1\r\nstats cachedump 64 1\r\n"
        )),
        "CLIENT_ERROR bad command line\r\nCLIENT_ERROR bad command line format\r\nCLIENT_ERROR Illegal slab id\r\n"
    );
    let out = text(&run(&mut s, b"stats conns\r\n"));
    assert!(
        out.contains(":state conn_listening\r\n")
            && out.ends_with(":state conn_parse_cmd\r\nSTAT 24:secs_since_last_cmd 0\r\nEND\r\n")
    );
}

#[test]
fn admin_commands() {
    let mut s = Server::new();
    let cases: &[(&str, &str)] = &[
        ("cache_memlimit 100\r\n", "OK\r\n"),
        (
            "cache_memlimit 1\r\n",
            "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n",
        ),
        (
            "cache_memlimit 4294967296\r\n",
            "MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n",
        ),
        (
            "cache_memlimit 2000000000\r\n",
            "MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes\r\n",
        ),
        (
            "cache_memlimit abc\r\ncache_memlimit abc noreply\r\n",
            "ERROR\r\n",
        ),
        (
            "verbosity\r\nverbosity x\r\nverbosity 1 2\r\n",
            "ERROR\r\nCLIENT_ERROR bad command line format\r\nOK\r\n",
        ),
        (
            "slabs reassign 1 1\r\nslabs reassign 0 70\r\nslabs reassign 1 2\r\n",
            "SAME src and dst class are identical\r\nBADCLASS invalid src or dst class id\r\nNOSPARE source class has no spare pages\r\n",
        ),
        (
            "slabs automove 9\r\nslabs automove 1\r\nslabs automove x\r\nslabs\r\n",
            "ERROR\r\nOK\r\nCLIENT_ERROR bad command line format\r\nERROR\r\n",
        ),
        (
            "lru tune 50 50 0.1 2.0\r\nlru mode flat\r\nlru temp_ttl -1\r\nlru bogus\r\n",
            "ERROR hot and warm pcts must not exceed 80\r\nOK\r\nOK\r\nERROR\r\n",
        ),
        (
            "lru_crawler crawl all\r\nlru_crawler crawl 0\r\nlru_crawler sleep 2000000\r\nlru_crawler enable\r\n",
            "OK\r\nBADCLASS invalid class id\r\nCLIENT_ERROR sleep must be one second or less\r\nERROR failed to start lru crawler thread\r\n",
        ),
        (
            "lru_crawler disable\r\nlru_crawler crawl all\r\nlru_crawler enable\r\n",
            "OK\r\nERROR an unknown error happened\r\nERROR failed to start lru crawler thread\r\n",
        ),
        (
            "lru_crawler enable\r\nlru_crawler crawl all\r\n",
            "OK\r\nOK\r\n",
        ),
        (
            "extstore item_size 5\r\nextstore\r\nextstore foo bar\r\n",
            "OK\r\nERROR\r\nERROR\r\n",
        ),
        (
            "refresh_certs\r\nmisbehave\r\n",
            "Error TLS not enabled\r\nERROR\r\n",
        ),
        (
            "delete\r\ntouch a\r\nincr a\r\nmg\r\nms\r\nmd\r\nma\r\nmx\r\nm\r\n",
            "ERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\n",
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(text(&run(&mut s, input.as_bytes())), *expected, "{input:?}");
    }
}

/// Command-ish garbage for the robustness tests.
fn noise(rng: &mut Rng) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "set",
        "get",
        "gets",
        "gat",
        "cas",
        "incr",
        "decr",
        "append",
        "delete",
        "touch",
        "mg",
        "ms",
        "md",
        "ma",
        "me",
        "mn",
        "stats",
        "flush_all",
        "watch",
        "lru_crawler",
        "metadump",
        "quit",
        "k",
        "kk",
        "0",
        "1",
        "-1",
        "5",
        "99999999999",
        "noreply",
        "v",
        "q",
        "k",
        "O1",
        "T10",
        "N5",
        "MA",
        "b",
        "YQ==",
        "c",
        "I",
        "C1",
        "\r\n",
        "\r\n",
        "\n",
        " ",
        "  ",
        "\t",
        "\0",
        "\u{80}",
        "HTTP/1.1",
        "all",
        "slabs",
        "items",
        "1",
        "2",
        "D5",
        "J3",
        "R9",
    ];
    let mut v = Vec::new();
    for _ in 0..rng.below(60) {
        if rng.below(10) == 0 {
            v.push(rng.next() as u8);
        } else {
            v.extend_from_slice(rng.pick(WORDS).as_bytes());
            v.push(b' ');
        }
    }
    v
}

#[test]
fn arbitrary_input_never_panics() {
    let mut rng = Rng(0x5eed);
    let mut server = Server::new();
    for round in 0..3000 {
        let input = noise(&mut rng);
        let mut out = Vec::new();
        let mut rest = &input[..];
        while !rest.is_empty() {
            let n = 1 + rng.below(rest.len());
            server.feed(&rest[..n], &mut out);
            rest = &rest[n..];
        }
        let _ = parse_request(&input);
        if round % 7 == 0 {
            server.advance(rng.below(100) as u64);
        }
        if server.is_closed() || rng.below(5) == 0 {
            server.reconnect();
        }
    }
}

#[test]
fn parse_request_frames_like_the_server() {
    /// A request, its data block, and the bytes it takes.
    type Case = (&'static [u8], Option<&'static [u8]>, usize);
    let cases: &[Case] = &[
        (b"set k 0 0 1\r\nx\r\n", Some(b"x"), 16),
        (b"set k 0 0 1 noreply\r\nx\r\n", Some(b"x"), 24),
        (b"cas k 0 0 1 5\r\nx\r\n", Some(b"x"), 18),
        (b"cas k 0 0 1 abc\r\nx\r\n", None, 17),
        (b"set k 0 0\r\nx\r\n", None, 11),
        (b"set k x 0 1\r\nx\r\n", None, 13),
        (b"set k 0 0 -1\r\nx\r\n", None, 14),
        (b"set k 0 0 4294967297\r\nx\r\n", Some(b"x"), 25),
        (b"ms k 1 T5\r\nx\r\n", Some(b"x"), 14),
        (b"ms k 1 Y\r\nx\r\n", Some(b"x"), 13),
        (b"ms k S1\r\nx\r\n", None, 9),
        (b"ms k\r\n", None, 6),
        (b"get a b\r\n", None, 9),
        (b"version\n", None, 8),
    ];
    for (input, data, consumed) in cases {
        let ParseResult::Request {
            request,
            consumed: c,
        } = parse_request(input)
        else {
            panic!("{:?}: not a request", text(input));
        };
        assert_eq!(request.data, *data, "{:?}", text(input));
        assert_eq!(c, *consumed, "{:?}", text(input));
        // the server consumed the same bytes: it waits for a new command
        let mut server = Server::new();
        run(&mut server, &input[..c]);
        assert_eq!(
            text(&run(&mut server, b"mn\r\n")),
            "MN\r\n",
            "{:?}",
            text(input)
        );
    }
    let ParseResult::Request { request, .. } = parse_request(b"  get  a\tb   c\0d\r\n") else {
        panic!("not a request")
    };
    assert_eq!(request.command, b"get");
    assert_eq!(request.args, [&b"a\tb"[..], b"c"]);
}

#[test]
fn extreme_options_and_clocks_never_panic() {
    let variants = [
        Options {
            start_time: u64::MAX,
            item_size_max: 0,
            memory_limit_mb: 0,
            max_read_buffer: 0,
            ..Options::default()
        },
        Options {
            start_time: 0,
            item_size_max: usize::MAX,
            memory_limit_mb: u64::MAX,
            max_read_buffer: usize::MAX,
            cas_enabled: false,
            flush_enabled: false,
            dump_enabled: false,
            watch_enabled: false,
            ..Options::default()
        },
    ];
    let mut rng = Rng(99);
    for opts in variants {
        let mut server = Server::with_options(opts);
        for round in 0..500 {
            match round % 50 {
                0 => server.set_time(0),
                10 => server.set_time(u64::MAX),
                20 => server.advance(u64::MAX),
                30 => server.set_time(1_000_000),
                _ => {}
            }
            let input = noise(&mut rng);
            let mut out = Vec::new();
            server.feed(&input, &mut out);
            if server.is_closed() {
                server.reconnect();
            }
        }
    }
}

#[test]
fn memory_limit_evicts_old_items() {
    let mut s = Server::with_options(Options {
        memory_limit_mb: 1,
        ..Options::default()
    });
    let value = vec![b'x'; 100_000];
    for i in 0..30 {
        let mut input = format!("set k{i} 0 0 {}\r\n", value.len()).into_bytes();
        input.extend_from_slice(&value);
        input.extend_from_slice(b"\r\n");
        assert_eq!(run(&mut s, &input), b"STORED\r\n");
    }
    assert!(s.item_count() < 30);
    assert_eq!(text(&run(&mut s, b"get k0\r\n")), "END\r\n");
    assert!(text(&run(&mut s, b"mg k29 s\r\n")).starts_with("HD s100000"));
    assert!(text(&run(&mut s, b"stats\r\n")).contains("STAT evictions "));
}

fn at(major: u16, minor: u16, patch: u16) -> Server {
    Server::with_options(Options {
        version: crate::Version::new(major, minor, patch),
        ..Options::default()
    })
}

#[test]
fn version_answers_the_profile() {
    assert_eq!(
        text(&run(&mut Server::new(), b"version\r\n")),
        "VERSION 1.6.18\r\n"
    );
    assert_eq!(
        text(&run(
            &mut Server::with_options(Options::latest(false)),
            b"version\r\n"
        )),
        "VERSION 1.6.45\r\n"
    );
    assert!(crate::Version::new(1, 6, 9) < crate::Version::V1_6_18);
    assert!(crate::Version::new(1, 6, 100) > crate::Version::LATEST);
    assert_eq!(crate::Version::default(), crate::Version::V1_6_18);
    let stats = text(&run(&mut at(1, 6, 27), b"stats\r\n"));
    assert!(stats.contains("STAT version 1.6.27\r\n"), "{stats}");
}

#[test]
#[should_panic(expected = "1.6.22")]
fn large_client_flags_need_1_6_22() {
    let _ = Server::with_options(Options {
        large_client_flags: true,
        ..Options::default()
    });
}

#[test]
fn stats_settings_follow_the_profile() {
    let settings = |s: &mut Server| text(&run(s, b"stats settings\r\n"));
    let old = settings(&mut Server::new());
    assert!(!old.contains("client_flags_size"));
    assert!(old.contains("STAT auth_enabled_ascii no\r\n"));
    assert!(old.contains("STAT binding_protocol auto-negotiate\r\n"));
    assert!(old.contains("STAT slab_automove_window 30\r\n"));
    assert!(old.contains("STAT num_napi_ids (null)\r\n"));
    assert!(settings(&mut at(1, 6, 22)).ends_with("STAT client_flags_size 4\r\nEND\r\n"));
    let new = settings(&mut Server::with_options(Options::latest(true)));
    assert!(new.ends_with("STAT memory_file (null)\r\nSTAT client_flags_size 8\r\nEND\r\n"));
    assert!(new.contains("STAT slab_automove_window 10\r\n"));
    assert!(new.contains("STAT num_napi_ids 0\r\n"));
    let stats = text(&run(
        &mut Server::with_options(Options::latest(false)),
        b"stats\r\n",
    ));
    assert!(stats.contains(
        "STAT slab_reassign_busy_nomem 0\r\nSTAT slab_reassign_last_busy_status none\r\n"
    ));
    assert!(!stats.contains("slab_reassign_evictions_nomem"));
}

fn auth_server() -> Server {
    Server::with_options(Options {
        auth: crate::AsciiAuth::parse("/etc/memcached.auth", "alice:secret\nbob:pw\n"),
        ..Options::default()
    })
}

#[test]
fn ascii_auth() {
    let mut s = auth_server();
    assert_eq!(
        text(&run(&mut s, b"version\r\n")),
        "CLIENT_ERROR unauthenticated\r\n"
    );
    assert_eq!(
        text(&run(&mut s, b"set a 0 0 11\r\nalice wrong\r\n")),
        "CLIENT_ERROR authentication failure\r\n"
    );
    // replies before authentication replace each other until written
    assert_eq!(
        text(&run(
            &mut s,
            b"set a 0 0 11\r\nalice wrong\r\nset k 0 0 5\r\nhello\r\nget k\r\n"
        )),
        "CLIENT_ERROR unauthenticated\r\n"
    );
    assert_eq!(
        text(&run(&mut s, b"set a 0 0 5\r\nalice\r\n")),
        "CLIENT_ERROR bad authentication token format\r\n"
    );
    // credentials split across reads
    assert_eq!(text(&run(&mut s, b"set a 0 0 12\r\nali")), "");
    assert_eq!(
        text(&run(&mut s, b"ce secret\r\nset k 0 0 1\r\nx\r\nget k\r\n")),
        "STORED\r\nSTORED\r\nVALUE k 0 1\r\nx\r\nEND\r\n"
    );
    let stats = text(&run(&mut s, b"stats\r\nstats settings\r\n"));
    assert!(
        stats.contains("STAT auth_cmds 3\r\nSTAT auth_errors 2\r\n"),
        "{stats}"
    );
    assert!(stats.contains("STAT binding_protocol ascii\r\n"));
    assert!(stats.contains("STAT auth_enabled_ascii /etc/memcached.auth\r\n"));
    // a new connection starts unauthenticated; the store is shared
    s.reconnect();
    assert_eq!(
        text(&run(
            &mut s,
            b"get k\r\n\x80\r\nset a 0 0 6\r\nbob pw\r\nget k\r\n"
        )),
        "STORED\r\nVALUE k 0 1\r\nx\r\nEND\r\n"
    );
    // a long line without a newline closes
    s.reconnect();
    run(&mut s, &[b'x'; 3000]);
    assert!(s.is_closed());
    assert_eq!(crate::AsciiAuth::parse("f", "no colon\n"), None);
}

#[test]
fn elasticache_config_get_cluster() {
    let cluster = crate::ClusterConfig {
        version: 12,
        nodes: vec![
            ("a.cache.amazonaws.com".into(), "10.0.0.1".into(), 11211),
            ("b.cache.amazonaws.com".into(), "10.0.0.2".into(), 11212),
        ],
    };
    let body = "12\na.cache.amazonaws.com|10.0.0.1|11211 b.cache.amazonaws.com|10.0.0.2|11212\n";
    let want = format!("CONFIG cluster 0 {}\r\n{body}\r\nEND\r\n", body.len());
    let mut s = Server::with_options(Options {
        elasticache_cluster: Some(cluster),
        ..Options::default()
    });
    assert_eq!(text(&run(&mut s, b"config get cluster\r\n")), want);
    assert_eq!(
        text(&run(&mut s, b"config get other\r\nconfig\r\n")),
        "ERROR\r\nERROR\r\n"
    );
    assert_eq!(
        text(&run(&mut Server::new(), b"config get cluster\r\n")),
        "ERROR\r\n"
    );
}

#[test]
fn watch_log_lines_are_injected() {
    let mut s = Server::new();
    assert!(!s.watch_log(b"dropped"));
    assert_eq!(text(&run(&mut s, b"watch fetchers\r\nget k\r\n")), "OK\r\n");
    assert!(s.is_watching());
    assert!(s.watch_log(b"ts=1.0 gid=1 type=item_get key=k status=not_found clsid=0 cfd=22"));
    assert!(s.watch_log(b"ts=1.1 gid=2 type=item_get key=k status=found clsid=1 cfd=22"));
    assert_eq!(
        text(&run(&mut s, b"")),
        "ts=1.0 gid=1 type=item_get key=k status=not_found clsid=0 cfd=22\n\
         ts=1.1 gid=2 type=item_get key=k status=found clsid=1 cfd=22\n"
    );
    assert_eq!(text(&run(&mut s, b"version\r\n")), "");
    s.reconnect();
    assert!(!s.is_watching());
    // deletions exists from 1.6.20
    assert_eq!(text(&run(&mut s, b"watch deletions\r\n")), "ERROR\r\n");
    assert_eq!(
        text(&run(&mut at(1, 6, 20), b"watch deletions\r\n")),
        "OK\r\n"
    );
}

#[test]
fn dumps_follow_the_profile() {
    let input = b"set a 7 0 1\r\nx\r\nms YjEx 1 b\r\ny\r\n";
    let dumps = |s: &mut Server| {
        run(s, input);
        let meta = text(&run(s, b"lru_crawler metadump 1\r\n"));
        let mg = text(&run(s, b"lru_crawler mgdump 1\r\n"));
        (meta, mg)
    };
    let (meta, mg) = dumps(&mut Server::new());
    assert!(
        meta.starts_with("key=a exp=-1 la=") && meta.contains(" size=65\nkey=b11 "),
        "{meta}"
    );
    assert_eq!(mg, "ERROR\r\n");
    let (meta, mg) = dumps(&mut at(1, 6, 24));
    assert!(
        meta.contains(" size=65 flags=7\nkey=b11 ") && meta.ends_with("flags=0\nEND\r\n"),
        "{meta}"
    );
    assert_eq!(mg, "mg a\r\nmg YjEx b\r\nEN\r\n");
    let (meta, mg) = dumps(&mut at(1, 6, 43));
    assert!(
        meta.starts_with("OK\r\nkey=a ") && meta.ends_with("flags=0 \nEND\r\n"),
        "{meta}"
    );
    assert_eq!(mg, "OK\r\nmg a\r\nmg YjEx b\r\nEN\r\n");
    let mut s = at(1, 6, 19);
    assert_eq!(
        text(&run(
            &mut s,
            b"set q 0 0 1\r\nx\r\nlru_crawler mgdump all\r\nlru_crawler mgdump 99\r\n"
        )),
        "STORED\r\nERROR cannot pipeline other commands before mgdump\r\n\
         ERROR cannot pipeline other commands before mgdump\r\n"
    );
    assert_eq!(
        text(&run(&mut s, b"lru_crawler mgdump 99\r\n")),
        "BADCLASS invalid class id\r\n"
    );
    let mut x = Server::with_options(Options {
        dump_enabled: false,
        ..Options::latest(false)
    });
    assert_eq!(
        text(&run(&mut x, b"lru_crawler mgdump all\r\n")),
        "ERROR key dump not allowed\r\n"
    );
}

#[test]
fn crawler_busy_and_disabled() {
    let mut s = Server::new();
    assert_eq!(
        text(&run(
            &mut s,
            b"lru_crawler crawl all\r\nlru_crawler crawl 1\r\nlru_crawler crawl 99\r\n"
        )),
        "OK\r\nBUSY currently processing crawler request\r\nBADCLASS invalid class id\r\n"
    );
    // the crawl is over by the next read
    assert_eq!(text(&run(&mut s, b"lru_crawler crawl 1\r\n")), "OK\r\n");
    // disable stops the thread after the read event
    assert_eq!(
        text(&run(
            &mut s,
            b"lru_crawler disable\r\nlru_crawler crawl 1\r\n"
        )),
        "OK\r\nERROR an unknown error happened\r\n"
    );
    assert_eq!(
        text(&run(
            &mut s,
            b"lru_crawler crawl 1\r\nlru_crawler metadump all\r\n"
        )),
        "CLIENT_ERROR lru crawler disabled\r\nCLIENT_ERROR lru crawler disabled\r\n"
    );
    assert_eq!(text(&run(&mut s, b"lru_crawler enable\r\n")), "OK\r\n");
}

#[test]
fn flush_all_without_cas_from_1_6_25() {
    let input = b"set a 0 0 1\r\nx\r\nflush_all\r\nget a\r\nset a 0 0 1\r\ny\r\nget a\r\n";
    let want = "STORED\r\nOK\r\nEND\r\nSTORED\r\nVALUE a 0 1\r\ny\r\nEND\r\n";
    assert_eq!(text(&run(&mut Server::new(), input)), want);
    let mut s = at(1, 6, 25);
    assert_eq!(text(&run(&mut s, input)), want);
    // flushed items are unlinked at once
    assert_eq!(s.item_count(), 1);
    // without cas, 1.6.18 also flushes what is set in the same second
    let no_cas = |version| Options {
        cas_enabled: false,
        version,
        ..Options::default()
    };
    let mut old = Server::with_options(no_cas(crate::Version::V1_6_18));
    assert_eq!(
        text(&run(&mut old, input)),
        "STORED\r\nOK\r\nEND\r\nSTORED\r\nEND\r\n"
    );
    let mut new = Server::with_options(no_cas(crate::Version::new(1, 6, 25)));
    assert_eq!(text(&run(&mut new, input)), want);
}

#[test]
fn bad_storage_line_swallows_its_block_from_1_6_40() {
    let input = b"set k x 0 1\r\nz\r\nset k 0 x 1\r\nz\r\nmn\r\n";
    assert_eq!(
        text(&run(&mut at(1, 6, 39), input)),
        "CLIENT_ERROR bad command line format\r\nERROR\r\nCLIENT_ERROR bad command line format\r\nERROR\r\nMN\r\n"
    );
    assert_eq!(
        text(&run(&mut at(1, 6, 40), input)),
        "CLIENT_ERROR bad command line format\r\nCLIENT_ERROR bad command line format\r\nMN\r\n"
    );
}

#[test]
fn classic_flags_width() {
    let input = b"set a 4294967296 0 1\r\nx\r\nget a\r\n";
    assert_eq!(
        text(&run(&mut Server::new(), input)),
        "STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n"
    );
    assert_eq!(
        text(&run(
            &mut Server::with_options(Options::latest(false)),
            input
        )),
        "STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\n"
    );
    assert_eq!(
        text(&run(
            &mut Server::with_options(Options::latest(true)),
            input
        )),
        "STORED\r\nVALUE a 4294967296 1\r\nx\r\nEND\r\n"
    );
}
