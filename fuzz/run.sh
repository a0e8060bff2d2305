#!/bin/sh
# Runs libFuzzer targets built by build.sh, then folds what they found, minimized, into
# the kept corpus (tests/fuzz-corpus/<target>, replayed by `cargo test --test parsers_fuzz`).
#   fuzz/run.sh SECONDS [TARGET...]     (default: all targets, one after the other)
# Crashes land in fuzz/artifacts/<target>/ (reproduce: target/<triple>/release/<target> FILE).
set -e
cd "$(dirname "$0")"
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-"resp_value resp_request hello info sentinel_conf sentinel_toml state_file"}
bin=target/$(rustc -vV | sed -n 's/^host: //p')/release
for t in $targets; do
    kept=../tests/fuzz-corpus/$t
    mkdir -p corpus/$t artifacts/$t
    # Working corpus (not kept): seeded from the kept one.
    cp -n "$kept"/* corpus/$t/ 2>/dev/null || true
    "$bin/$t" corpus/$t -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix=artifacts/$t/ -print_final_stats=1 2>&1 | tee logs-$t.txt | grep -E '^(#|stat::|==|SUMMARY|Done)' | tail -12
    # Minimized merge: a small set of inputs covering every edge both cover (edges only,
    # not hit counts, so that the kept corpus stays small enough for the repository).
    rm -rf merged-$t && mkdir merged-$t
    "$bin/$t" -set_cover_merge=1 -use_counters=0 merged-$t "$kept" corpus/$t > /dev/null 2>&1
    rm -rf "$kept" && mv merged-$t "$kept"
    echo "$t: kept corpus $(ls "$kept" | wc -l) files"
done
