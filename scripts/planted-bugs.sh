#!/usr/bin/env bash
# Planted bugs (issue 10.6): every safety fix the simulation found is kept in src/core as a
# switchable mutation behind `cfg(planted = "NAME")`. This builds the simulation once per
# bug (each in its own target dir under target/planted/, so the normal build stays warm)
# and requires the sweep to FAIL on it within the seed budget. Prints, per bug, the first
# failing seed and how many seeds of the budget failed; exits non-zero when a planted bug
# goes uncaught.
#
#   scripts/planted-bugs.sh [BUG...]        (default: all; PLANTED_SEEDS=N overrides the budget)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ALL=(old-epoch-votes leader-ignores-newer-config reply-before-persist)
# Seed budget: the CI sweep's (the regression corpus runs too).
SEEDS="${PLANTED_SEEDS:-2000}"
BUGS=("$@")
[ ${#BUGS[@]} -eq 0 ] && BUGS=("${ALL[@]}")

status=0
summary=()
for bug in "${BUGS[@]}"; do
    log="target/planted/$bug.log"
    mkdir -p target/planted
    echo "== planted bug '$bug': building and sweeping $SEEDS seeds"
    CARGO_TARGET_DIR="target/planted/$bug" RUSTFLAGS="--cfg planted=\"$bug\"" \
        cargo test --test simulation -- --seeds "$SEEDS" --brief >"$log" 2>&1
    rc=$?
    if ! grep -q '^simulation: ' "$log"; then
        echo "planted bug '$bug': the build or the sweep did not run (rc $rc); see $log"
        tail -20 "$log"
        summary+=("$(printf '%-30s BUILD/RUN ERROR' "$bug")")
        status=1
        continue
    fi
    first=$(grep -m1 -oE '^seed [0-9]+ FAILED' "$log" | awk '{print $2}')
    count=$(grep -cE '^seed [0-9]+ FAILED' "$log")
    if [ "$rc" -eq 0 ] || [ -z "$first" ]; then
        summary+=("$(printf '%-30s NOT CAUGHT in %s seeds + corpus' "$bug" "$SEEDS")")
        status=1
    else
        what=$(grep -m1 -E "^seed $first FAILED" "$log" | sed -E 's/^seed [0-9]+ FAILED at t=[0-9]+ ms: //')
        summary+=("$(printf '%-30s caught: first seed %s, %s failing; %s' "$bug" "$first" "$count" "$what")")
    fi
done
echo
echo "planted bugs:"
printf '  %s\n' "${summary[@]}"
exit $status
