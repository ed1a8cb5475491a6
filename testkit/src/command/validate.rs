//! Which commands the codec must accept: the rules the crate documents, restated
//! here without the codec's code, so that over- and under-strict validation both show.

use memcache_codec::Limits;
use memcache_codec::command::MAX_KEY_LEN;

use super::{Cmd, CrawlerCmd, Key, LruCmd, SlabsCmd, StatsArgs, Target};

/// The longest command line memcached reads, with its `\r\n`.
const MAX_LINE: usize = 2048;

/// `lru_crawler`'s class list: not empty; `hash` only for the dumps. Its length.
fn target_len(target: &Target, hash: bool) -> Result<usize, &'static str> {
    match target {
        Target::All => Ok(3),
        Target::Hash if hash => Ok(4),
        Target::Hash => Err("crawl hash"),
        Target::Classes(ids) if ids.is_empty() => Err("class list"),
        Target::Classes(ids) => {
            Ok(ids.iter().map(|id| id.to_string().len() + 1).sum::<usize>() - 1)
        }
    }
}

/// A raw line the codec will send, by the rules `Raw` documents.
fn raw_ok(line: &[u8], data: Option<&[u8]>) -> Result<(), &'static str> {
    if line.len() + 2 > MAX_LINE {
        return Err("line length");
    }
    let tokens: Vec<&[u8]> = line.split(|&b| b == b' ').collect();
    if !tokens.iter().all(|t| token_ok(t, MAX_KEY_LEN)) {
        return Err("raw token");
    }
    let verb = tokens[0];
    if matches!(verb, b"quit" | b"shutdown" | b"watch")
        || (verb == b"lru_crawler" && matches!(tokens.get(1), Some(&(b"metadump" | b"mgdump"))))
        || (tokens.len() > 1 && tokens.last() == Some(&&b"noreply"[..]))
        || (verb.len() == 2
            && verb[0] == b'm'
            && tokens[1..].iter().skip(1).any(|t| t.first() == Some(&b'q')))
    {
        return Err("raw refusal");
    }
    if let Some(data) = data {
        if data.len() > (1 << 31) - 3 {
            return Err("value length");
        }
        let stated = data.len().to_string();
        if !tokens.contains(&stated.as_bytes()) {
            return Err("raw data length");
        }
    }
    Ok(())
}

/// The token rule of the crate: 1 to `max` bytes, none `<= 0x20`, no `0x7f`.
pub fn token_ok(token: &[u8], max: usize) -> bool {
    !token.is_empty() && token.len() <= max && token.iter().all(|&b| b > b' ' && b != 0x7f)
}

/// A meta key: checked like a key, or (base64) 1 byte or more that encode to at most
/// 250 bytes.
fn meta_key_ok(key: &[u8], base64: bool) -> bool {
    if base64 {
        !key.is_empty() && key.len().div_ceil(3) * 4 <= MAX_KEY_LEN
    } else {
        token_ok(key, MAX_KEY_LEN)
    }
}

/// The longest opaque memcached accepts, without the `O`.
const MAX_OPAQUE_LEN: usize = 31;

impl Cmd {
    /// Whether the codec must accept this command's fields, by the rules the crate
    /// documents (not counting the codec's state: poisoned, closing, too many pending,
    /// an ambiguous quiet run). `Err` names the rule broken.
    pub fn validate(&self, limits: &Limits) -> Result<(), &'static str> {
        let key = |k: &Key| {
            if token_ok(&k.0, MAX_KEY_LEN) {
                Ok(())
            } else {
                Err("key")
            }
        };
        if let Some(flags) = self.meta_flags() {
            let k = self.key().unwrap_or_default();
            if flags.recache.is_some_and(|r| r > i32::MAX as u32) {
                return Err("recache");
            }
            if !meta_key_ok(k, flags.has(b'b')) {
                return Err("meta key");
            }
            // The builder keeps the last opaque given.
            if flags.opaque.is_some_and(|o| !token_ok(&o, MAX_OPAQUE_LEN)) {
                return Err("opaque");
            }
            return Ok(());
        }
        match self {
            Self::Get { key: k, .. }
            | Self::Store { key: k, .. }
            | Self::Delete { key: k, .. }
            | Self::Touch { key: k, .. }
            | Self::Incr { key: k, .. }
            | Self::Decr { key: k, .. } => key(k),
            Self::GetMulti { keys, .. } => {
                if keys.is_empty() {
                    Err("no keys")
                } else if keys.len() > limits.max_values_per_reply {
                    Err("too many keys")
                } else {
                    keys.iter().try_for_each(key)
                }
            }
            Self::Stats(StatsArgs::Word(w)) => {
                if token_ok(&w.0, MAX_KEY_LEN) {
                    Ok(())
                } else {
                    Err("stats word")
                }
            }
            Self::FlushAll { delay: Some(d), .. } if *d > i32::MAX as u32 => Err("flush delay"),
            Self::Stats(StatsArgs::Words(words)) => {
                let len = 5 + words.iter().map(|w| 1 + w.len()).sum::<usize>() + 2;
                if !words
                    .iter()
                    .all(|w| token_ok(&w.0, MAX_KEY_LEN) && std::str::from_utf8(&w.0).is_ok())
                {
                    Err("stats word")
                } else if len > MAX_LINE {
                    Err("line length")
                } else {
                    Ok(())
                }
            }
            Self::LruCrawler(cmd) => {
                let (head, arg) = match cmd {
                    CrawlerCmd::Crawl(t) => (18, target_len(t, false)?),
                    CrawlerCmd::Metadump(t) => (21, target_len(t, true)?),
                    CrawlerCmd::Mgdump(t) => (19, target_len(t, true)?),
                    CrawlerCmd::Sleep(us) if *us > 1_000_000 => return Err("crawler sleep"),
                    _ => (0, 0),
                };
                if head + arg + 2 > MAX_LINE {
                    Err("line length")
                } else {
                    Ok(())
                }
            }
            Self::Slabs(SlabsCmd::Reassign { src, dst }) => {
                if src.is_some_and(|s| s > i32::MAX as u32) || *dst > i32::MAX as u32 {
                    Err("slab class")
                } else {
                    Ok(())
                }
            }
            Self::Lru(LruCmd::Tune {
                hot_max_factor,
                warm_max_factor,
                ..
            }) => {
                let ok = |f: f64| f.is_finite() && f > 0.0 && f.to_string().len() <= 32;
                if ok(hot_max_factor.get()) && ok(warm_max_factor.get()) {
                    Ok(())
                } else {
                    Err("lru factor")
                }
            }
            Self::Bget { keys } => {
                if keys.is_empty() {
                    Err("no keys")
                } else if keys.len() > limits.max_values_per_reply {
                    Err("too many keys")
                } else if 4 + keys.iter().map(|k| 1 + k.0.len()).sum::<usize>() + 2 > MAX_LINE {
                    Err("line length")
                } else {
                    keys.iter().try_for_each(key)
                }
            }
            Self::Raw { line, data, .. } => raw_ok(line, data.as_ref().map(|d| &d.0[..])),
            Self::MetaDebug { key: k, base64 } => {
                if meta_key_ok(k, *base64) {
                    Ok(())
                } else {
                    Err("meta key")
                }
            }
            _ => Ok(()),
        }
    }
}
