#!/bin/sh
# Runs every unit-test binary and the integration suite; prints per-suite
# results and, last, the total as "N passed, M failed".
cd "$(dirname "$0")/.." || exit 1
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
total_pass=0
total_fail=0
add_counts() { # $1 = output of a suite; its last "N passed, M failed" line counts
	line=$(printf '%s\n' "$1" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
	if [ -z "$line" ]; then
		total_fail=$((total_fail + 1))
		return
	fi
	total_pass=$((total_pass + $(echo "$line" | cut -d' ' -f1)))
	total_fail=$((total_fail + $(echo "$line" | cut -d' ' -f3)))
}
for t in build/test/unit/test_*; do
	[ -x "$t" ] || continue
	out=$("$t" 2>&1)
	rc=$?
	echo "unit $(basename "$t"): $(printf '%s\n' "$out" | tail -n 1)"
	[ $rc -ne 0 ] && printf '%s\n' "$out"
	add_counts "$out"
	[ $rc -ne 0 ] && ! printf '%s\n' "$out" | grep -qE '^[0-9]+ passed, [1-9][0-9]* failed$' && total_fail=$((total_fail + 1))
done
# Fuzz smoke (tests/fuzz/, scripts/fuzz.sh): each libFuzzer target is built
# and run for 12 s from its seed corpus in a fresh scratch directory; one that
# builds and runs clean is one passed test. Skipped when only part of the
# integration suite was asked for.
if [ $# -eq 0 ]; then
	rm -rf build/fuzz/smoke
	for t in parser mime search mutf7; do
		if ! out=$(make --no-print-directory build/fuzz/fuzz_$t 2>&1); then
			printf '%s\n' "$out" | tail -n 20
			echo "fuzz $t: FAILED (build)"
			total_fail=$((total_fail + 1))
		elif out=$(scripts/fuzz.sh --seconds 12 --dir build/fuzz/smoke $t 2>&1); then
			printf '%s\n' "$out" | grep -v '^fuzz: [0-9]'
			total_pass=$((total_pass + 1))
		else
			printf '%s\n' "$out" | grep -v '^fuzz: [0-9]'
			total_fail=$((total_fail + 1))
		fi
	done
fi
GANNET_BIN="$PWD/build/test/gannet" python3 tests/integration/run.py "$@" > build/test/integration.log 2>&1
cat build/test/integration.log | grep -v '^[0-9]* passed, [0-9]* failed$'
add_counts "$(cat build/test/integration.log)"
# ThreadSanitizer (make tsan): the job queues' unit test, and the tests where
# sessions of several users and workers run commands, IDLE and deliveries
# side by side, against a server built with -fsanitize=thread. A race report
# in the server's log fails the test that ran it (harness.SANITIZER_MARKS).
if [ $# -eq 0 ]; then
	export TSAN_OPTIONS="halt_on_error=0:second_deadlock_stack=1"
	out=$(build/tsan/unit/test_jobs 2>&1)
	rc=$?
	echo "tsan unit test_jobs: $(printf '%s\n' "$out" | tail -n 1)"
	if [ $rc -ne 0 ] || printf '%s\n' "$out" | grep -q 'WARNING: ThreadSanitizer'; then
		printf '%s\n' "$out"
		total_fail=$((total_fail + 1))
	else
		add_counts "$out"
	fi
	GANNET_BIN="$PWD/build/tsan/gannet" python3 tests/integration/run.py test_isolation test_live \
		test_idle test_stress test_workers test_auth > build/test/integration-tsan.log 2>&1
	sed -e '/^[0-9]* passed, [0-9]* failed$/d' -e 's/^/tsan /' build/test/integration-tsan.log
	add_counts "$(cat build/test/integration-tsan.log)"
fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
