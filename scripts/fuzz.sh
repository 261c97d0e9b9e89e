#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS] [TARGET...] — builds the libFuzzer targets (tests/fuzz) with clang,
# ASan and UBSan in build-fuzz/, then fuzzes each for SECONDS (default 60) from its seed corpus
# (tests/fuzz/corpus/<target>/; new inputs go to build-fuzz/corpus/<target>/, never into the
# tree). A crash, leak or sanitizer report stops the target, leaves the input in
# build-fuzz/findings/<target>/ and makes the script fail. Prints one line per target with the
# inputs tried. Debian 12: clang is installed when missing.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(fuzz_safetensors fuzz_config fuzz_npy fuzz_tokenizer)
if ! command -v clang++ >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang
fi
if [ ! -f build-fuzz/build.ninja ]; then
  CXX=clang++ CC=clang meson setup build-fuzz -Dfuzz=true -Dcuda=disabled -Dbench=disabled -Dtests=false \
    -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized > /dev/null || exit 1
fi
ninja -C build-fuzz $(printf 'tests/fuzz/%s ' "${targets[@]}") > build-fuzz/fuzz-build.log 2>&1 || { tail -20 build-fuzz/fuzz-build.log; exit 1; }
status=0
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1
export BRAID_FIXTURES=$PWD/tests/fixtures
for t in "${targets[@]}"; do
  mkdir -p "build-fuzz/corpus/$t" "build-fuzz/findings/$t"
  log=build-fuzz/findings/$t/log.txt
  "build-fuzz/tests/fuzz/$t" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="build-fuzz/findings/$t/" "build-fuzz/corpus/$t" "tests/fuzz/corpus/$t" > "$log" 2>&1
  rc=$?
  runs=$(grep -o 'Done [0-9]* runs' "$log" | grep -o '[0-9]*' || true)
  if [ $rc -ne 0 ]; then
    status=1
    echo "$t: FINDING after ${seconds}s (see $log and build-fuzz/findings/$t/)"
    grep -m3 -E 'ERROR|runtime error|SUMMARY' "$log"
  else
    echo "$t: ${runs:-?} inputs in ${seconds}s, no finding"
  fi
done
exit $status
