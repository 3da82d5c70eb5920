#!/usr/bin/env bash
# Benchmark of the data path (not a test; run on demand):
#
#   emulator/bench/datapath.sh [seconds]      (default 5 s per stage)
#
# The stages through the emulator's listener and their nginx/HAProxy
# anchors run in BENCH_RUNS interleaved rounds (default 2); the table
# shows means.
#
# Every stage of `/start` (client -> john -> paul -> george -> ringo, seven
# HTTP exchanges) side by side, in one run, with wrk -t2 -c32 and the
# anchors measured in the same run:
#   nginx `return 200` (2 workers)                       the anchor
#   /start, the four services as processes on loopback
#   /start, four containers: john's published port (docker-proxy)
#   /start, four containers: john's bridge address (no docker-proxy)
#   /start, the same with per-request log lines (ACCESS_LOG=on) under the
#           log drivers json-file, local, json-file mode=non-blocking
#   /start through the emulator's listener on the default stack
#           (targets at the containers' addresses, the default), and with
#           EMULATOR_TARGETS_VIA=host-port (through docker-proxy)
#   /ping through the listener vs nginx and HAProxy proxying to node-john's
#           host port (upstream keepalive), and to its bridge address
# then `perf` top costs of the balancer process under the /start load
# (when perf is installed). Installs wrk, nginx and HAProxy from Debian's
# packages when missing. Everything it starts is stopped on exit.
set -euo pipefail

secs=${1:-5}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
if [ ${#need[@]} -gt 0 ]; then
  echo "==> installing ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)

work=$(mktemp -d)
pids=()
net=pingpong-datapath-$$
emu_pid=""
emu_name="datapath-$$"
emu_data="$work/emu"
BIN="$root/target/release/emulator"
cleanup() {
  stop_emulator
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for f in "$work"/nginx*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  docker rm -f $(docker ps -aq --filter "label=pingpong.bench=$$") >/dev/null 2>&1 || true
  docker network rm "$net" >/dev/null 2>&1 || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
stop_emulator() {
  if [ -n "$emu_pid" ]; then
    kill -INT "$emu_pid" 2>/dev/null || true
    wait "$emu_pid" 2>/dev/null || true
    "$BIN" --data-dir "$emu_data" --name "$emu_name" down >/dev/null 2>&1 || true
    emu_pid=""
  fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {
  for _ in $(seq 300); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "no answer from $1" >&2
  return 1
}

# load URL -> "req/s p50_ms p99_ms errors" (errors: non-2xx + socket errors)
load() {
  wrk -t2 -c32 -d1s "$1" >/dev/null 2>&1 || true # warm-up: connections and pools
  wrk -t2 -c32 -d"${secs}s" --latency "$1" > "$work/wrk.out"
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec/ { rps = $2 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    /Non-2xx/ { bad += $NF }
    /Socket errors/ { split($0, a, /[ ,]+/); for (i in a) if (a[i] ~ /^[0-9]+$/) bad += a[i] }
    END { printf "%.0f %.3f %.3f %d\n", rps, p50, p99, bad }' "$work/wrk.out"
}

declare -A res
rows=()
measure() { # key label url; again with the same key: one more round
  local out
  out=$(load "$3")
  [ -n "${res[$1]:-}" ] || rows+=("$1|$2")
  res[$1]+="$out"$'\n'
  printf '    %-58s %s\n' "$2" "$out"
}
# The mean of a key's rounds: "req/s p50 p99 errors" (errors summed).
mean() { awk 'NF { n++; for (i = 1; i <= NF; i++) s[i] += $i }
  END { printf "%.0f %.3f %.3f %d\n", s[1]/n, s[2]/n, s[3]/n, s[4] }' <<<"${res[$1]}"; }
runs=${BENCH_RUNS:-2}

echo "==> building release binaries and images"
cargo build --release --quiet -p pingpong-node -p emulator -p alb
docker/build-images.sh >/dev/null

start_nginx() { # name conf-body
  cat > "$work/$1.conf" <<EOF
worker_processes 2;
pid $work/$1.pid;
error_log $work/$1.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/$1-tmp;
  proxy_temp_path $work/$1-tmp;
  fastcgi_temp_path $work/$1-tmp;
  uwsgi_temp_path $work/$1-tmp;
  scgi_temp_path $work/$1-tmp;
  $2
}
EOF
  mkdir -p "$work/$1-tmp"
  "$NGINX" -c "$work/$1.conf" -p "$work"
}

echo "==> anchor: nginx return 200"
np=$(free_port)
start_nginx nginx200 "server { listen 127.0.0.1:$np; location / { return 200 \"pong\"; } }"
wait_http "http://127.0.0.1:$np/"
measure nginx200 "nginx return 200 (2 workers): the anchor" "http://127.0.0.1:$np/"

echo "==> /start, four processes on loopback"
ports=()
for _ in 1 2 3 4; do ports+=("$(free_port)"); done
for i in 1 2 3; do
  BIND_ADDR=127.0.0.1:${ports[$i]} PEERS= RUST_LOG=warn target/release/pingpong-node &
  pids+=($!)
done
BIND_ADDR=127.0.0.1:${ports[0]} PEERS="127.0.0.1:${ports[1]},127.0.0.1:${ports[2]},127.0.0.1:${ports[3]}" \
  RUST_LOG=warn target/release/pingpong-node &
pids+=($!)
wait_http "http://127.0.0.1:${ports[0]}/start"
measure loopback "/start, 4 processes on loopback" "http://127.0.0.1:${ports[0]}/start"
for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
pids=()

echo "==> /start, four containers"
docker network create --label "pingpong.bench=$$" "$net" >/dev/null
chain() { # tag, extra docker run args... -> john's container id
  local tag=$1; shift
  for who in paul george ringo; do
    docker run -d --label "pingpong.bench=$$" --label "pingpong.chain=$tag" --network "$net" \
      --network-alias "node-$who-$tag" "$@" -e PEERS= pingpong-node:latest >/dev/null
  done
  docker run -d --label "pingpong.bench=$$" --label "pingpong.chain=$tag" --network "$net" "$@" \
    -e "PEERS=node-paul-$tag:3000,node-george-$tag:3000,node-ringo-$tag:3000" \
    -p 127.0.0.1::3000 pingpong-node:latest
}
unchain() { docker rm -f $(docker ps -aq --filter "label=pingpong.chain=$1") >/dev/null 2>&1 || true; }
bridge_ip() { docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$1" | awk '{ print $1 }'; }
host_port() { docker port "$1" 3000/tcp | head -1 | awk -F: '{ print $NF }'; }

john=$(chain quiet)
jp=$(host_port "$john"); jip=$(bridge_ip "$john")
wait_http "http://127.0.0.1:$jp/start"
measure proxy "/start, containers via host port (docker-proxy)" "http://127.0.0.1:$jp/start"
measure bridge "/start, containers via bridge address" "http://$jip:3000/start"
unchain quiet
for driver in json-file local nonblock; do
  case $driver in
    nonblock) opts=(--log-driver json-file --log-opt mode=non-blocking --log-opt max-buffer-size=4m) ;;
    *) opts=(--log-driver "$driver") ;;
  esac
  john=$(chain "$driver" "${opts[@]}" -e ACCESS_LOG=on -e RUST_LOG=info)
  jip=$(bridge_ip "$john")
  wait_http "http://$jip:3000/start"
  measure "log-$driver" "/start, bridge, ACCESS_LOG=on, log driver $driver" "http://$jip:3000/start"
  unchain "$driver"
done

run_emulator() { # extra env assignments...
  local api alb
  api=$(free_port); alb=$(free_port)
  rm -rf "$emu_data"
  env "$@" RUST_LOG=warn "$BIN" --data-dir "$emu_data" --name "$emu_name" up \
    --api-addr "127.0.0.1:$api" --alb-addr "127.0.0.1:$alb" --registry-addr 127.0.0.1:0 \
    >"$work/emu.out" 2>&1 &
  emu_pid=$!
  emu_alb="127.0.0.1:$alb"
  wait_http "http://$emu_alb/start"
}
john_container() {
  docker ps -q --filter "label=com.pingpong.emulator.instance=$emu_name" \
    --filter "label=com.pingpong.emulator.container-name=node-john" | head -1
}
balancer_pid() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$emu_data/balancer" 2>/dev/null || true; }

echo "==> the emulator's default stack, targets at the containers' addresses"
run_emulator EMULATOR_TARGETS_VIA=container
john=$(john_container)
jp=$(host_port "$john"); jip=$(bridge_ip "$john")
hp=$(free_port); hb=$(free_port); hap=$(free_port)
start_nginx nginxproxy "
  upstream hostport { server 127.0.0.1:$jp; keepalive 64; }
  upstream bridge { server $jip:3000; keepalive 64; }
  server { listen 127.0.0.1:$hp;
    location / { proxy_pass http://hostport; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }
  server { listen 127.0.0.1:$hb;
    location / { proxy_pass http://bridge; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"
cat > "$work/haproxy.cfg" <<EOF
global
  nbthread 2
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  option http-keep-alive
  http-reuse always
frontend fe
  bind 127.0.0.1:$hap
  default_backend node
backend node
  server john 127.0.0.1:$jp
EOF
"$HAPROXY" -f "$work/haproxy.cfg" -db 2>"$work/haproxy.err" &
pids+=($!)
wait_http "http://127.0.0.1:$hp/ping"; wait_http "http://127.0.0.1:$hb/ping"; wait_http "http://127.0.0.1:$hap/ping"
# Interleaved rounds: a neighbour's burst on the shared cores spreads over
# every configuration instead of sinking one.
for round in $(seq "$runs"); do
  echo "  round $round"
  measure listener "/start through the emulator's listener" "http://$emu_alb/start"
  measure start-nginx "/start, nginx -> john's host port" "http://127.0.0.1:$hp/start"
  measure start-nginx-bridge "/start, nginx -> john's bridge address" "http://127.0.0.1:$hb/start"
  measure ping-listener "/ping through the emulator's listener" "http://$emu_alb/ping"
  measure ping-nginx "/ping, nginx -> john's host port (keepalive)" "http://127.0.0.1:$hp/ping"
  measure ping-haproxy "/ping, HAProxy -> john's host port (reuse)" "http://127.0.0.1:$hap/ping"
  measure ping-nginx-bridge "/ping, nginx -> john's bridge address" "http://127.0.0.1:$hb/ping"
done
bpid=$(balancer_pid)
perf_out=""
if command -v perf >/dev/null && [ -n "$bpid" ]; then
  echo "==> perf: the balancer process ($bpid) under /start load"
  wrk -t2 -c32 -d"${secs}s" "http://$emu_alb/start" >/dev/null &
  wpid=$!
  perf record -F 999 -g -p "$bpid" -o "$work/perf.data" -- sleep "$(( secs > 2 ? secs - 1 : 1 ))" >/dev/null 2>&1 || true
  wait "$wpid" || true
  perf_out=$(perf report -i "$work/perf.data" --stdio --no-children -g none --sort dso,symbol 2>/dev/null \
    | grep -E '^ +[0-9]+\.[0-9]+%' | sed 's/[[:space:]-]*$//' | head -15 || true)
fi
stop_emulator

echo "==> the emulator's default stack, targets via host ports (docker-proxy)"
run_emulator EMULATOR_TARGETS_VIA=host-port
measure listener-proxy "/start through the listener, via docker-proxy" "http://$emu_alb/start"
measure ping-listener-proxy "/ping through the listener, via docker-proxy" "http://$emu_alb/ping"
stop_emulator

read -r a_rps _ _ _ <<<"$(mean nginx200)"
read -r pn_rps _ pn_p99 _ <<<"$(mean ping-nginx)"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }'; }
echo
printf '%-58s %9s %8s %8s %6s %9s %9s\n' "what (wrk -t2 -c32, ${secs}s; means)" req/s p50_ms p99_ms errors x_anchor x_nginx_px
for row in "${rows[@]}"; do
  key=${row%%|*}; label=${row#*|}
  read -r rps p50 p99 bad <<<"$(mean "$key")"
  px="-"
  case $key in ping-*) px=$(ratio "$rps" "$pn_rps") ;; esac
  printf '%-58s %9s %8s %8s %6s %9s %9s\n' "$label" "$rps" "$p50" "$p99" "$bad" "$(ratio "$rps" "$a_rps")" "$px"
done
read -r l_rps _ l_p99 _ <<<"$(mean ping-listener)"
read -r s_rps _ _ s_bad <<<"$(mean listener)"
echo
echo "x_anchor: req/s as a ratio to nginx return 200; x_nginx_px: to nginx proxying /ping to john's host port."
echo "goals: /start through the listener >= 0.10x anchor: $(ratio "$s_rps" "$a_rps") (errors $s_bad);"
echo "       /ping through the listener >= 1.25x nginx -> host port: $(ratio "$l_rps" "$pn_rps"), p99 $l_p99 ms vs nginx $pn_p99 ms"
if [ -n "$perf_out" ]; then
  echo
  echo "balancer process, top costs under /start (perf, self time, dso and symbol):"
  echo "$perf_out"
fi
