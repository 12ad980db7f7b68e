#!/usr/bin/env bash
# The mock provider's memory under sustained authorization-code load (issue 13):
# `grantbench provider` serves `grantbench load --flow authorization_code
# --consent http` (SOAK_WORKERS workers, default 16) for SOAK_DURATION (default
# 5m) while this script samples the provider's RSS (/proc/PID/status) and its
# state metrics (grantbench_provider_state_bytes, _entries, _evicted_total)
# every SOAK_SAMPLE seconds. limits.max_state_bytes is SOAK_STATE_BYTES
# (default 32 MiB, which a 2-core box fills within the first half of the run
# at about 130 flows/s; 134217728 is the provider's own default). The state
# fills to the bound, then the oldest entries go and RSS stays flat: the
# script fails unless the bound was reached and, after it, the largest RSS of
# the second half is within 10% of the first half's.
# Needs: go, curl, awk. make bench SOAK=1 runs it.
set -euo pipefail
cd "$(dirname "$0")/../.."

port=${PORT:-9410}
duration=${SOAK_DURATION:-5m}
sample=${SOAK_SAMPLE:-5}
workers=${SOAK_WORKERS:-16}
work=$(mktemp -d)
go build -o "$work/grantbench" ./cmd/grantbench

provider=""
trap '[ -n "$provider" ] && kill "$provider" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
printf 'limits:\n  max_state_bytes: %s\n' "${SOAK_STATE_BYTES:-33554432}" >"$work/provider.yaml"
"$work/grantbench" provider --addr "127.0.0.1:$port" --config "$work/provider.yaml" >"$work/provider.log" 2>&1 &
provider=$!
for _ in $(seq 1 50); do
  curl -fsS "http://127.0.0.1:$port/.well-known/openid-configuration" >/dev/null 2>&1 && break
  sleep 0.1
done

GRANTBENCH_ISSUER="http://127.0.0.1:$port" "$work/grantbench" load --target examples/targets/mock.yaml \
  --flow authorization_code --consent http --workers "$workers" --duration "$duration" \
  --progress off --out "$work/out" >"$work/load.log" 2>&1 &
load=$!

# One line per sample: seconds, RSS MiB, state MiB, state entries, evicted.
samples="$work/samples"
: >"$samples"
start=$(date +%s)
printf '%6s %9s %10s %9s %9s\n' "t(s)" "RSS(MiB)" "state(MiB)" "entries" "evicted"
while kill -0 "$load" 2>/dev/null; do
  sleep "$sample"
  rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$provider/status")
  metrics=$(curl -fsS "http://127.0.0.1:$port/metrics" || true)
  line=$(awk -v t=$(( $(date +%s) - start )) -v rss="$rss_kb" '
    /^grantbench_provider_state_bytes\{/ {b += $2}
    /^grantbench_provider_state_entries\{/ {e += $2}
    /^grantbench_provider_state_evicted_total\{/ {v += $2}
    END {printf "%6d %9.1f %10.1f %9d %9d\n", t, rss/1024, b/1048576, e, v}' <<<"$metrics")
  echo "$line" | tee -a "$samples"
done
wait "$load" || { echo "load failed:"; tail -5 "$work/load.log"; exit 1; }
grep -E 'flows/s|ok,|failed' "$work/load.log" | head -5 || true
awk '/^VmHWM:/ {printf "provider peak RSS (VmHWM): %.1f MiB\n", $2/1024}' "/proc/$provider/status"

# Flat: once the state reached its bound (the first sample with evictions),
# the largest RSS of the second half of the rest within 10% of the first half's.
awk '{rss[NR] = $2; if (!full && $5 > 0) full = NR} END {
  if (!full) { print "the state never reached its bound: lengthen SOAK_DURATION or lower SOAK_STATE_BYTES"; exit 1 }
  n = NR - full + 1; h = int(n / 2)
  if (h < 2) { print "too few samples after the bound was reached to judge: lengthen SOAK_DURATION"; exit 1 }
  for (i = full; i < full + h; i++) if (rss[i] > a) a = rss[i]
  for (i = full + h; i <= NR; i++) if (rss[i] > b) b = rss[i]
  printf "bound reached at sample %d of %d; RSS after it: first half max %.1f MiB, second half max %.1f MiB (%+.1f%%)\n", full, NR, a, b, 100 * (b - a) / a
  if (b > 1.1 * a) { print "RSS still growing"; exit 1 }
  print "RSS flat"
}' "$samples"
