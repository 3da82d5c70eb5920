#!/usr/bin/env bash
# Benchmark of the standalone `alb` against nginx and HAProxy (not a test;
# run on demand):
#
#   crates/alb/bench/bench.sh [seconds]      (default 10 s per run)
#
# One run, one backend (a `pingpong-node` on loopback answering
# GET /ping -> "pong"), the same two path rules (/start and /ping -> node,
# anything else 404) and the same load (wrk -t2 -c32 on /ping) through:
#   1. this balancer (target/release/alb)
#   2. nginx   (worker_processes 2, upstream keepalive)
#   3. HAProxy (nbthread 2, http-reuse always)
# plus the same balancer writing an access log (--access-log; the on/off
# throughput and CPU ratios are printed), the library embedded like the emulator runs it (one `Alb` in a
# multi-thread Tokio runtime: examples/embedded.rs), nginx `return 200` and
# the backend direct as yardsticks (no proxy at all: the ceiling any proxy
# can reach on these shared cores). Every configuration runs BENCH_RUNS
# times (default 2), in interleaved rounds because the machine is shared;
# the table shows the means (and each round's req/s): req/s, p50, p99, the
# proxy's CPU seconds per 10k requests (utime+stime from /proc/PID/stat,
# all of nginx's processes) and ratios to nginx and HAProxy.
# Installs nginx, haproxy and wrk from Debian's packages when missing.
# Then, when `perf` is installed (BENCH_PERF=0 skips it), it profiles the
# balancer during one more wrk run: its CPU by layer (kernel TCP/IP,
# scheduling, netfilter; tokio, hyper, http, own code; malloc, memcpy) and
# its top symbols (self time).
# `/start` through the emulator's listener, stage by stage, is
# emulator/bench/datapath.sh.
# Everything it starts is stopped on exit.
set -euo pipefail

secs=${1:-10}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
cd "$root"
bin=${CARGO_TARGET_DIR:-$root/target}/release

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
cleanup() {
  # nginx's master first: killing the processes below removes its pid file.
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid" 2>/dev/null)" 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {
  for _ in $(seq 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "no answer from $1; logs:" >&2
  tail -n 5 "$work"/*.err "$work"/nginx/*.log "$work"/nginx/stderr 2>/dev/null >&2 || true
  return 1
}

# CPU ticks (utime+stime) of a process and its children processes.
ticks() {
  local total=0 p
  for p in "$@" $(pgrep -P "$1" 2>/dev/null || true); do
    [ -r "/proc/$p/stat" ] || continue
    # Fields after the ")" of comm: utime is the 12th, stime the 13th.
    total=$(( total + $(sed 's/.*) //' "/proc/$p/stat" | awk '{ print $12 + $13 }') ))
  done
  echo "$total"
}
hz=$(getconf CLK_TCK)

# load URL PID -> "req/s p50_ms p99_ms errors cpu_s_per_10k"
load() {
  local before after
  wrk -t2 -c32 -d2s "$1" >/dev/null # warm-up: connections and pools
  before=$(ticks "$2")
  wrk -t2 -c32 -d"${secs}s" --latency "$1" > "$work/wrk.out"
  after=$(ticks "$2")
  awk -v cpu="$(( after - before ))" -v hz="$hz" '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec/ { rps = $2 }
    / requests in / { total = $1 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    /Non-2xx/ { bad += $NF }
    /Socket errors/ { bad += 1 }
    END { printf "%.0f %.3f %.3f %d %.3f\n", rps, p50, p99, bad, (total > 0 ? cpu / hz / (total / 10000) : 0) }' "$work/wrk.out"
}

echo "==> building release binaries"
# perf needs the symbols the release profile strips (codegen is the same).
if [ "${BENCH_PERF:-1}" != 0 ] && command -v perf >/dev/null; then
  export CARGO_PROFILE_RELEASE_STRIP=false
fi
cargo build --release --quiet -p pingpong-node -p alb
cargo build --release --quiet -p alb --example embedded

backend=$(free_port); alb_port=$(free_port); emb_port=$(free_port); nginx_port=$(free_port); nginx200_port=$(free_port); ha_port=$(free_port)

BIND_ADDR=127.0.0.1:$backend RUST_LOG=warn "$bin/pingpong-node" &
node_pid=$!; pids+=("$node_pid")
wait_http "http://127.0.0.1:$backend/ping"

RUST_LOG=warn "$bin/alb" --listen "127.0.0.1:$alb_port" \
  --route "/start=127.0.0.1:$backend" --route "/ping=127.0.0.1:$backend" 2>"$work/alb.err" &
alb_pid=$!; pids+=("$alb_pid")

# The same balancer writing an access log (AWS's format, one line a request).
alog_port=$(free_port)
RUST_LOG=warn "$bin/alb" --listen "127.0.0.1:$alog_port" --access-log "$work/access-log" \
  --route "/start=127.0.0.1:$backend" --route "/ping=127.0.0.1:$backend" 2>"$work/alog.err" &
alog_pid=$!; pids+=("$alog_pid")

RUST_LOG=warn "$bin/examples/embedded" "127.0.0.1:$emb_port" "127.0.0.1:$backend" 2>"$work/emb.err" &
emb_pid=$!; pids+=("$emb_pid")

mkdir -p "$work/nginx"
cat > "$work/nginx.conf" <<EOF
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  upstream node { server 127.0.0.1:$backend; keepalive 64; }
  server {
    listen 127.0.0.1:$nginx_port;
    location = /ping  { proxy_pass http://node; proxy_http_version 1.1; proxy_set_header Connection ""; }
    location = /start { proxy_pass http://node; proxy_http_version 1.1; proxy_set_header Connection ""; }
    location / { return 404; }
  }
  server {
    listen 127.0.0.1:$nginx200_port;
    location / { return 200 "pong"; }
  }
}
EOF
"$NGINX" -c "$work/nginx.conf" -p "$work/nginx" -g 'daemon off;' 2>"$work/nginx/stderr" &
nginx_pid=$!; pids+=("$nginx_pid")

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
  bind 127.0.0.1:$ha_port
  acl node_path path /ping /start
  http-request return status 404 unless node_path
  use_backend node if node_path
backend node
  server n1 127.0.0.1:$backend
EOF
"$HAPROXY" -f "$work/haproxy.cfg" -db 2>"$work/haproxy.err" &
ha_pid=$!; pids+=("$ha_pid")

for p in "$alb_port" "$alog_port" "$emb_port" "$nginx_port" "$ha_port"; do wait_http "http://127.0.0.1:$p/ping"; done
wait_http "http://127.0.0.1:$nginx200_port/"

runs=${BENCH_RUNS:-2}
echo "==> wrk -t2 -c32 -d${secs}s on /ping, one after another, $runs rounds"
declare -A res
keys=(alb alblog embedded nginx haproxy nginx200 direct)
for round in $(seq "$runs"); do
  # Interleaved rounds: a neighbour's burst on the shared cores spreads
  # over every configuration instead of sinking one.
  res[alb]+=$(load "http://127.0.0.1:$alb_port/ping" "$alb_pid")$'\n'
  res[nginx]+=$(load "http://127.0.0.1:$nginx_port/ping" "$nginx_pid")$'\n'
  res[haproxy]+=$(load "http://127.0.0.1:$ha_port/ping" "$ha_pid")$'\n'
  res[alblog]+=$(load "http://127.0.0.1:$alog_port/ping" "$alog_pid")$'\n'
  res[embedded]+=$(load "http://127.0.0.1:$emb_port/ping" "$emb_pid")$'\n'
  res[nginx200]+=$(load "http://127.0.0.1:$nginx200_port/" "$nginx_pid")$'\n'
  res[direct]+=$(load "http://127.0.0.1:$backend/ping" "$node_pid")$'\n'
  echo "    round $round done"
done
# The mean of the rounds, per column.
mean() { awk 'NF { n++; for (i = 1; i <= NF; i++) s[i] += $i }
  END { printf "%.0f %.3f %.3f %d %.3f\n", s[1]/n, s[2]/n, s[3]/n, s[4], s[5]/n }' <<<"$1"; }

read -r n_rps _ n_p99 _ _ <<<"$(mean "${res[nginx]}")"
read -r h_rps _ _ _ _ <<<"$(mean "${res[haproxy]}")"
printf '\n%-22s %10s %9s %9s %7s %14s %8s %9s %9s  %s\n' what req/s p50_ms p99_ms errors cpu_s/10k_req x_nginx x_haproxy p99/nginx "req/s per round"
for k in "${keys[@]}"; do
  read -r rps p50 p99 bad cpu <<<"$(mean "${res[$k]}")"
  label=$k
  case $k in
    alb) label="alb (this crate)" ;;
    alblog) label="alb + access log" ;;
    embedded) label="alb embedded (mt rt)" ;;
    nginx) label="nginx (2 workers)" ;;
    haproxy) label="haproxy (2 threads)" ;;
    nginx200) label="nginx return 200" ;;
    direct) label="backend direct" ;;
  esac
  printf '%-22s %10s %9s %9s %7s %14s %8s %9s %9s  %s\n' "$label" "$rps" "$p50" "$p99" "$bad" "$cpu" \
    "$(awk -v a="$rps" -v b="$n_rps" 'BEGIN { printf "%.2f", a / b }')" \
    "$(awk -v a="$rps" -v b="$h_rps" 'BEGIN { printf "%.2f", a / b }')" \
    "$(awk -v a="$p99" -v b="$n_p99" 'BEGIN { printf "%.2f", a / b }')" \
    "$(awk 'NF { printf "%s%s", sep, $1; sep = " " }' <<<"${res[$k]}")"
done
read -r a_rps _ _ _ a_cpu <<<"$(mean "${res[alb]}")"
read -r l_rps _ _ _ l_cpu <<<"$(mean "${res[alblog]}")"
printf '\naccess log on/off: %s x the throughput, %s x the CPU per request (%s lines written)\n' \
  "$(awk -v a="$l_rps" -v b="$a_rps" 'BEGIN { printf "%.3f", a / b }')" \
  "$(awk -v a="$l_cpu" -v b="$a_cpu" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')" \
  "$(find "$work/access-log" -name '*.log' -exec cat {} + 2>/dev/null | wc -l)"
echo "(means of $runs rounds; cpu_s/10k_req is the proxy's own CPU; for 'backend direct'"
echo " it is pingpong-node's, for 'nginx return 200' nginx's. Client, proxy and backend"
echo " share the machine's cores, with other tenants: compare ratios, not absolutes.)"

if [ "${BENCH_PERF:-1}" != 0 ] && command -v perf >/dev/null; then
  echo
  echo "==> perf: the balancer's top costs during one ${secs}s wrk run (self time)"
  perf record -q -F 999 -g -o "$work/perf.data" -p "$alb_pid" -- sleep "$secs" >/dev/null 2>&1 &
  perf_pid=$!
  wrk -t2 -c32 -d"${secs}s" "http://127.0.0.1:$alb_port/ping" >/dev/null
  wait "$perf_pid" || true
  # `-g none` folds the call chains (recorded for `perf report -i` by
  # hand); trailing blanks of perf's fixed-width columns are cut.
  report() {
    perf report -i "$work/perf.data" --stdio --no-children -g none "$@" 2>/dev/null \
      | grep -v '^#' | grep -v '^$' | sed 's/[[:space:]-]*$//' | cut -c1-110 || true
  }
  echo "  by layer:"
  report --sort dso,symbol | awk '
    { p = $1; sub("%", "", p); dso = $2; sym = $4; for (i = 5; i <= NF; i++) sym = sym " " $i
      if (dso ~ /kernel/) {
        if (sym ~ /finish_task_switch|_raw_spin_unlock_irq|schedule|try_to_wake|ttwu|__wake_up/) g = "kernel: scheduling, wake-ups"
        else if (sym ~ /nf_|ipt_|conntrack/) g = "kernel: netfilter, conntrack"
        else g = "kernel: TCP/IP, syscalls, other"
      } else if (dso ~ /libc/) {
        if (sym ~ /mem(move|cpy|set)/) g = "libc: memcpy, memmove"
        else if (sym ~ /malloc|free|realloc|_int_|unlink_chunk|consolidate/) g = "libc: malloc, free"
        else g = "libc: other (syscall stubs)"
      } else if (sym ~ /hyper::/) g = "hyper"
      else if (sym ~ /tokio/) g = "tokio"
      else if (sym ~ /alb::/) g = "alb (own code, with what got inlined into it)"
      else if (sym ~ /http::|httparse|bytes::/) g = "http, httparse, bytes"
      else g = "other user space (std, mio, rand, vdso)"
      s[g] += p }
    END { for (g in s) printf "    %6.1f%%  %s\n", s[g], g }' | sort -rn
  echo "  top symbols:"
  report --sort dso,symbol | head -n 16
  echo "  top symbols in user space:"
  report --sort symbol --dsos "$(basename "$bin/alb")" | head -n 12
fi

echo
echo "/start through the emulator's listener, stage by stage: emulator/bench/datapath.sh"
