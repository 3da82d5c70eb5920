#!/usr/bin/env bash
# Benchmark (not a test) of ECS services on the embedded load balancer:
#
#  1. a rolling deployment of the node service (desired 2, a new task
#     definition revision) under wrk load through the listener: how long
#     from UpdateService to rolloutState COMPLETED (old tasks drained and
#     stopped), how many requests failed meanwhile, and the p99 latency
#     over the deployment against the steady-state p99 under the same load
#     just before (goal: within 2x, no failed request);
#  2. SIGKILL of one of the two node tasks' node-john under load: failed
#     requests, and the time until the service is back at its desired count
#     (two RUNNING tasks, the killed one STOPPED) and until steady state.
#
#   emulator/bench/services.sh   (LOAD_SECS=20 CONNECTIONS=32 LOAD_PATH=/start by default)
#
# Runs the default stack with its short health-check/draining settings, on
# t2.large instances so two node tasks plus two new ones fit during the
# rollout; its own data directory, instance name and free ports; removes
# everything it started (trap). Needs docker; installs curl, jq and wrk
# from Debian's packages when missing.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
LOAD_SECS="${LOAD_SECS:-20}"
CONNECTIONS="${CONNECTIONS:-32}"
LOAD_PATH="${LOAD_PATH:-/start}"
NAME="bench-svc-$$"
DATA="$(mktemp -d)"
EMU_PID=""
CLUSTER=microservice-ping-pong-cluster
NODE=microservice-ping-pong-node-service

need=()
for tool in jq wrk curl; do command -v "$tool" >/dev/null || need+=("$tool"); done
if [ ${#need[@]} -gt 0 ]; then
  echo "==> installing ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v docker >/dev/null || { echo "services.sh: docker is required" >&2; exit 1; }

cleanup() {
  if [ -n "$EMU_PID" ] && kill -0 "$EMU_PID" 2>/dev/null; then kill -INT "$EMU_PID" 2>/dev/null || true; wait "$EMU_PID" 2>/dev/null || true; fi
  "$BIN" --data-dir "$DATA" --name "$NAME" down >/dev/null 2>&1 || true
  if [ -n "${KEEP_LOG:-}" ] && [ -f "$DATA/out.log" ]; then cp "$DATA/out.log" "$KEEP_LOG"; fi
  rm -rf "$DATA"
}
trap cleanup EXIT

for img in pingpong-node:latest pingpong-client:latest; do
  docker image inspect "$img" >/dev/null 2>&1 || { echo "building images (missing $img) ..."; docker/build-images.sh node client; }
done
if [ -z "${BIN:-}" ]; then
  echo "building the emulator (release) ..."
  cargo build --release -p emulator -q
  BIN="$ROOT/target/release/emulator"
fi

now_ms() { date +%s%3N; }
# The API takes any signature, but refuses unsigned calls.
ecs() { curl -s -X POST "$API/" -H 'content-type: application/x-amz-json-1.1' -H 'authorization: AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/ecs/aws4_request' -H "x-amz-target: AmazonEC2ContainerServiceV20141113.$1" -d "$2"; }
svc() { ecs DescribeServices "{\"cluster\":\"$CLUSTER\",\"services\":[\"$NODE\"]}" | jq -c '.services[0]'; }
steady() { # desired count
  while :; do
    s=$(svc)
    if [ "$(jq -r --argjson d "$1" '.runningCount == $d and .pendingCount == 0 and (.deployments|length) == 1 and .deployments[0].rolloutState == "COMPLETED" and (.events[0].message|endswith("has reached a steady state."))' <<<"$s")" = true ]; then return; fi
    sleep 0.1
  done
}
wrk_failed() { # wrk output -> failed requests (socket errors + non-2xx)
  local sock non2xx
  sock=$(grep -o 'Socket errors: .*' <<<"$1" | grep -o '[0-9]\+' | awk '{s+=$1} END {print s+0}')
  non2xx=$(grep -o 'Non-2xx or 3xx responses: [0-9]*' <<<"$1" | grep -o '[0-9]*$' || echo 0)
  echo $(( ${sock:-0} + ${non2xx:-0} ))
}
wrk_total() { grep -o '[0-9]* requests in' <<<"$1" | grep -o '^[0-9]*'; }
wrk_p99() { # wrk --latency output -> p99 in ms
  awk 'function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
       $1 == "99%" { printf "%.2f", ms($2) }' <<<"$1"
}

jq '.cluster.containerInstances[].instanceType = "t2.large"' emulator/stack.json >"$DATA/stack.json"
"$BIN" --data-dir "$DATA" --name "$NAME" up --stack "$DATA/stack.json" --api-addr 127.0.0.1:0 \
  --alb-addr 127.0.0.1:0 --registry-addr 127.0.0.1:0 --stop-timeout 10 --service-interval-ms 200 >"$DATA/out.log" 2>&1 &
EMU_PID=$!
while ! grep -q "ALB listener" "$DATA/out.log" 2>/dev/null; do sleep 0.1; done
API=$(grep "AWS APIs" "$DATA/out.log" | grep -o 'http://[0-9.:]*' | head -1)
LB=$(grep "ALB listener" "$DATA/out.log" | grep -o 'http://[0-9.:]*' | head -1)
echo "emulator $API, listener $LB"
steady 1
ecs UpdateService "{\"cluster\":\"$CLUSTER\",\"service\":\"$NODE\",\"desiredCount\":2}" >/dev/null
steady 2
echo "node service steady at 2 tasks"

# 0. Steady state under the load the deployment will see.
wrk -t2 -c"$CONNECTIONS" -d2s "$LB$LOAD_PATH" >/dev/null 2>&1 # warm-up
w0=$(wrk -t2 -c"$CONNECTIONS" -d"${LOAD_SECS}s" --latency "$LB$LOAD_PATH" 2>&1)

# 1. Rolling deployment under the same load; wrk stops (SIGINT: it prints
# its figures) once the deployment is COMPLETED, so the p99 is the
# deployment's.
td=$(ecs DescribeTaskDefinition '{"taskDefinition":"microservice-ping-pong-node-td"}' |
  jq -c '.taskDefinition | del(.taskDefinitionArn, .revision, .status, .registeredAt) | .containerDefinitions[0].environment += [{"name":"RELEASE","value":"bench"}]')
rev=$(ecs RegisterTaskDefinition "$td" | jq -r .taskDefinition.taskDefinitionArn)
wrk -t2 -c"$CONNECTIONS" -d300s --latency "$LB$LOAD_PATH" >"$DATA/wrk1.txt" 2>&1 &
WRK=$!
sleep 1
t0=$(now_ms)
ecs UpdateService "{\"cluster\":\"$CLUSTER\",\"service\":\"$NODE\",\"taskDefinition\":\"$rev\"}" >/dev/null
while :; do
  s=$(svc)
  [ "$(jq -r --arg r "$rev" '(.deployments|length) == 1 and .deployments[0].taskDefinition == $r and .deployments[0].rolloutState == "COMPLETED"' <<<"$s")" = true ] && break
  sleep 0.05
done
deploy_ms=$(( $(now_ms) - t0 ))
kill -INT "$WRK" 2>/dev/null || true
if [ -n "${VERBOSE:-}" ]; then
  svc | jq -r --argjson t0 "$t0" '.events[] | select(.createdAt * 1000 >= $t0) | "  +\((.createdAt * 1000 - $t0) | floor) ms  \(.message)"' | tac
fi
wait "$WRK" || true
w1=$(cat "$DATA/wrk1.txt")

# 2. SIGKILL one of the two tasks under load.
arns=$(ecs ListTasks "{\"cluster\":\"$CLUSTER\",\"startedBy\":$(svc | jq '.deployments[0].id')}" | jq -c .taskArns)
victim=$(jq -r '.[0]' <<<"$arns")
cid=$(ecs DescribeTasks "{\"cluster\":\"$CLUSTER\",\"tasks\":[\"$victim\"]}" | jq -r '.tasks[0].containers[] | select(.name=="node-john") | .runtimeId')
wrk -t2 -c"$CONNECTIONS" -d"${LOAD_SECS}s" "$LB$LOAD_PATH" >"$DATA/wrk2.txt" 2>&1 &
WRK=$!
sleep 2
t0=$(now_ms)
docker kill -s KILL "$cid" >/dev/null
while :; do
  st=$(ecs DescribeTasks "{\"cluster\":\"$CLUSTER\",\"tasks\":[\"$victim\"]}" | jq -r '.tasks[0].lastStatus')
  [ "$st" = STOPPED ] && [ "$(svc | jq .runningCount)" = 2 ] && break
  sleep 0.05
done
back_ms=$(( $(now_ms) - t0 ))
steady 2
steady_ms=$(( $(now_ms) - t0 ))
wait "$WRK"
w2=$(cat "$DATA/wrk2.txt")

p0=$(wrk_p99 "$w0"); p1=$(wrk_p99 "$w1")
echo
echo "load: wrk -t2 -c$CONNECTIONS on $LOAD_PATH through the listener"
echo "steady state (desired 2)           : $(wrk_total "$w0") requests in ${LOAD_SECS} s, failed: $(wrk_failed "$w0"), p99 $p0 ms"
echo "rolling deployment (desired 2)     : $(awk -v m="$deploy_ms" 'BEGIN{printf "%.1f s", m/1000}')  (UpdateService -> COMPLETED, old tasks stopped)"
echo "  requests during the deployment   : $(wrk_total "$w1"), failed: $(wrk_failed "$w1"), p99 $p1 ms = $(awk -v a="$p1" -v b="$p0" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')x steady state (goal <= 2x)"
echo "SIGKILL of 1 of 2 tasks            : back at desired count in $(awk -v m="$back_ms" 'BEGIN{printf "%.1f s", m/1000}'), steady state in $(awk -v m="$steady_ms" 'BEGIN{printf "%.1f s", m/1000}')"
echo "  requests during ${LOAD_SECS} s of load : $(wrk_total "$w2"), failed: $(wrk_failed "$w2")"
if [ -n "${VERBOSE:-}" ]; then echo; echo "$w0"; echo; echo "$w1"; echo; echo "$w2"; fi
