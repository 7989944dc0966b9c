#!/usr/bin/env bash
# Two replicas on one PostgreSQL: `syndicated digest send` alone, then two
# of them started together on the next issue (two processes, one schema,
# each with CONNS connections to the same recording go-smtp sink on
# loopback, no rate cap), in turns. For each it prints the rate from the
# first start to the sink's last message (and the time to the last exit),
# the CPU of the senders and of
# their database backends per message, how many messages each replica
# sent, and checks the sink got every reader's copy exactly once.
#   Usage: scripts/replica-bench.sh [N [CONNS]]   (default 20000, 4)
#   ROUNDS=R (default 2); PostgreSQL at SYNDICATED_TEST_POSTGRES_URL,
#   default the one test.sh uses (a fresh schema, dropped at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-20000}"
conns="${2:-4}"
rounds="${ROUNDS:-2}"
export SYNDICATED_TEST_POSTGRES_URL="${SYNDICATED_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
export PGOPTIONS="${PGOPTIONS:--c client_min_messages=warning}"
port="${SINK_PORT:-25260}"
tmp="$(mktemp -d)"
schema="replicabench_$$"
sink=""
cleanup() {
  [ -z "$sink" ] || kill "$sink" 2>/dev/null || true
  psql "$SYNDICATED_TEST_POSTGRES_URL" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

go build -o "$tmp/syndicated" ./cmd/syndicated
go build -o "$tmp/digestbench" ./scripts/digestbench
"$tmp/digestbench" sink -listen "127.0.0.1:$port" -record "$tmp/received" >"$tmp/sink.log" &
sink=$!
sleep 0.5

psql "$SYNDICATED_TEST_POSTGRES_URL" -qc "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema" >/dev/null
sep='?'; case "$SYNDICATED_TEST_POSTGRES_URL" in *\?*) sep='&';; esac
db="${SYNDICATED_TEST_POSTGRES_URL}${sep}search_path=$schema"
"$tmp/syndicated" config example >"$tmp/syndicated.toml"
export SYNDICATED_SMTP_URL="smtp://127.0.0.1:$port?tls=none&conns=$conns" SYNDICATED_SMTP_CONNECTIONS="$conns"
export SYNDICATED_SMTP_RATE_PER_SECOND=0 SYNDICATED_LOG_LEVEL=warn SYNDICATED_BASE_URL="https://news.example.com"
"$tmp/digestbench" seed -db "$db" -data "$tmp/data" -n "$n" -list shanghai-70th
SYNDICATED_DATABASE_URL="$db" "$tmp/syndicated" feeds build --config "$tmp/syndicated.toml" --data "$tmp/data" \
  --out "$tmp/public" >/dev/null 2>&1

# ticks PID…: CPU clock ticks (user+sys) of the processes so far.
ticks() {
  local t=0 p
  for p in "$@"; do
    t=$((t + $(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}' || echo 0)))
  done
  echo "$t"
}

# send LABEL K WEEK: K senders of WEEK's issue started together.
send() {
  local label="$1" k="$2" week="$3" i start end lastmsg pids=() cpu=0 backends=0
  : >"$tmp/received"
  declare -A last=()
  start=$(date +%s.%N)
  for i in $(seq 1 "$k"); do
    SYNDICATED_DATABASE_URL="$db&application_name=${schema}_$i" "$tmp/syndicated" digest send \
      --config "$tmp/syndicated.toml" --data "$tmp/data" --series shanghai-70th --week "$week" \
      --since 2019-04-01 >"$tmp/out.$i" 2>&1 &
    pids+=($!)
  done
  # Each replica's CPU and its backends', read until it exits.
  declare -A own=()
  while :; do
    local alive=0 p
    for i in "${!pids[@]}"; do
      p=${pids[$i]}
      if kill -0 "$p" 2>/dev/null; then
        alive=1
        own[$i]=$(ticks "$p")
      fi
    done
    for p in $(psql "$SYNDICATED_TEST_POSTGRES_URL" -Atc "SELECT pid FROM pg_stat_activity WHERE application_name LIKE '${schema}_%'" 2>/dev/null); do
      t=$(ticks "$p")
      [ "$t" = 0 ] || last[$p]=$t
    done
    [ "$alive" = 1 ] || break
    sleep 0.05
  done
  for p in "${pids[@]}"; do wait "$p" || { cat "$tmp"/out.*; return 1; }; done
  end=$(date +%s.%N)
  lastmsg=$(stat -c %.9Y "$tmp/received") # the sink's last message
  for i in "${!own[@]}"; do cpu=$((cpu + own[$i])); done
  for p in "${!last[@]}"; do backends=$((backends + last[$p])); done
  awk -v l="$label" -v n="$n" -v s="$start" -v e="$end" -v m="$lastmsg" -v c="$cpu" -v b="$backends" -v hz="$(getconf CLK_TCK)" 'BEGIN {
    el = e - s; sp = m - s
    printf "%-22s %6d msgs  %6.2f s to the last message (%6.0f msg/s), %6.2f s to the last exit  senders %4.0f us/msg, their backends %4.1f us/msg\n",
      l, n, sp, n / sp, el, c / hz / n * 1e6, b / hz / n * 1e6 }'
  for i in $(seq 1 "$k"); do
    echo "    replica $i: $(grep -m1 -E 'sent [0-9]' "$tmp/out.$i" || echo 'sent nothing')"
  done
  local got copies
  got=$(sort -u "$tmp/received" | wc -l)
  copies=$(wc -l <"$tmp/received")
  echo "    sink: $copies messages for $got readers (want $n once each)"
  if [ "$got" != "$n" ] || [ "$copies" != "$n" ]; then
    echo "replica-bench: not exactly once" >&2
    return 1
  fi
}

echo "== postgres, $n subscribers, $conns connections a replica"
for round in $(seq 1 "$rounds"); do
  echo "-- round $round"
  send "one replica" 1 "$(printf '2019-W%02d' $((20 + 2 * round)))"
  send "two replicas together" 2 "$(printf '2019-W%02d' $((21 + 2 * round)))"
done
