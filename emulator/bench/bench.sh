#!/usr/bin/env bash
# Benchmark (not a test): time from `emulator up` (images present) until
# its load balancer's listener answers /start with the chain's body (what
# the user curls), against `docker-compose up` of the same containers until
# its alb container answers the same; then the emulator's RSS and idle CPU
# over 30 s with the default stack running. The first round of each starts
# from nothing (the emulator pushes the images to its ECR registry then);
# later rounds restart on the same data directory, as a user does.
#
#   emulator/bench/bench.sh            (from anywhere; ROUNDS=3 IDLE_SECS=30 by default)
#
# Uses its own data directory and instance name, free ports, and removes
# everything it started (trap).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
ROUNDS="${ROUNDS:-3}"
IDLE_SECS="${IDLE_SECS:-30}"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
JOHN_PORT="$(free_port)"
ALB_PORT="$(free_port)"
EMU_ALB_PORT="$(free_port)"
EXPECTED='["meow from node-paul:3000","meow from node-george:3000","meow from node-ringo:3000"]'
NAME="bench-$$"
DATA="$(mktemp -d)"
PROJECT="emubench$$"
EMU_PID=""
BIN="$ROOT/target/release/emulator"

cleanup() {
  if [ -n "$EMU_PID" ] && kill -0 "$EMU_PID" 2>/dev/null; then kill -INT "$EMU_PID" 2>/dev/null || true; wait "$EMU_PID" 2>/dev/null || true; fi
  "$BIN" --data-dir "$DATA" --name "$NAME" down >/dev/null 2>&1 || true
  JOHN_PORT="$JOHN_PORT" ALB_PORT="$ALB_PORT" docker-compose -p "$PROJECT" -f compose.yml down -t 2 >/dev/null 2>&1 || true
  rm -rf "$DATA" "$DATA.log"
}
trap cleanup EXIT

for img in pingpong-node:latest pingpong-client:latest pingpong-alb:latest; do
  docker image inspect "$img" >/dev/null 2>&1 || { echo "building images (missing $img) ..."; docker/build-images.sh; }
done
echo "building the emulator (release) ..."
cargo build --release -p emulator -q

now_ms() { date +%s%3N; }

emulator_round() {
  local start end body
  start=$(now_ms)
  "$BIN" --data-dir "$DATA" --name "$NAME" up --api-addr 127.0.0.1:0 \
    --alb-addr "127.0.0.1:$EMU_ALB_PORT" --registry-addr 127.0.0.1:0 >"$DATA.log" 2>&1 &
  EMU_PID=$!
  while :; do
    body=$(curl -s --max-time 1 "127.0.0.1:$EMU_ALB_PORT/start" || true)
    [ "$body" = "$EXPECTED" ] && break
    sleep 0.02
  done
  end=$(now_ms)
  RESULT=$((end - start))
}

# Ctrl-C stops the emulator and its containers; the data directory (and
# the registry's images) stay for the next round, as for a user.
stop_emulator() {
  kill -INT "$EMU_PID"; wait "$EMU_PID" || true; EMU_PID=""
}

compose_round() {
  local start end body
  start=$(now_ms)
  JOHN_PORT="$JOHN_PORT" ALB_PORT="$ALB_PORT" docker-compose -p "$PROJECT" -f compose.yml up -d >/dev/null 2>&1
  while :; do
    body=$(curl -s --max-time 1 "127.0.0.1:$ALB_PORT/start" || true)
    [ "$body" = "$EXPECTED" ] && break
    sleep 0.02
  done
  end=$(now_ms)
  JOHN_PORT="$JOHN_PORT" ALB_PORT="$ALB_PORT" docker-compose -p "$PROJECT" -f compose.yml down -t 2 >/dev/null 2>&1
  echo $((end - start))
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

E=(); C=()
for i in $(seq "$ROUNDS"); do
  emulator_round; e=$RESULT; stop_emulator
  c=$(compose_round)
  echo "round $i: emulator up -> listener /start ${e} ms, docker-compose up -> alb /start ${c} ms"
  E+=("$e"); C+=("$c")
done
em=$(printf '%s\n' "${E[@]}" | median); cm=$(printf '%s\n' "${C[@]}" | median)
echo "median: emulator ${em} ms, compose ${cm} ms, ratio $(awk "BEGIN {printf \"%.2f\", $em/$cm}")x (first emulator round, with the ECR push: ${E[0]} ms)"

echo "measuring the emulator at idle for ${IDLE_SECS} s with the default stack running ..."
emulator_round
sleep 2
TCK=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$EMU_PID/stat"; }
t0=$(ticks); sleep "$IDLE_SECS"; t1=$(ticks)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$EMU_PID/status")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$EMU_PID/status")
echo "emulator RSS $((rss / 1024)) MiB (peak $((hwm / 1024)) MiB), idle CPU $(awk "BEGIN {printf \"%.2f\", 100 * ($t1 - $t0) / $TCK / $IDLE_SECS}")% over ${IDLE_SECS} s"
stop_emulator
