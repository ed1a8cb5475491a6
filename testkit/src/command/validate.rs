//! Which commands the codec must accept: the rules the crate documents, restated
//! here without the codec's code, so that over- and under-strict validation both show.

use memcache_codec::{Limits, MAX_KEY_LEN};

use super::{Cmd, Key, StatsArgs};

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
