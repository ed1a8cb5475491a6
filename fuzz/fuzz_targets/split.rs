//! cargo-fuzz target `split`: see [`memcache_codec_fuzz::targets::split`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| memcache_codec_fuzz::targets::split(data));
