#!/usr/bin/env bash
# The load runner's bars (issue 4), measured on this machine in one session:
#  1. requests/s of `grantbench load` (client credentials, closed model, 32 workers,
#     10 s, every token response parsed and checked), vegeta v12.13.0 (same POST)
#     and wrk, one after another, against `grantbench provider` with ES256, the
#     provider pinned to core 0 with GOMAXPROCS=1 and each client to core 1;
#     with each client's CPU time, since on a shared machine CPU per request is
#     the steadier figure;
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

timed() { /usr/bin/time -f 'cpu %U+%S s, max RSS %M KB' "$@"; }

echo "== wrk (taskset -c 1 wrk -t2 -c32 -d10s)"
timed taskset -c 1 wrk -t2 -c32 -d10s -s "$work/post.lua" "http://127.0.0.1:$port/token" 2>&1 | grep -E 'requests in|Requests/sec|Non-2xx|cpu'
echo "== vegeta (32 workers, unthrottled, 10s)"
timed taskset -c 1 "$work/vegeta" attack -targets="$work/targets" -rate=0 -max-workers=32 -workers=32 -duration=10s 2>"$work/vegeta.time" >"$work/vegeta.bin"
"$work/vegeta" report <"$work/vegeta.bin" | grep -E '^Requests|^Success|^Status'
cat "$work/vegeta.time"
echo "== grantbench load (32 workers, 10s)"
timed taskset -c 1 "$work/grantbench" load --target "$work/target.yaml" --flow client_credentials --workers 32 --duration 10s \
  --out "$work/load" --progress off 2>&1 | grep -E 'flows |step token|cpu'

if [ "${SKIP_MILLION:-}" != 1 ]; then
  echo "== grantbench load, 1,000,000 client credentials flows"
  /usr/bin/time -v taskset -c 1 "$work/grantbench" load --target "$work/target.yaml" --flow client_credentials --workers 32 \
    --iterations 1000000 --out "$work/million" --progress off 2>&1 | grep -E 'flows |Maximum resident|Elapsed|User time|System time'
fi
