#!/usr/bin/env bash
# Builds the fuzz preset and fuzzes every target for a while, starting from its committed
# corpus. Fails (non-zero) when a target crashes, trips a sanitizer or breaks an invariant;
# libFuzzer then leaves the input in build-fuzz/fuzz/<target>/crash-* — add it to
# tests/fuzz/corpus/<target>/ once the bug is fixed.
#
#   tests/fuzz/run.sh                 # each target 30 s (CI)
#   tests/fuzz/run.sh 600             # each target 10 min
#   tests/fuzz/run.sh 30 mime_builder # one target
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-30}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(http_framing form session_cookie mime_builder)
[[ $seconds =~ ^[0-9]+$ ]] || { echo "run.sh: seconds must be a number, got '$seconds'" >&2; exit 2; }

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -- -j2

status=0
for t in "${targets[@]}"; do
  [ -d "tests/fuzz/corpus/$t" ] || { echo "run.sh: no target '$t' (no tests/fuzz/corpus/$t)" >&2; exit 2; }
  # New inputs go to a scratch corpus in the build tree: the committed one stays small and
  # hand-picked. Crash files land in the working directory.
  work="build-fuzz/fuzz/$t"
  mkdir -p "$work/corpus"
  echo "== fuzz_$t for ${seconds}s"
  if ! (cd "$work" &&
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "../../bin/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
          -print_final_stats=1 corpus "../../../tests/fuzz/corpus/$t" 2>"log.txt"); then
    status=1
    echo "fuzz_$t FAILED; the report (last 60 lines of $work/log.txt):" >&2
    tail -n 60 "$work/log.txt" >&2
    continue
  fi
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)|cov: ' \
    "$work/log.txt" | tail -n 4
done
exit $status
