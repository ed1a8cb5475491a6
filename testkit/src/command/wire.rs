//! From a request back to the [`Cmd`] that writes it.
//!
//! The mapping is exact for what the codec writes (canonical decimal numbers, each
//! meta flag once, canonical base64, the tokens each form has) and refuses anything
//! else (`None`), so a recorded or mutated client stream yields the commands the
//! codec could have sent, and `Cmd::from_request(parse(send(c)))` is `c` normalized.
//! (The framing splits tokens on runs of spaces, as memcached does, so the spacing
//! is not checked here.)

use crate::parse::Request;

use memcache_codec::command::{Automove, LruMode, WatchKind};

use super::{
    Cmd, CrawlerCmd, Factor, Flag, Key, LruCmd, MaFlag, MaMode, MdFlag, MgFlag, MsFlag, MsMode,
    Opaque, SlabsCmd, StatsArgs, StoreMode, Target, Value, Word,
};

/// A decimal number as the codec writes it: digits only, no sign, no leading zero
/// (except `0` itself), no overflow.
fn uint(token: &[u8]) -> Option<u64> {
    if token.is_empty() || token.len() > 20 || (token.len() > 1 && token[0] == b'0') {
        return None;
    }
    let mut n: u64 = 0;
    for &b in token {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

pub(crate) fn u32_(token: &[u8]) -> Option<u32> {
    u32::try_from(uint(token)?).ok()
}

fn i32_(token: &[u8]) -> Option<i32> {
    match token.strip_prefix(b"-") {
        Some(digits) if digits != b"0" => i32::try_from(-i64::try_from(uint(digits)?).ok()?).ok(),
        Some(_) => None,
        None => i32::try_from(uint(token)?).ok(),
    }
}

fn key(token: &[u8]) -> Key {
    Key(token.to_vec())
}

/// A slab class id as the codec writes it (memcached reads it as an `i32`).
fn class(token: &[u8]) -> Option<u32> {
    u32_(token).filter(|&id| id <= i32::MAX as u32)
}

/// An `lru_crawler` class list: `all`, `hash` (dumps only), or canonical ids joined
/// by commas.
fn target(token: &[u8], hash: bool) -> Option<Target> {
    Some(match token {
        b"all" => Target::All,
        b"hash" if hash => Target::Hash,
        ids => Target::Classes(
            ids.split(|&b| b == b',')
                .map(u32_)
                .collect::<Option<Vec<u32>>>()?,
        ),
    })
}

/// An `lru tune` factor as the codec writes it: Rust's shortest decimal form of a
/// finite number above 0, at most 32 characters.
fn factor(token: &[u8]) -> Option<Factor> {
    let text = std::str::from_utf8(token).ok()?;
    let f: f64 = text.parse().ok()?;
    (f.is_finite() && f > 0.0 && text.len() <= 32 && f.to_string() == text).then(|| f.into())
}

/// Strips a trailing `noreply` when the command has `max` arguments with it.
fn noreply<'a, 'b>(args: &'b [&'a [u8]], max: usize) -> (&'b [&'a [u8]], bool) {
    if args.len() == max && args.last() == Some(&&b"noreply"[..]) {
        (&args[..max - 1], true)
    } else {
        (args, false)
    }
}

/// Strict padded base64 (memcached's alphabet), as the codec writes `b` keys: `None`
/// for anything the codec would not have written (unlike memcached's own lenient
/// decoder).
pub fn base64_decode(input: &[u8]) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        Some(u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        }))
    }
    if input.is_empty() || input.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    let quads = input.len() / 4;
    for (i, quad) in input.chunks_exact(4).enumerate() {
        let pad = if i + 1 == quads {
            quad.iter().rev().take_while(|&&c| c == b'=').count()
        } else {
            0
        };
        if pad > 2 {
            return None;
        }
        let mut n = 0u32;
        for &c in &quad[..4 - pad] {
            n = (n << 6) | value(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        // Canonical only: the bits dropped by the padding must be zero.
        let take = 3 - pad;
        if bytes[take..].iter().any(|&b| b != 0) {
            return None;
        }
        out.extend_from_slice(&bytes[..take]);
    }
    Some(out)
}

/// Parses meta flag tokens with `parse` (letter, argument); `None` if a token does not
/// parse or a letter repeats (the codec never writes a flag twice).
fn meta_flags<F: Flag>(tokens: &[&[u8]], parse: impl Fn(u8, &[u8]) -> Option<F>) -> Option<Vec<F>> {
    let mut flags: Vec<F> = Vec::with_capacity(tokens.len());
    for token in tokens {
        let (&letter, arg) = token.split_first()?;
        let flag = parse(letter, arg)?;
        if flags.iter().any(|f| f.letter() == letter) {
            return None;
        }
        flags.push(flag);
    }
    Some(flags)
}

/// No argument allowed.
fn bare<F>(arg: &[u8], flag: F) -> Option<F> {
    arg.is_empty().then_some(flag)
}

/// A mode letter: exactly one byte.
fn mode<M>(arg: &[u8], from_letter: fn(u8) -> Option<M>) -> Option<M> {
    match arg {
        [letter] => from_letter(*letter),
        _ => None,
    }
}

fn mg_flag(letter: u8, arg: &[u8]) -> Option<MgFlag> {
    Some(match letter {
        b'b' => bare(arg, MgFlag::Base64)?,
        b'q' => bare(arg, MgFlag::Quiet)?,
        b'O' => MgFlag::Opaque(Opaque(arg.to_vec())),
        b'v' => bare(arg, MgFlag::ReturnValue)?,
        b'c' => bare(arg, MgFlag::ReturnCas)?,
        b'f' => bare(arg, MgFlag::ReturnClientFlags)?,
        b'h' => bare(arg, MgFlag::ReturnHitBefore)?,
        b'k' => bare(arg, MgFlag::ReturnKey)?,
        b'l' => bare(arg, MgFlag::ReturnLastAccess)?,
        b's' => bare(arg, MgFlag::ReturnSize)?,
        b't' => bare(arg, MgFlag::ReturnTtl)?,
        b'u' => bare(arg, MgFlag::NoBump)?,
        b'T' => MgFlag::Touch(i32_(arg)?),
        b'N' => MgFlag::Vivify(i32_(arg)?),
        b'R' => MgFlag::Recache(u32_(arg)?),
        b'E' => MgFlag::NewCas(uint(arg)?),
        b'C' => MgFlag::CompareCas(uint(arg)?),
        _ => return None,
    })
}

fn ms_flag(letter: u8, arg: &[u8]) -> Option<MsFlag> {
    Some(match letter {
        b'b' => bare(arg, MsFlag::Base64)?,
        b'q' => bare(arg, MsFlag::Quiet)?,
        b'O' => MsFlag::Opaque(Opaque(arg.to_vec())),
        b'c' => bare(arg, MsFlag::ReturnCas)?,
        b'k' => bare(arg, MsFlag::ReturnKey)?,
        b'I' => bare(arg, MsFlag::Invalidate)?,
        b's' => bare(arg, MsFlag::ReturnSize)?,
        b'F' => MsFlag::ClientFlags(uint(arg)?),
        b'T' => MsFlag::Ttl(i32_(arg)?),
        b'C' => MsFlag::CompareCas(uint(arg)?),
        b'E' => MsFlag::NewCas(uint(arg)?),
        b'N' => MsFlag::Autovivify(i32_(arg)?),
        b'M' => MsFlag::Mode(mode(arg, MsMode::from_letter)?),
        _ => return None,
    })
}

fn md_flag(letter: u8, arg: &[u8]) -> Option<MdFlag> {
    Some(match letter {
        b'b' => bare(arg, MdFlag::Base64)?,
        b'q' => bare(arg, MdFlag::Quiet)?,
        b'O' => MdFlag::Opaque(Opaque(arg.to_vec())),
        b'k' => bare(arg, MdFlag::ReturnKey)?,
        b'I' => bare(arg, MdFlag::Invalidate)?,
        b'x' => bare(arg, MdFlag::RemoveValue)?,
        b'C' => MdFlag::CompareCas(uint(arg)?),
        b'E' => MdFlag::NewCas(uint(arg)?),
        b'T' => MdFlag::Ttl(i32_(arg)?),
        _ => return None,
    })
}

fn ma_flag(letter: u8, arg: &[u8]) -> Option<MaFlag> {
    Some(match letter {
        b'b' => bare(arg, MaFlag::Base64)?,
        b'q' => bare(arg, MaFlag::Quiet)?,
        b'O' => MaFlag::Opaque(Opaque(arg.to_vec())),
        b'v' => bare(arg, MaFlag::ReturnValue)?,
        b'c' => bare(arg, MaFlag::ReturnCas)?,
        b't' => bare(arg, MaFlag::ReturnTtl)?,
        b'k' => bare(arg, MaFlag::ReturnKey)?,
        b'D' => MaFlag::Delta(uint(arg)?),
        b'N' => MaFlag::Autovivify(i32_(arg)?),
        b'J' => MaFlag::Initial(uint(arg)?),
        b'T' => MaFlag::Ttl(i32_(arg)?),
        b'C' => MaFlag::CompareCas(uint(arg)?),
        b'E' => MaFlag::NewCas(uint(arg)?),
        b'M' => MaFlag::Mode(mode(arg, MaMode::from_letter)?),
        _ => return None,
    })
}

/// The meta key as the command holds it: base64-decoded when `b` is among the flags.
fn meta_key(token: &[u8], base64: bool) -> Option<Key> {
    if base64 {
        base64_decode(token).map(Key)
    } else {
        Some(key(token))
    }
}

impl Cmd {
    /// The owned command that writes `request` (as [`parse_request`](crate::parse_request)
    /// frames it), if the codec could have written it.
    pub fn from_request(request: &Request<'_>) -> Option<Self> {
        let args = &request.args[..];
        let data = request.data;
        // Only data commands carry a block.
        let with_data = matches!(
            request.command,
            b"set" | b"add" | b"replace" | b"append" | b"prepend" | b"cas" | b"ms"
        );
        if data.is_some() != with_data {
            return None;
        }
        Some(match request.command {
            b"get" | b"gets" | b"gat" | b"gats" => {
                let cas = matches!(request.command, b"gets" | b"gats");
                let (touch, keys) = if request.command.starts_with(b"gat") {
                    let (exp, keys) = args.split_first()?;
                    (Some(i32_(exp)?), keys)
                } else {
                    (None, args)
                };
                match keys {
                    [] => return None,
                    [k] => Self::Get {
                        key: key(k),
                        cas,
                        touch,
                    },
                    keys => Self::GetMulti {
                        keys: keys.iter().map(|k| key(k)).collect(),
                        cas,
                        touch,
                    },
                }
            }
            b"set" | b"add" | b"replace" | b"append" | b"prepend" | b"cas" => {
                let is_cas = request.command == b"cas";
                let fields = if is_cas { 5 } else { 4 };
                let (args, noreply) = noreply(args, fields + 1);
                if args.len() != fields {
                    return None;
                }
                let value = data?;
                if uint(args[3])? != value.len() as u64 {
                    return None;
                }
                let mode = match request.command {
                    b"set" => StoreMode::Set,
                    b"add" => StoreMode::Add,
                    b"replace" => StoreMode::Replace,
                    b"append" => StoreMode::Append,
                    b"prepend" => StoreMode::Prepend,
                    _ => StoreMode::Cas(uint(args[4])?),
                };
                Self::Store {
                    mode,
                    key: key(args[0]),
                    value: Value(value.to_vec()),
                    flags: uint(args[1])?,
                    exptime: i32_(args[2])?,
                    noreply,
                }
            }
            b"delete" => match noreply(args, 2) {
                ([k], noreply) => Self::Delete {
                    key: key(k),
                    noreply,
                },
                _ => return None,
            },
            b"touch" => match noreply(args, 3) {
                ([k, e], noreply) => Self::Touch {
                    key: key(k),
                    exptime: i32_(e)?,
                    noreply,
                },
                _ => return None,
            },
            b"incr" | b"decr" => match noreply(args, 3) {
                ([k, d], noreply) => {
                    let (key, delta) = (key(k), uint(d)?);
                    if request.command == b"incr" {
                        Self::Incr {
                            key,
                            delta,
                            noreply,
                        }
                    } else {
                        Self::Decr {
                            key,
                            delta,
                            noreply,
                        }
                    }
                }
                _ => return None,
            },
            b"stats" => Self::Stats(match args {
                [] => StatsArgs::None,
                [b"detail", b"on"] => StatsArgs::Detail(true),
                [b"detail", b"off"] => StatsArgs::Detail(false),
                [b"detail", b"dump"] => StatsArgs::DetailDump,
                [b"cachedump", class, limit] if u32_(class).is_some() && u32_(limit).is_some() => {
                    StatsArgs::CacheDump {
                        class: u32_(class)?,
                        limit: u32_(limit)?,
                    }
                }
                [word] => StatsArgs::Word(Word(word.to_vec())),
                words if words.iter().all(|w| std::str::from_utf8(w).is_ok()) => {
                    StatsArgs::Words(words.iter().map(|w| Word(w.to_vec())).collect())
                }
                _ => return None,
            }),
            b"lru_crawler" => Self::LruCrawler(match args {
                [b"crawl", t] => CrawlerCmd::Crawl(target(t, false)?),
                [b"metadump", t] => CrawlerCmd::Metadump(target(t, true)?),
                [b"mgdump", t] => CrawlerCmd::Mgdump(target(t, true)?),
                [b"enable"] => CrawlerCmd::Enable,
                [b"disable"] => CrawlerCmd::Disable,
                [b"sleep", us] => CrawlerCmd::Sleep(u32_(us).filter(|&us| us <= 1_000_000)?),
                [b"tocrawl", n] => CrawlerCmd::Tocrawl(u32_(n)?),
                _ => return None,
            }),
            b"slabs" => Self::Slabs(match args {
                [b"automove", b"0"] => SlabsCmd::Automove(Automove::Standby),
                [b"automove", b"1"] => SlabsCmd::Automove(Automove::Normal),
                [b"automove", b"2"] => SlabsCmd::Automove(Automove::Aggressive),
                [b"reassign", src, dst] => SlabsCmd::Reassign {
                    src: match *src {
                        b"-1" => None,
                        id => Some(class(id)?),
                    },
                    dst: class(dst)?,
                },
                _ => return None,
            }),
            b"lru" => Self::Lru(match args {
                [b"tune", hot, warm, hot_factor, warm_factor] => LruCmd::Tune {
                    hot_pct: u32_(hot)?,
                    warm_pct: u32_(warm)?,
                    hot_max_factor: factor(hot_factor)?,
                    warm_max_factor: factor(warm_factor)?,
                },
                [b"mode", b"flat"] => LruCmd::Mode(LruMode::Flat),
                [b"mode", b"segmented"] => LruCmd::Mode(LruMode::Segmented),
                [b"temp_ttl", ttl] => LruCmd::TempTtl(i32_(ttl)?),
                _ => return None,
            }),
            b"config" if args == [&b"get"[..], b"cluster"] => Self::ConfigGetCluster,
            b"refresh_certs" if args.is_empty() => Self::RefreshCerts,
            b"watch" => {
                // Each kind once, in the order the codec writes them.
                let mut kinds = Vec::with_capacity(args.len());
                let mut last = None;
                for word in args {
                    let at = WatchKind::ALL
                        .iter()
                        .position(|k| k.word().as_bytes() == *word)?;
                    if last.is_some_and(|l| l >= at) {
                        return None;
                    }
                    last = Some(at);
                    kinds.push(WatchKind::ALL[at]);
                }
                Self::Watch { kinds }
            }
            b"bget" if !args.is_empty() => Self::Bget {
                keys: args.iter().map(|k| key(k)).collect(),
            },
            b"version" if args.is_empty() => Self::Version,
            b"verbosity" => match noreply(args, 2) {
                ([level], noreply) => Self::Verbosity {
                    level: u32_(level)?,
                    noreply,
                },
                _ => return None,
            },
            b"flush_all" => match noreply(args, args.len().max(1)) {
                ([], noreply) => Self::FlushAll {
                    delay: None,
                    noreply,
                },
                ([delay], noreply) => Self::FlushAll {
                    delay: Some(u32_(delay)?),
                    noreply,
                },
                _ => return None,
            },
            b"cache_memlimit" => match noreply(args, 2) {
                ([mb], noreply) => Self::CacheMemlimit {
                    megabytes: u32_(mb)?,
                    noreply,
                },
                _ => return None,
            },
            b"quit" if args.is_empty() => Self::Quit,
            b"shutdown" => match args {
                [] => Self::Shutdown { graceful: false },
                [b"graceful"] => Self::Shutdown { graceful: true },
                _ => return None,
            },
            b"mg" => {
                let (k, flags) = args.split_first()?;
                let flags = meta_flags(flags, mg_flag)?;
                let base64 = flags.contains(&MgFlag::Base64);
                Self::MetaGet {
                    key: meta_key(k, base64)?,
                    flags,
                }
            }
            b"ms" => {
                let [k, len, flags @ ..] = args else {
                    return None;
                };
                let value = data?;
                if uint(len)? != value.len() as u64 {
                    return None;
                }
                let flags = meta_flags(flags, ms_flag)?;
                let base64 = flags.contains(&MsFlag::Base64);
                Self::MetaSet {
                    key: meta_key(k, base64)?,
                    value: Value(value.to_vec()),
                    flags,
                }
            }
            b"md" => {
                let (k, flags) = args.split_first()?;
                let flags = meta_flags(flags, md_flag)?;
                let base64 = flags.contains(&MdFlag::Base64);
                Self::MetaDelete {
                    key: meta_key(k, base64)?,
                    flags,
                }
            }
            b"ma" => {
                let (k, flags) = args.split_first()?;
                let flags = meta_flags(flags, ma_flag)?;
                let base64 = flags.contains(&MaFlag::Base64);
                Self::MetaArithmetic {
                    key: meta_key(k, base64)?,
                    flags,
                }
            }
            b"mn" if args.is_empty() => Self::MetaNoop,
            b"me" => match args {
                [k] => Self::MetaDebug {
                    key: key(k),
                    base64: false,
                },
                [k, b"b"] => Self::MetaDebug {
                    key: meta_key(k, true)?,
                    base64: true,
                },
                _ => return None,
            },
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_canonical() {
        assert_eq!(uint(b"0"), Some(0));
        assert_eq!(uint(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(uint(b"18446744073709551616"), None);
        assert_eq!(uint(b"01"), None);
        assert_eq!(i32_(b"-2147483648"), Some(i32::MIN));
        assert_eq!(i32_(b"2147483648"), None);
        assert_eq!(i32_(b"-0"), None);
    }

    #[test]
    fn base64_round_trip() {
        assert_eq!(base64_decode(b"YWJj"), Some(b"abc".to_vec()));
        assert_eq!(base64_decode(b"YQ=="), Some(b"a".to_vec()));
        assert_eq!(base64_decode(b"YR=="), None);
        assert_eq!(base64_decode(b"Y==="), None);
    }
}
