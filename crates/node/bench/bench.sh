#!/usr/bin/env bash
# Benchmark of the ping-pong services (not a test; run on demand):
#
#   crates/node/bench/bench.sh [seconds]      (default 10 s per run)
#
# In one run, with wrk at the same concurrency (-t2 -c32):
#   1. nginx `return 200` (1 worker): the yardstick
#   2. /start of the node chain, four processes on loopback
#   3. /start through the four containers (john's published port)
# and prints req/s, p50, p99, /start as a ratio to nginx, and each service's
# RSS after the load, and the CPU time the four processes spent per
# /start on loopback (user + system; steadier than req/s on a shared
# machine). NODE_IMAGE=name:tag benches that image instead of building and
# tagging pingpong-node:latest (which other work on the same engine may be
# using); NODE_BIN=path benches that binary on loopback instead of building
# one (e.g. an older build). Installs wrk and nginx from Debian's packages
# when missing. Everything it starts is stopped on exit.
set -euo pipefail

secs=${1:-10}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
cd "$root"

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
if [ ${#need[@]} -gt 0 ]; then
  echo "==> installing ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

work=$(mktemp -d)
pids=()
net=pingpong-bench-$$
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  docker rm -f $(docker ps -aq --filter "label=pingpong.bench=$$") >/dev/null 2>&1 || true
  docker network rm "$net" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }
rss_mb() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# wrk -> "req/s p50_ms p99_ms non2xx"; $2 = "-tT -cC" (default -t2 -c32)
load() {
  # shellcheck disable=SC2086
  wrk ${2:--t2 -c32} -d"${secs}s" --latency "$1" > "$work/wrk.out"
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec/ { rps = $2 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    /Non-2xx/ { bad = $NF }
    END { printf "%.0f %.3f %.3f %d\n", rps, p50, p99, bad }' "$work/wrk.out"
}

echo "==> building release binaries and images"
[ -n "${NODE_BIN:-}" ] || cargo build --release --quiet -p pingpong-node
image=${NODE_IMAGE:-pingpong-node:latest}
[ -n "${NODE_IMAGE:-}" ] || docker/build-images.sh node >/dev/null
bin=${NODE_BIN:-${CARGO_TARGET_DIR:-target}/release/pingpong-node}

# 1. nginx return 200
np=$(free_port)
cat > "$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx.err warn;
events { worker_connections 1024; }
http {
  access_log off;
  server { listen 127.0.0.1:$np; location / { return 200 "ok"; } }
}
CONF
"$NGINX" -c "$work/nginx.conf"
wait_http "http://127.0.0.1:$np/"
read -r n_rps n_p50 n_p99 _ < <(load "http://127.0.0.1:$np/")

# 2. four node processes on loopback, chain mode
ports=()
for _ in 1 2 3 4; do ports+=("$(free_port)"); done
for i in 1 2 3; do
  BIND_ADDR=127.0.0.1:${ports[$i]} PEERS= RUST_LOG=warn "$bin" &
  pids+=($!)
done
BIND_ADDR=127.0.0.1:${ports[0]} PEERS="127.0.0.1:${ports[1]},127.0.0.1:${ports[2]},127.0.0.1:${ports[3]}" \
  RUST_LOG=warn "$bin" &
pids+=($!)
wait_http "http://127.0.0.1:${ports[0]}/start"
# user + system clock ticks of the four processes
ticks() { for p in "${pids[@]}"; do awk '{ print $14 + $15 }' "/proc/$p/stat"; done | awk '{ t += $1 } END { print t }'; }
t0=$(ticks)
read -r l_rps l_p50 l_p99 l_bad < <(load "http://127.0.0.1:${ports[0]}/start")
l_cpu=$(awk -v t="$(( $(ticks) - t0 ))" -v hz="$(getconf CLK_TCK)" -v r="$l_rps" -v s="$secs" \
  'BEGIN { printf "%.0f", t / hz * 1e6 / (r * s) }')
# One request at a time: the latency of the chain itself, without queueing
# (at -c32, Little's law puts p50 near 32 / req/s).
read -r u_rps u_p50 u_p99 _ < <(load "http://127.0.0.1:${ports[0]}/start" "-t1 -c1")
rss_local=$(for p in "${pids[@]}"; do rss_mb "$p"; echo -n " "; done)

# 3. the same through containers on a user-defined network
docker network create --label "pingpong.bench=$$" "$net" >/dev/null
for who in paul george ringo; do
  docker run -d --label "pingpong.bench=$$" --network "$net" --network-alias "node-$who" \
    -e PEERS= -e RUST_LOG=warn "$image" >/dev/null
done
john=$(docker run -d --label "pingpong.bench=$$" --network "$net" --network-alias node-john \
  -e RUST_LOG=warn -p 127.0.0.1::3000 "$image")
jp=$(docker port "$john" 3000/tcp | head -1 | awk -F: '{print $NF}')
wait_http "http://127.0.0.1:$jp/start"
read -r c_rps c_p50 c_p99 c_bad < <(load "http://127.0.0.1:$jp/start")
rss_cont=$(for c in $(docker ps -q --filter "label=pingpong.bench=$$"); do rss_mb "$(docker inspect -f '{{.State.Pid}}' "$c")"; echo -n " "; done)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
echo
printf '%-34s %10s %9s %9s %9s\n' "what (wrk -t2 -c32, ${secs}s)" "req/s" "p50 ms" "p99 ms" "x nginx"
printf '%-34s %10s %9s %9s %9s\n' "nginx return 200 (1 worker)" "$n_rps" "$n_p50" "$n_p99" "1.000"
printf '%-34s %10s %9s %9s %9s\n' "/start, 4 processes on loopback" "$l_rps" "$l_p50" "$l_p99" "$(ratio "$l_rps" "$n_rps")"
printf '%-34s %10s %9s %9s %9s\n' "/start, loopback, -t1 -c1" "$u_rps" "$u_p50" "$u_p99" "-"
printf '%-34s %10s %9s %9s %9s\n' "/start, 4 containers" "$c_rps" "$c_p50" "$c_p99" "$(ratio "$c_rps" "$n_rps")"
echo
echo "non-2xx answers: loopback ${l_bad:-0}, containers ${c_bad:-0}"
echo "CPU per /start on loopback, 4 processes: ${l_cpu} us"
echo "RSS after load, MB (john paul george ringo, loopback): $rss_local"
echo "RSS after load, MB (containers): $rss_cont"
echo "reference (DESIGN.md): original Node /start 0.0088x nginx, p50 54 ms, RSS 107-130 MB"
echo "goals: /start >= 0.15x nginx, p50 <= 1 ms on loopback, RSS <= 8 MB"
