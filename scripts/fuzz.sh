#!/bin/sh
# Runs the libFuzzer targets built by `make fuzz-build` (build/fuzz/fuzz_*).
#
#   scripts/fuzz.sh [--seconds N | --cpu-seconds N] [--dir DIR] [--bin DIR] [--nice] [TARGET...]
#
# Each target runs on a scratch corpus (DIR/<target>, by default
# build/fuzz/run/<target>) seeded from tests/fuzz/corpus/<target>, never in
# the git tree; what a run finds stays there for the next run. --seconds N stops each after N seconds of wall-clock time
# (libFuzzer's -max_total_time), one target after another. --cpu-seconds N
# runs them all at once and stops each with SIGINT once it has used N seconds
# of CPU, which is fair on a busy machine; --nice runs them under nice -n 19.
# --bin DIR takes the binaries from DIR (default build/fuzz), e.g. copies that
# a rebuild during a long run must not replace. Targets default to all four. Per target it prints executions, executions
# per second, the corpus size and, for a crash, the report and the input
# (kept in DIR/<target>-artifacts/). Exits 1 if any target crashed or did
# not run, and says which; the last line is "fuzz: N passed, M failed".
cd "$(dirname "$0")/.." || exit 1

seconds=60
cpu=""
dir=build/fuzz/run
bindir=build/fuzz
nice=""
while [ $# -gt 0 ]; do
	case "$1" in
	--seconds) seconds=$2; shift 2 ;;
	--cpu-seconds) cpu=$2; shift 2 ;;
	--dir) dir=$2; shift 2 ;;
	--bin) bindir=$2; shift 2 ;;
	--nice) nice="nice -n 19"; shift ;;
	-*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
targets=${*:-parser mime search mutf7}

# Sanitizer reports must fail the run, leaks included.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# Prepares DIR/<t> (the scratch corpus) and DIR/<t>-artifacts; prints the
# libFuzzer arguments every run of t uses.
prepare() {
	t=$1
	mkdir -p "$dir/$t" "$dir/$t-artifacts"
	# -n: a corpus kept from an earlier run keeps its files and gains new seeds
	cp -n tests/fuzz/corpus/"$t"/* "$dir/$t"/
	dict=""
	[ -f tests/fuzz/"$t".dict ] && dict="-dict=tests/fuzz/$t.dict"
	echo "-artifact_prefix=$dir/$t-artifacts/ -print_final_stats=1 -timeout=25 -rss_limit_mb=2048 $dict $dir/$t"
}

# The figures of a finished run from its log; a crash is any sanitizer
# report, libFuzzer "deadly signal", timeout, OOM or leak, or a missing
# stats block.
report() {
	t=$1 log=$2 rc=$3
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	files=$(find "$dir/$t" -type f | wc -l)
	bytes=$(find "$dir/$t" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
	cpus=""
	[ -f "$dir/$t.cpu" ] && cpus=" cpu_s=$(cat "$dir/$t.cpu")"
	if [ "$rc" -ne 0 ] || [ -z "$execs" ] ||
		grep -qE '^==[0-9]+==ERROR|runtime error:|^SUMMARY: (Address|Undefined|Leak)Sanitizer|deadly signal' "$log"; then
		echo "fuzz $t: FAILED (exit $rc)$cpus execs=${execs:-?} exec/s=${speed:-?} corpus=$files files/$bytes bytes"
		# the report up to its SUMMARY line (the shadow-byte map is noise)
		sed -n '/ERROR\|runtime error\|deadly signal/,/^SUMMARY/p' "$log" | head -n 80
		for a in "$dir/$t-artifacts"/*; do
			[ -f "$a" ] || continue
			echo "fuzz $t: input kept in $a; base64 (first 4 KiB):"
			head -c 4096 "$a" | base64 -w 0
			echo
		done
		return 1
	fi
	echo "fuzz $t: ok$cpus execs=$execs exec/s=$speed corpus=$files files/$bytes bytes"
}

# CPU seconds (user + system) of a process, from /proc/PID/stat.
cpu_of() {
	awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print int(($12 + $13) / hz) }' \
		"/proc/$1/stat" 2>/dev/null
}

pass=0
fail=0
count() {
	if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
}

run_timed() { # one target for $seconds of wall-clock time
	t=$1 bin=$bindir/fuzz_$t log=$dir/$t.log
	[ -x "$bin" ] || { echo "fuzz $t: FAILED ($bin not built)"; return 1; }
	# shellcheck disable=SC2046 # prepare's words are separate arguments
	$nice "$bin" -max_total_time="$seconds" $(prepare "$t") >"$log" 2>&1
	report "$t" "$log" $?
}

run_cpu() { # all targets at once, each until it has $cpu CPU seconds
	pids=""
	for t in $targets; do
		bin=$bindir/fuzz_$t
		[ -x "$bin" ] || { echo "fuzz $t: FAILED ($bin not built)"; fail=$((fail + 1)); continue; }
		# shellcheck disable=SC2046
		$nice "$bin" $(prepare "$t") >"$dir/$t.log" 2>&1 &
		echo $! >"$dir/$t.pid"
		echo "fuzz $t: started, pid $!, log $dir/$t.log"
		pids="$pids $t"
	done
	running=$pids
	while [ -n "$running" ]; do
		sleep 10
		still=""
		for t in $running; do
			pid=$(cat "$dir/$t.pid")
			used=$(cpu_of "$pid")
			if [ -z "$used" ]; then # it ended on its own: a crash
				continue
			fi
			echo "$used" >"$dir/$t.cpu"
			if [ "$used" -ge "$cpu" ]; then
				kill -INT "$pid"
			fi
			still="$still $t"
		done
		running=$still
	done
	for t in $pids; do
		wait "$(cat "$dir/$t.pid")"
		rc=$?
		# SIGINT is how we stop it: libFuzzer then exits 0 or 130 (72 on
		# some versions); anything else is its own verdict.
		case $rc in 0 | 130 | 72) rc=0 ;; esac
		count report "$t" "$dir/$t.log" "$rc"
	done
}

mkdir -p "$dir"
if [ -n "$cpu" ]; then
	run_cpu
else
	for t in $targets; do
		count run_timed "$t"
	done
fi
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
