#![no_main]
//! libFuzzer target; the property is `checks::check_sentinel_conf` (see docs/fuzzing.md).

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check_sentinel_conf(data));
