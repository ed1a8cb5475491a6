//! cargo-fuzz target `session`: see [`memcache_codec_fuzz::targets::session`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| memcache_codec_fuzz::targets::session(data));
