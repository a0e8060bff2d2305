#!/bin/sh
# Builds the libFuzzer targets with the stable toolchain: the same instrumentation
# cargo-fuzz asks for (SanitizerCoverage via LLVM flags, all stable), minus
# AddressSanitizer (-Zsanitizer is nightly-only; safe Rust needs it little).
set -e
cd "$(dirname "$0")"
export RUSTFLAGS="-Cpasses=sancov-module \
 -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
 -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares \
 --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
# An explicit --target keeps RUSTFLAGS off build scripts and proc macros (they would
# need the libFuzzer runtime to link).
exec cargo build --release --bins --target "$(rustc -vV | sed -n "s/^host: //p")" "$@"
