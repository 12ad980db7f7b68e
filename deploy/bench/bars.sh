#!/usr/bin/env bash
# The load runner's bars (issue 4), measured on this machine in one session:
#  1. requests/s of `grantbench load` (client credentials, closed model, 32 workers,
#     10 s, every token response parsed and checked), vegeta v12.13.0 (same POST)
#     and wrk, one after another in ROUNDS alternating rounds, against
#     `grantbench provider` with ES256, the provider pinned to core 0 with
#     GOMAXPROCS=1 and each client to core 1; with each client's CPU time per
#     request, since on a shared machine that is the steadier figure;
#  2. the same clients against cannedop (this directory), which answers every
#     token request with the provider's own response bytes and signs nothing: on
#     one core it outpaces every client, so there the client is the bottleneck
#     and requests/s compares the clients themselves;
#  3. peak RSS of a 1,000,000-flow client credentials run (/usr/bin/time -v).
# Needs: go, wrk, taskset, curl, python3, /usr/bin/time. SKIP_MILLION=1 skips part 3.
set -euo pipefail
cd "$(dirname "$0")/../.."

port=${PORT:-9400}
canned_port=$((port + 1))
work=$(mktemp -d)
go build -o "$work/grantbench" ./cmd/grantbench
go build -o "$work/cannedop" ./deploy/bench/cannedop
GOBIN="$work" go install github.com/tsenart/vegeta/v12@v12.13.0

servers=""
trap 'for p in $servers; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$work"' EXIT
wait_up() { # port
  for _ in $(seq 1 50); do
    curl -fsS "http://127.0.0.1:$1/.well-known/openid-configuration" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "nothing answers on 127.0.0.1:$1" >&2
  return 1
}

GOMAXPROCS=1 taskset -c 0 "$work/grantbench" provider --alg ES256 --addr "127.0.0.1:$port" >"$work/provider.log" 2>&1 &
servers="$servers $!"
wait_up "$port"

basic=$(printf 'demo:demo-secret' | base64)
body='grant_type=client_credentials&scope=api.read'
printf '%s' "$body" >"$work/body"
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body   = "$body"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $basic"
LUA
# The provider's response, for cannedop to send back byte for byte.
curl -fsS -u demo:demo-secret -d "$body" "http://127.0.0.1:$port/token" >"$work/token.json"

rounds=${ROUNDS:-3}
summary="$work/summary"
: >"$summary"
cpu_of() { awk '{print $1 + $2}' "$1"; }

# measure SERVER PORT: ROUNDS rounds of wrk, vegeta and grantbench one after
# another, alternating, because a server's capacity drifts on a shared machine
# and only side-by-side figures compare. Each line gives requests/s and the
# client's CPU per request (user+sys from /usr/bin/time). vegeta's figure is its
# "rate" (requests sent per second of the attack), the higher of its two;
# grantbench's is completed flows per second of the run.
measure() {
  local server=$1 p=$2
  printf 'POST http://127.0.0.1:%s/token\nContent-Type: application/x-www-form-urlencoded\nAuthorization: Basic %s\n@%s\n' "$p" "$basic" "$work/body" >"$work/targets"
  cat >"$work/target.yaml" <<YAML
issuer: http://127.0.0.1:$p
clients:
  confidential: {client_id: demo, client_secret: demo-secret, auth_method: client_secret_basic, scopes: [api.read]}
YAML
  for round in $(seq 1 "$rounds"); do
    echo "== $server, round $round of $rounds"
    /usr/bin/time -f '%U %S' -o "$work/time" taskset -c 1 wrk -t2 -c32 -d10s -s "$work/post.lua" "http://127.0.0.1:$p/token" >"$work/wrk.out" 2>&1
    grep -E 'Non-2xx|Socket errors' "$work/wrk.out" || true
    echo "$server wrk $round $(awk '/Requests\/sec/ {print $2}' "$work/wrk.out") $(awk '/requests in/ {print $1}' "$work/wrk.out") $(cpu_of "$work/time")" >>"$summary"

    /usr/bin/time -f '%U %S' -o "$work/time" taskset -c 1 "$work/vegeta" attack -targets="$work/targets" -rate=0 -max-workers=32 -workers=32 -duration=10s >"$work/vegeta.bin"
    "$work/vegeta" report -type=json <"$work/vegeta.bin" >"$work/vegeta.json"
    read -r veg_n veg_rps veg_ok < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["requests"], d["rate"], d["success"])' "$work/vegeta.json")
    [ "$veg_ok" = 1 ] || echo "vegeta: success ratio $veg_ok"
    echo "$server vegeta $round $veg_rps $veg_n $(cpu_of "$work/time")" >>"$summary"

    rm -rf "$work/load"
    /usr/bin/time -f '%U %S' -o "$work/time" taskset -c 1 "$work/grantbench" load --target "$work/target.yaml" --flow client_credentials \
      --workers 32 --duration 10s --out "$work/load" --progress off >"$work/grantbench.out" 2>&1
    [ "$(awk '$1 == "flows" {print $4}' "$work/grantbench.out")" = 0 ] || grep -E 'flows |step ' "$work/grantbench.out"
    read -r gb_n gb_rps < <(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["scenarios"][0]; print(s["flows"].get("ok", 0), s["achieved_rate"])' "$work/load/load.json")
    echo "$server grantbench $round $gb_rps $gb_n $(cpu_of "$work/time")" >>"$summary"
    awk -v s="$server" -v r="$round" '$1 == s && $3 == r {printf "  %-10s %9.0f req/s  %6.1f us client CPU per request\n", $2, $4, $6 / $5 * 1e6}' "$summary"
  done
}

measure provider "$port"

GOMAXPROCS=1 taskset -c 0 "$work/cannedop" --addr "127.0.0.1:$canned_port" --body "$work/token.json" >"$work/cannedop.log" 2>&1 &
servers="$servers $!"
wait_up "$canned_port"
measure cannedop "$canned_port"

echo "== grantbench / vegeta and grantbench / wrk per round (requests/s), medians, and client CPU per request"
python3 - "$summary" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
rps = {(r[0], r[1], r[2]): float(r[3]) for r in rows}
cpu = {(r[0], r[1], r[2]): float(r[5]) / float(r[4]) * 1e6 for r in rows}
for server, what in (("provider", "the provider is the bottleneck"), ("cannedop", "the client is the bottleneck")):
    rounds = sorted({r[2] for r in rows if r[0] == server}, key=int)
    veg = [rps[server, "grantbench", k] / rps[server, "vegeta", k] for k in rounds]
    wrk = [rps[server, "grantbench", k] / rps[server, "wrk", k] for k in rounds]
    print(f"  against {server} ({what}):")
    print("    vs vegeta: " + " ".join(f"{x:.2f}" for x in veg) + f"; median {statistics.median(veg):.2f}x (bar: 1.0x)")
    print("    vs wrk:    " + " ".join(f"{x:.2f}" for x in wrk) + f"; median {statistics.median(wrk):.2f}x (bar: 0.85x)")
    print("    client CPU per request, median: " + ", ".join(
        f"{c} {statistics.median(cpu[server, c, k] for k in rounds):.1f} us" for c in ("wrk", "vegeta", "grantbench")))
PY

if [ "${SKIP_MILLION:-}" != 1 ]; then
  echo "== grantbench load, 1,000,000 client credentials flows against the provider"
  sed -i "s/:$canned_port\$/:$port/" "$work/target.yaml"
  /usr/bin/time -v taskset -c 1 "$work/grantbench" load --target "$work/target.yaml" --flow client_credentials --workers 32 \
    --iterations 1000000 --out "$work/million" --progress off 2>&1 | grep -E 'flows |Maximum resident|Elapsed|User time|System time'
fi
