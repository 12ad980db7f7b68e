#!/usr/bin/env bash
# The load runner's bars (issue 4), measured on this machine in one session:
#  1. requests/s of `grantbench load` (client credentials, closed model, 32 workers,
#     10 s, every token response parsed and checked), vegeta v12.13.0 (same POST)
#     and wrk, one after another in ROUNDS alternating rounds, against
#     `grantbench provider` with ES256, the provider pinned to core 0 with
#     GOMAXPROCS=1 and each client to core 1; with each client's CPU time per
#     request, since on a shared machine that is the steadier figure;
#  2. peak RSS of a 1,000,000-flow client credentials run (/usr/bin/time -v).
# Needs: go, wrk, taskset, curl, /usr/bin/time. Set SKIP_MILLION=1 to skip part 2.
set -euo pipefail
cd "$(dirname "$0")/../.."

port=${PORT:-9400}
work=$(mktemp -d)
go build -o "$work/grantbench" ./cmd/grantbench
GOBIN="$work" go install github.com/tsenart/vegeta/v12@v12.13.0

GOMAXPROCS=1 taskset -c 0 "$work/grantbench" provider --alg ES256 --addr "127.0.0.1:$port" >"$work/provider.log" 2>&1 &
provider=$!
trap 'kill "$provider" 2>/dev/null; wait "$provider" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 50); do
  curl -fsS "http://127.0.0.1:$port/.well-known/openid-configuration" >/dev/null 2>&1 && break
  sleep 0.1
done

basic=$(printf 'demo:demo-secret' | base64)
body='grant_type=client_credentials&scope=api.read'
printf '%s' "$body" >"$work/body"
printf 'POST http://127.0.0.1:%s/token\nContent-Type: application/x-www-form-urlencoded\nAuthorization: Basic %s\n@%s\n' "$port" "$basic" "$work/body" >"$work/targets"
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body   = "$body"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $basic"
LUA
cat >"$work/target.yaml" <<YAML
issuer: http://127.0.0.1:$port
clients:
  confidential: {client_id: demo, client_secret: demo-secret, auth_method: client_secret_basic, scopes: [api.read]}
YAML

# One round runs wrk, vegeta and grantbench one after another; ROUNDS rounds
# (default 3) alternate them, because the provider's capacity drifts on a
# shared machine and only side-by-side figures compare. Each line gives
# requests/s and the client's CPU per request (user+sys from /usr/bin/time).
# vegeta's figure is its "rate" (requests sent per second of the attack), the
# higher of its two; grantbench's is completed flows per second of the run.
rounds=${ROUNDS:-3}
summary="$work/summary"
: >"$summary"
cpu_of() { awk '{print $1 + $2}' "$1"; }
for round in $(seq 1 "$rounds"); do
  echo "== round $round of $rounds"
  /usr/bin/time -f '%U %S' -o "$work/time" taskset -c 1 wrk -t2 -c32 -d10s -s "$work/post.lua" "http://127.0.0.1:$port/token" >"$work/wrk.out" 2>&1
  wrk_rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.out")
  wrk_n=$(awk '/requests in/ {print $1}' "$work/wrk.out")
  grep -E 'Non-2xx|Socket errors' "$work/wrk.out" || true
  echo "wrk $round $wrk_rps $wrk_n $(cpu_of "$work/time")" >>"$summary"

  /usr/bin/time -f '%U %S' -o "$work/time" taskset -c 1 "$work/vegeta" attack -targets="$work/targets" -rate=0 -max-workers=32 -workers=32 -duration=10s >"$work/vegeta.bin"
  "$work/vegeta" report -type=json <"$work/vegeta.bin" >"$work/vegeta.json"
  read -r veg_n veg_rps veg_ok < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["requests"], d["rate"], d["success"])' "$work/vegeta.json")
  [ "$veg_ok" = 1 ] || echo "vegeta: success ratio $veg_ok"
  echo "vegeta $round $veg_rps $veg_n $(cpu_of "$work/time")" >>"$summary"

  /usr/bin/time -f '%U %S' -o "$work/time" taskset -c 1 "$work/grantbench" load --target "$work/target.yaml" --flow client_credentials \
    --workers 32 --duration 10s --out "$work/load" --progress off >"$work/grantbench.out" 2>&1
  gb_n=$(awk '$1 == "flows" {print $2}' "$work/grantbench.out")
  gb_failed=$(awk '$1 == "flows" {print $4}' "$work/grantbench.out")
  [ "$gb_failed" = 0 ] || grep -E 'flows |step ' "$work/grantbench.out"
  gb_rps=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["scenarios"][0]["achieved_rate"])' "$work/load/load.json" 2>/dev/null || awk '$1 == "flows" {sub(/\/s$/, "", $NF); print $NF}' "$work/grantbench.out")
  echo "grantbench $round $gb_rps $gb_n $(cpu_of "$work/time")" >>"$summary"
  awk -v r="$round" '$2 == r {printf "  %-10s %9.0f req/s  %6.1f us client CPU per request\n", $1, $3, $5 / $4 * 1e6}' "$summary"
done
echo "== grantbench / vegeta and grantbench / wrk, per round (requests/s), and the medians"
python3 - "$summary" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
rps = {(r[0], r[1]): float(r[2]) for r in rows}
rounds = sorted({r[1] for r in rows}, key=int)
veg = [rps["grantbench", k] / rps["vegeta", k] for k in rounds]
wrk = [rps["grantbench", k] / rps["wrk", k] for k in rounds]
print("  vs vegeta: " + " ".join(f"{x:.2f}" for x in veg) + f"; median {statistics.median(veg):.2f}x (bar: 1.0x)")
print("  vs wrk:    " + " ".join(f"{x:.2f}" for x in wrk) + f"; median {statistics.median(wrk):.2f}x (goal: 0.6x)")
PY

if [ "${SKIP_MILLION:-}" != 1 ]; then
  echo "== grantbench load, 1,000,000 client credentials flows"
  /usr/bin/time -v taskset -c 1 "$work/grantbench" load --target "$work/target.yaml" --flow client_credentials --workers 32 \
    --iterations 1000000 --out "$work/million" --progress off 2>&1 | grep -E 'flows |Maximum resident|Elapsed|User time|System time'
fi
