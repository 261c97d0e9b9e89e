#!/usr/bin/env bash
# Set up and build (scripts/setup.sh), then run every default test suite. Slow suites are
# opt-in: `meson test -C build --suite slow`.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
meson test -C build --print-errorlogs --no-suite slow
rc=$?
# One closing line with the counts of meson tests.
python3 - <<'PY'
import json
ok = bad = skipped = 0
for line in open("build/meson-logs/testlog.json"):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"): ok += 1
    elif r == "SKIP": skipped += 1
    else: bad += 1
print(f"{ok} passed, {bad} failed, {skipped} skipped")
PY
exit $rc
