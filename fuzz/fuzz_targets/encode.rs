//! cargo-fuzz target `encode`: see [`memcache_codec_fuzz::targets::encode`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| memcache_codec_fuzz::targets::encode(data));
