#!/bin/sh
# Measures the token endpoint as issue 2 asks: servers pinned to core 0 with
# GOMAXPROCS=1, wrk on core 1 (-t2 -c32 -d10s), client_credentials as the
# demo client, for RS256 and ES256. The provider and the floor (this
# directory's minimal handler) run side by side, idle but for the one under
# test, and are measured alternately ROUNDS times (default 3) so that noise
# from other processes on the machine hits both alike. Besides wrk's
# requests/s it prints requests per CPU-second of the server process
# (utime+stime from /proc), which holds steady when other work shares core 0.
# Usage, from the repository root: mockprovider/internal/benchfloor/run.sh
set -eu
rounds=${ROUNDS:-3}
dir=$(mktemp -d)
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null || true; done; rm -rf "$dir"' EXIT
# GRANTBENCH_BIN: a prebuilt grantbench binary to measure instead of building one.
if [ -n "${GRANTBENCH_BIN:-}" ]; then cp "$GRANTBENCH_BIN" "$dir/grantbench"; else go build -o "$dir/grantbench" ./cmd/grantbench; fi
go build -o "$dir/benchfloor" ./mockprovider/internal/benchfloor
lua=mockprovider/internal/benchfloor/token.lua

hz=$(getconf CLK_TCK)
start() { # port command...
	port=$1
	shift
	GOMAXPROCS=1 taskset -c 0 "$@" >"$dir/$port.log" 2>&1 &
	pids="$pids $!"
	eval "pid_$port=$!"
	i=0
	until curl -fs -o /dev/null -u demo:demo-secret -d grant_type=client_credentials "http://127.0.0.1:$port/token"; do
		i=$((i + 1))
		[ $i -lt 100 ] || { echo "server on $port did not start"; cat "$dir/$port.log"; exit 1; }
		sleep 0.1
	done
	taskset -c 1 wrk -t2 -c32 -d2s -s $lua "http://127.0.0.1:$port/token" >/dev/null # warm-up
}
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime+stime in ticks
rps() { # port -> "req/s req-per-cpu-second"
	pid=$(eval echo "\$pid_$1")
	before=$(cpu "$pid")
	out=$(taskset -c 1 wrk -t2 -c32 -d10s -s $lua "http://127.0.0.1:$1/token")
	after=$(cpu "$pid")
	if echo "$out" | grep -q "Non-2xx"; then echo "non-2xx answers on $1:" >&2; echo "$out" >&2; exit 1; fi
	n=$(echo "$out" | awk '/requests in/ {print $1}')
	r=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
	echo "$r $(echo "$n $before $after $hz" | awk '{printf "%.0f", $1 / (($3 - $2) / $4)}')"
}
for alg in RS256 ES256; do
	start 9200 "$dir/grantbench" provider --addr 127.0.0.1:9200 --alg $alg
	start 9300 "$dir/benchfloor" --addr 127.0.0.1:9300 --alg $alg
	r=1
	while [ $r -le $rounds ]; do
		p=$(rps 9200)
		f=$(rps 9300)
		echo "$p $f" | awk -v alg=$alg -v r=$r '{printf "%s round %d: provider %s req/s (%s per CPU-s), floor %s req/s (%s per CPU-s), ratio %.2f (per CPU-s %.2f)\n", alg, r, $1, $2, $3, $4, $1/$3, $2/$4}'
		r=$((r + 1))
	done
	for p in $pids; do kill $p 2>/dev/null || true; done
	pids=""
	sleep 0.5
done
# Issue 15's bar: ES256 with three further issuers configured and a sticky
# claims override on the demo client (so every token carries extra claims).
admin=bench-admin-token-0123456789abcdef
start 9200 "$dir/grantbench" provider --addr 127.0.0.1:9200 --alg ES256 --admin-token $admin \
	--config mockprovider/internal/benchfloor/issuers.yaml
curl -fs -o /dev/null -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
	-d '{"client_id":"demo","sticky":true,"access_token":{"roles":["reader","writer"],"tenant":"acme"}}' \
	http://127.0.0.1:9200/admin/claims
start 9300 "$dir/benchfloor" --addr 127.0.0.1:9300 --alg ES256
r=1
while [ $r -le $rounds ]; do
	p=$(rps 9200)
	f=$(rps 9300)
	echo "$p $f" | awk -v r=$r '{printf "ES256 +3 issuers +claims override round %d: provider %s req/s (%s per CPU-s), floor %s req/s (%s per CPU-s), ratio %.2f (per CPU-s %.2f)\n", r, $1, $2, $3, $4, $1/$3, $2/$4}'
	r=$((r + 1))
done
