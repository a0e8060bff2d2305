#!/usr/bin/env bash
# Planted bugs (issue 10.6): every safety fix the simulation found is kept in src/core as a
# switchable mutation behind the cargo feature `planted-NAME`. This builds the simulation
# once per bug (in the normal target dir: the dependencies are shared, only this crate is
# rebuilt per bug; logs under target/planted/) and requires the sweep (or the bug's targeted scenario) to FAIL on it within the seed
# budget, with the bug's own violation. Prints, per bug, the first failing seed and how
# many seeds of the budget failed; a bug caught by its own scenario is then checked against
# the same seeds without it (all must pass, or its failures prove nothing). Exits non-zero
# when a planted bug goes uncaught or its scenario fails without it.
#
#   scripts/planted-bugs.sh [BUG...]        (default: all; PLANTED_SEEDS=N overrides the budget)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The bugs the check requires caught (.ci/run runs them all): every planted bug.
ALL=(global-epoch-votes old-epoch-votes leader-ignores-newer-config reply-before-persist act-without-proof stale-majority promote-says-master
    reboot-keeps-lease link-connecting-forever demoted-master-trusted)
# Seed budget: the CI sweep's (the regression corpus runs too).
SEEDS="${PLANTED_SEEDS:-1700}"
BUGS=("$@")
[ ${#BUGS[@]} -eq 0 ] && BUGS=("${ALL[@]}")

# A bug with a targeted scenario of its own is tried there first (a few seeds of it make
# the conditions the bug needs; the run stops at its first failures); any other bug, or
# one its scenario misses, is swept with the CI budget, then tried in the `elections`
# scenario.
own_scenario_for() {
    case "$1" in
        old-epoch-votes) echo stale-votes ;;
        leader-ignores-newer-config) echo newer-config ;;
        reply-before-persist) echo vote-crash ;;
        stale-majority) echo stale-majority ;;
        promote-says-master) echo says-master ;;
        reboot-keeps-lease) echo reboot-fenced ;;
        link-connecting-forever) echo lost-connect ;;
        demoted-master-trusted) echo demoted-promoted ;;
        *) echo "" ;;
    esac
}
scenario_for() {
    case "$1" in
        old-epoch-votes | leader-ignores-newer-config | reply-before-persist | act-without-proof) echo elections ;;
        *) echo "" ;;
    esac
}
SCENARIO_SEEDS="${PLANTED_SCENARIO_SEEDS:-400}"
# A run stops after this many failing seeds (the count printed is capped by it).
MAX_FAILURES="${PLANTED_MAX_FAILURES:-10}"

# What the bug's own violation says: a seed counts as catching the bug only when it fails
# with this (the sweep also has failures of its own at some seeds, docs/fencing.md "Known
# gaps"; they prove nothing about a planted bug).
symptom_for() {
    case "$1" in
        reply-before-persist) echo 'voted twice in epoch' ;;
        act-without-proof | stale-majority) echo 'sent REPLICAOF to .*, the master of config epoch' ;;
        old-epoch-votes) echo 'two leaders in epoch|elected in epoch [0-9]+ with [0-9]+ votes cast in that epoch' ;;
        leader-ignores-newer-config) echo 'config epoch [0-9]+: sentinel' ;;
        promote-says-master) echo 'whose last INFO said role:master' ;;
        reboot-keeps-lease) echo 'acknowledged a write at [0-9]+ ms, after its successor' ;;
        link-connecting-forever) echo 'raised \+odown on .* although sentinels .* reached it undisturbed' ;;
        demoted-master-trusted) echo 'sent REPLICAOF to .*, the master of config epoch' ;;
    esac
}

# A bug whose proof is a deterministic unit test of the core rather than a simulation
# scenario (its scenario, many-down, needs dozens of masters per world: minutes in a
# debug build). The test must fail with the bug; it passes in every normal test run.
unit_test_for() {
    case "$1" in
        global-epoch-votes) echo 'core::election::tests::votes_are_per_master_whatever_the_other_masters_did_to_the_current_epoch' ;;
        *) echo "" ;;
    esac
}

# Runs the simulation of bug $1 with the remaining arguments; sets first/count/what.
sweep() {
    local bug=$1 log=$2
    shift 2
    cargo test --features "planted-$bug" --test simulation -- "$@" --brief --max-failures "$MAX_FAILURES" >"$log" 2>&1
    rc=$?
    ran=$(grep -c '^simulation: ' "$log")
    seeds_run=$(grep -m1 '^simulation: ' "$log" | awk '{print $2}')
    local symptom
    symptom=$(symptom_for "$bug")
    first=$(grep -E '^seed [0-9]+ FAILED' "$log" | grep -m1 -E "$symptom" | awk '{print $2}')
    count=$(grep -E '^seed [0-9]+ FAILED' "$log" | grep -cE "$symptom")
    what=$(grep -E '^seed [0-9]+ FAILED' "$log" | grep -m1 -E "$symptom" | sed -E 's/^seed [0-9]+ FAILED at t=[0-9]+ ms( \(regression corpus\))?: //')
}

status=0
summary=()
mkdir -p target/planted
for bug in "${BUGS[@]}"; do
    log="target/planted/$bug.log"
    unit=$(unit_test_for "$bug")
    if [ -n "$unit" ]; then
        echo "== planted bug '$bug': building the core with it and running its unit test"
        cargo test --lib --features "planted-$bug" -- --exact "$unit" >"$log" 2>&1
        if grep -q "^test $unit ... FAILED" "$log"; then
            summary+=("$(printf '%-28s caught by its unit test %s' "$bug" "$unit")")
        else
            echo "planted bug '$bug': its unit test did not fail (see $log)"
            tail -20 "$log"
            summary+=("$(printf '%-28s NOT CAUGHT by its unit test (see %s)' "$bug" "$log")")
            status=1
        fi
        continue
    fi
    own=$(own_scenario_for "$bug")
    if [ -n "$own" ]; then
        echo "== planted bug '$bug': building and running $SCENARIO_SEEDS seeds of its scenario '$own'"
        sweep "$bug" "target/planted/$bug.$own.log" --seeds "$SCENARIO_SEEDS" --scenario "$own"
        if [ -n "$first" ]; then
            # Control: the same seeds without the bug must all pass, or the scenario's
            # failures prove nothing about it.
            control="target/planted/$bug.$own.control.log"
            cargo test --test simulation -- --seeds "${seeds_run:-$SCENARIO_SEEDS}" --scenario "$own" --brief >"$control" 2>&1
            if [ $? -ne 0 ]; then
                echo "planted bug '$bug': its scenario '$own' also fails without the bug (see $control)"
                grep -E '^seed [0-9]+ FAILED' "$control" | head -5
                summary+=("$(printf '%-28s scenario %s fails WITHOUT the bug too within %s seeds (see %s)' "$bug" "$own" "${seeds_run:-?}" "$control")")
                status=1
                continue
            fi
            summary+=("$(printf '%-28s caught by its scenario %s: first seed failing with its symptom %s, %s such seeds (a run stops at %s failures) within %s seeds run of %s, all of which pass without it: %s' "$bug" "$own" "$first" "$count" "$MAX_FAILURES" "${seeds_run:-?}" "$SCENARIO_SEEDS" "$what")")
            continue
        fi
        echo "planted bug '$bug': its scenario '$own' missed it (see target/planted/$bug.$own.log)"
    fi
    echo "== planted bug '$bug': building and sweeping $SEEDS seeds + the regression corpus"
    sweep "$bug" "$log" --seeds "$SEEDS"
    if [ "$ran" -eq 0 ]; then
        echo "planted bug '$bug': the build or the sweep did not run (rc $rc); see $log"
        tail -20 "$log"
        summary+=("$(printf '%-28s BUILD/RUN ERROR (see %s)' "$bug" "$log")")
        status=1
        continue
    fi
    if [ -n "$first" ]; then
        summary+=("$(printf '%-28s caught by the sweep: first seed failing with its symptom %s, %s such seeds (a run stops at %s failures) within %s seeds: %s' "$bug" "$first" "$count" "$MAX_FAILURES" "$SEEDS" "$what")")
        continue
    fi
    scenario=$(scenario_for "$bug")
    if [ -z "$scenario" ]; then
        summary+=("$(printf '%-28s NOT CAUGHT in %s seeds + corpus, no targeted scenario' "$bug" "$SEEDS")")
        status=1
        continue
    fi
    echo "== planted bug '$bug': not caught in $SEEDS seeds; targeted scenario '$scenario', $SCENARIO_SEEDS seeds"
    sweep "$bug" "target/planted/$bug.$scenario.log" --seeds "$SCENARIO_SEEDS" --scenario "$scenario"
    if [ -n "$first" ]; then
        summary+=("$(printf '%-28s missed by %s sweep seeds; caught by scenario %s: first failing seed %s, %s failed (a run stops at %s) within %s: %s' "$bug" "$SEEDS" "$scenario" "$first" "$count" "$MAX_FAILURES" "$SCENARIO_SEEDS" "$what")")
    else
        summary+=("$(printf '%-28s NOT CAUGHT in %s seeds + corpus nor in %s seeds of scenario %s' "$bug" "$SEEDS" "$SCENARIO_SEEDS" "$scenario")")
        status=1
    fi
done
echo
echo "planted bugs:"
printf '  %s\n' "${summary[@]}"
exit $status
