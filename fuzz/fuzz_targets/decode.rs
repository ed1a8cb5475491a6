//! cargo-fuzz target `decode`: see [`memcache_codec_fuzz::targets::decode`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| memcache_codec_fuzz::targets::decode(data));
