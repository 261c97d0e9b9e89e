#!/usr/bin/env bash
# scripts/gpu-check.sh — health check of a CUDA machine in one command, with one JSON report.
#
#   scripts/gpu-check.sh [REPORT.json]        default: bench/results/gpu-check-<device>.json
#
# Steps (each is recorded in the report; a failed step does not stop the later ones):
#   1. configure and build: meson setup $BUILD_DIR -Dcuda=enabled -Donednn=disabled -Dbench=disabled
#   2. every meson test: meson test -C $BUILD_DIR (per-suite and per-test results)
#   3. parity: braid parity --backend cuda --json, once with --dtype f32 and once with bf16
#      (per contract and dtype: passed / failed / not_supported / skipped and the worst NMSE)
#   4. compute-sanitizer --tool memcheck on every CUDA test binary ($BUILD_DIR/tests/cuda/test_*)
#   5. the report: device name, driver, CUDA version, commit, date, and the results above
#
# Environment:
#   BRAID_EXTRA_INCLUDE  ':'-separated folders with header-only dependencies (doctest,
#                        nlohmann-json, CLI11, Eigen) for a machine without their packages. The
#                        first goes to -Dextra_include (meson.build finds these by header there
#                        when pkg-config lacks them); any further ones to -Dcpp_args=-I…
#   BUILD_DIR            build folder (default build-gpu); reconfigured when it exists
#   MESON_ARGS           more `meson setup` arguments, e.g. "-Dopenmp=disabled"
#   BRAID_COMMIT         the commit to record when the tree is not a git checkout
# Needs nvidia-smi, nvcc (or /usr/local/cuda/bin/nvcc), meson, ninja and python3.
# Exit status: 0 when every step passed, 1 when a step failed (see the report), 2 when the
# machine cannot run the check at all (no GPU, no nvcc, no python3).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
build=${BUILD_DIR:-build-gpu}
[[ -d /usr/local/cuda/bin ]] && PATH="$PATH:/usr/local/cuda/bin"
[[ -d /usr/local/cuda/lib64 ]] && export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}/usr/local/cuda/lib64"

die() { echo "gpu-check: $*" >&2; exit 2; }
command -v nvidia-smi >/dev/null || die "nvidia-smi not found: not a CUDA machine"
command -v nvcc >/dev/null || die "nvcc not found (PATH or /usr/local/cuda/bin)"
command -v python3 >/dev/null || die "python3 not found (needed to write the report)"
command -v meson >/dev/null || die "meson not found"

gpu_line=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -n 1)
[[ -n "$gpu_line" ]] || die "nvidia-smi lists no GPU"
device=$(echo "$gpu_line" | cut -d, -f1 | sed 's/^ *//; s/ *$//')
driver=$(echo "$gpu_line" | cut -d, -f2 | sed 's/^ *//; s/ *$//')
memory=$(echo "$gpu_line" | cut -d, -f3 | sed 's/^ *//; s/ *$//')
gpu_count=$(nvidia-smi --query-gpu=name --format=csv,noheader | wc -l)
cuda_version=$(nvcc --version | sed -n 's/.*release \([0-9.]*\).*/\1/p' | head -n 1)
slug=$(echo "$device" | tr '[:upper:]' '[:lower:]' | sed 's/[^a-z0-9]\{1,\}/-/g; s/^-//; s/-$//')
report=${1:-bench/results/gpu-check-$slug.json}
commit=${BRAID_COMMIT:-$(git rev-parse --verify -q HEAD 2>/dev/null || echo unknown)}
# Uncommitted changes: known only in a git checkout ("unknown" in a copied tree).
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  dirty=$(git diff --quiet HEAD 2>/dev/null && echo false || echo true)
else
  dirty=unknown
fi
date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)

logs="$build/gpu-check"
mkdir -p "$logs" "$(dirname "$report")"
echo "gpu-check: $device (driver $driver, CUDA $cuda_version), commit $commit, logs in $logs"

# ---- 1. configure and build --------------------------------------------------------------------
setup_args=(-Dcuda=enabled -Donednn=disabled -Dbench=disabled -Dbuildtype=release)
if [[ -n "${BRAID_EXTRA_INCLUDE:-}" ]]; then
  IFS=: read -r -a extra_dirs <<<"$BRAID_EXTRA_INCLUDE"
  setup_args+=("-Dextra_include=${extra_dirs[0]}")
  cpp_args=""
  for d in "${extra_dirs[@]:1}"; do cpp_args+="${cpp_args:+,}-I$d"; done
  [[ -n "$cpp_args" ]] && setup_args+=("-Dcpp_args=$cpp_args")
fi
# shellcheck disable=SC2206  # MESON_ARGS is split on purpose
setup_args+=(${MESON_ARGS:-})
if [[ -d "$build/meson-private" ]]; then
  meson setup --reconfigure "$build" "${setup_args[@]}" >"$logs/setup.log" 2>&1
else
  meson setup "$build" "${setup_args[@]}" >"$logs/setup.log" 2>&1
fi
setup_rc=$?
build_rc=1
if [[ $setup_rc -eq 0 ]]; then
  echo "gpu-check: building"
  meson compile -C "$build" >"$logs/build.log" 2>&1
  build_rc=$?
fi
echo "gpu-check: setup rc=$setup_rc build rc=$build_rc"

# ---- 2. every meson test ---------------------------------------------------------------------
test_rc=1
rm -f "$build/meson-logs/testlog.json"
if [[ $build_rc -eq 0 ]]; then
  echo "gpu-check: meson test"
  meson test -C "$build" --print-errorlogs >"$logs/test.log" 2>&1
  test_rc=$?
fi
echo "gpu-check: meson test rc=$test_rc"

# ---- 3. parity on CUDA, f32 and bf16 ---------------------------------------------------------
declare -A parity_rc
for dt in f32 bf16; do
  parity_rc[$dt]=1
  : >"$logs/parity-$dt.jsonl"
  if [[ $build_rc -eq 0 ]]; then
    echo "gpu-check: braid parity --backend cuda --dtype $dt"
    "$build/models/braid" parity --backend cuda --json --dtype "$dt" >"$logs/parity-$dt.jsonl" 2>"$logs/parity-$dt.err"
    parity_rc[$dt]=$?
  fi
  echo "gpu-check: parity $dt rc=${parity_rc[$dt]}"
done

# ---- 4. memcheck on the CUDA test binaries ---------------------------------------------------
memcheck_list="$logs/memcheck.tsv"  # binary <TAB> exit code <TAB> log
: >"$memcheck_list"
if [[ $build_rc -eq 0 ]] && command -v compute-sanitizer >/dev/null; then
  while IFS= read -r bin; do
    name=$(basename "$bin")
    echo "gpu-check: compute-sanitizer --tool memcheck $name"
    # Memory-access errors only: the CUDA tests provoke API errors on purpose (an out-of-memory
    # cudaMalloc checks that raw_alloc throws), which are not memory errors.
    compute-sanitizer --tool memcheck --report-api-errors no --error-exitcode 99 --print-limit 50 "$bin" \
      >"$logs/memcheck-$name.log" 2>&1
    printf '%s\t%s\t%s\n' "$name" "$?" "$logs/memcheck-$name.log" >>"$memcheck_list"
  done < <(find "$build/tests/cuda" -maxdepth 1 -type f -name 'test_*' -perm -u+x 2>/dev/null | sort)
fi
have_sanitizer=$(command -v compute-sanitizer >/dev/null && echo true || echo false)

# ---- 5. the report ----------------------------------------------------------------------------
export GC_DEVICE="$device" GC_DRIVER="$driver" GC_MEMORY="$memory" GC_GPUS="$gpu_count" GC_CUDA="$cuda_version"
export GC_COMMIT="$commit" GC_DIRTY="$dirty" GC_DATE="$date_utc" GC_BUILD="$build" GC_LOGS="$logs"
export GC_SETUP_RC=$setup_rc GC_BUILD_RC=$build_rc GC_TEST_RC=$test_rc
export GC_PARITY_F32_RC=${parity_rc[f32]} GC_PARITY_BF16_RC=${parity_rc[bf16]}
export GC_SANITIZER=$have_sanitizer GC_MEMCHECK="$memcheck_list" GC_REPORT="$report"
export GC_SETUP_ARGS="${setup_args[*]}"
python3 - <<'PY'
import json, os, re
from collections import defaultdict

env = os.environ
logs = env["GC_LOGS"]

def tail(path, n=20):
    try:
        with open(path, errors="replace") as f:
            return f.read().splitlines()[-n:]
    except OSError:
        return []

# meson test: testlog.json, one object per test; names read "project:suite / test".
tests, suites = [], defaultdict(lambda: defaultdict(int))
try:
    with open(os.path.join(env["GC_BUILD"], "meson-logs", "testlog.json")) as f:
        for line in f:
            t = json.loads(line)
            # Meson names a test "project:suite / name" (1.0) or "name - project:suite" (newer).
            full = t["name"]
            if " / " in full:
                where, _, name = full.partition(" / ")
            else:
                name, _, where = full.partition(" - ")
            suite = where.split(":", 1)[-1] if where else "-"
            if isinstance(t.get("suite"), list) and t["suite"]:
                suite = t["suite"][0].split(":", 1)[-1]
            tests.append({"name": name, "suite": suite, "result": t["result"],
                          "duration_s": round(t.get("duration", 0.0), 2), "returncode": t.get("returncode")})
            suites[suite][t["result"]] += 1
except OSError:
    pass

# parity: JSONL per dtype; per contract the counts and the worst NMSE of the cases that ran.
parity = {}
for dt in ("f32", "bf16"):
    path = os.path.join(logs, f"parity-{dt}.jsonl")
    per, summary, failures = {}, None, []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line.startswith("{"):
                    continue
                r = json.loads(line)
                if "summary" in r:
                    summary = r["summary"]
                    continue
                c = per.setdefault(r["contract"], {"passed": 0, "failed": 0, "not_supported": 0, "skipped": 0,
                                                   "worst_nmse": None, "worst_case": None})
                key = {"ok": "passed", "FAIL": "failed"}.get(r["status"], r["status"])
                c[key] = c.get(key, 0) + 1
                nmse = r.get("nmse")
                if r["status"] in ("ok", "FAIL") and nmse is not None and (c["worst_nmse"] is None or nmse > c["worst_nmse"]):
                    c["worst_nmse"], c["worst_case"] = nmse, r["case"]
                if r["status"] == "FAIL":
                    failures.append({"contract": r["contract"], "case": r["case"], "message": r.get("message", ""),
                                     "repro": r.get("repro", "")})
                if r["status"] == "not_supported":
                    reasons = c.setdefault("not_supported_reasons", [])
                    if r.get("message") and r["message"] not in reasons:
                        reasons.append(r["message"])
    except OSError:
        pass
    rc = int(env[f"GC_PARITY_{dt.upper()}_RC"])
    parity[dt] = {"exit_code": rc, "summary": summary, "per_contract": per, "failures": failures,
                  "stderr_tail": tail(os.path.join(logs, f"parity-{dt}.err"), 5)}

# memcheck: one row per binary; "ERROR SUMMARY: N errors" from the sanitizer's log.
memcheck = []
try:
    with open(env["GC_MEMCHECK"]) as f:
        for line in f:
            name, rc, log = line.rstrip("\n").split("\t")
            errors = None
            for l in tail(log, 200):
                m = re.search(r"ERROR SUMMARY: (\d+) error", l)
                if m:
                    errors = int(m.group(1))
            memcheck.append({"binary": name, "exit_code": int(rc), "errors": errors,
                             "ok": int(rc) == 0 and errors == 0, "log": log})
except OSError:
    pass

setup_rc, build_rc, test_rc = (int(env[k]) for k in ("GC_SETUP_RC", "GC_BUILD_RC", "GC_TEST_RC"))
parity_ok = all(p["exit_code"] == 0 and p["summary"] is not None and p["summary"]["failed"] == 0 for p in parity.values())
memcheck_ok = env["GC_SANITIZER"] == "true" and bool(memcheck) and all(m["ok"] for m in memcheck)
report = {
    "device": {"name": env["GC_DEVICE"], "driver": env["GC_DRIVER"], "memory": env["GC_MEMORY"],
               "gpus": int(env["GC_GPUS"]), "cuda": env["GC_CUDA"]},
    "commit": env["GC_COMMIT"], "dirty": {"true": True, "false": False}.get(env["GC_DIRTY"]), "date": env["GC_DATE"],
    "build": {"dir": env["GC_BUILD"], "setup_args": env["GC_SETUP_ARGS"], "setup_exit_code": setup_rc,
              "build_exit_code": build_rc,
              "log_tail": tail(os.path.join(logs, "build.log" if setup_rc == 0 else "setup.log"), 15) if build_rc else []},
    "tests": {"exit_code": test_rc, "suites": {s: dict(c) for s, c in sorted(suites.items())}, "results": tests},
    "parity": parity,
    "memcheck": {"available": env["GC_SANITIZER"] == "true", "ok": memcheck_ok, "binaries": memcheck},
}
report["ok"] = setup_rc == 0 and build_rc == 0 and test_rc == 0 and parity_ok and memcheck_ok
with open(env["GC_REPORT"], "w") as f:
    json.dump(report, f, indent=2)
    f.write("\n")
print(f"gpu-check: report {env['GC_REPORT']}: {'ok' if report['ok'] else 'FAILED'}")
for dt, p in parity.items():
    print(f"  parity {dt}: {p['summary']}")
print(f"  tests: {dict((s, dict(c)) for s, c in suites.items())}")
print(f"  memcheck: {[(m['binary'], m['errors']) for m in memcheck] or 'no CUDA test binaries'}")
raise SystemExit(0 if report["ok"] else 1)
PY
