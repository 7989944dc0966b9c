#!/usr/bin/env bash
# Digest send benchmark: the raw go-mail sender (scripts/digestbench raw)
# and `syndicated digest send` (the real binary) deliver N messages each to
# the same go-smtp discard sink on loopback over CONNS connections with no
# rate cap, taking turns, on SQLite and on PostgreSQL; for each it prints
# the rate, the CPU seconds (user+sys, per message) and the peak RSS from
# /usr/bin/time -v. Beside the raw sender it runs the floor: the same
# message built once, sent over bare TCP in syndicated's two writes
# (MAIL, RCPT and DATA pipelined; the message and its "."), nothing else.
#   Usage: scripts/digest-bench.sh [N [CONNS]]   (default 20000, 4)
#   BACKENDS="sqlite postgres" (default both); PostgreSQL at
#   SYNDICATED_TEST_POSTGRES_URL, default the one test.sh uses (each run
#   uses a fresh schema).
#   RAW=0 skips the raw sender and the floor (for memory runs with a million subscribers).
#   BASELINE=REV also builds syndicated (and the seeder) at git revision REV
#   and, in each round, sends the same issue with it from a database of its
#   own (seeded alike) right before this tree's: a before/after in one run.
#   ROUNDS=R runs both R times in turn (each digest send a new issue) and
#   prints the median of the rate ratios: one run on a shared machine can
#   be off by 15%.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-20000}"
conns="${2:-4}"
rounds="${ROUNDS:-1}"
backends="${BACKENDS:-sqlite postgres}"
# The PostgreSQL test.sh uses, unless told otherwise.
export SYNDICATED_TEST_POSTGRES_URL="${SYNDICATED_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
export PGOPTIONS="${PGOPTIONS:--c client_min_messages=warning}" # psql: no NOTICE per dropped table
port="${SINK_PORT:-25250}"
tmp="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ ! -d "$tmp/base-src" ] || git worktree remove --force "$tmp/base-src" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

go build -o "$tmp/syndicated" ./cmd/syndicated
go build -o "$tmp/digestbench" ./scripts/digestbench
# variants: this tree's binary (suffix ""), and the baseline's ("-base").
variants=("")
if [ -n "${BASELINE:-}" ]; then
  git worktree add --detach "$tmp/base-src" "$BASELINE" >/dev/null 2>&1
  (cd "$tmp/base-src" && go build -o "$tmp/syndicated-base" ./cmd/syndicated &&
    go build -o "$tmp/digestbench-base" ./scripts/digestbench)
  git worktree remove --force "$tmp/base-src"
  variants=("-base" "")
fi
"$tmp/digestbench" sink -listen "127.0.0.1:$port" >"$tmp/sink.log" &
pids+=($!)
sleep 0.5

"$tmp/syndicated" config example >"$tmp/syndicated.toml"
export SYNDICATED_SMTP_URL="smtp://127.0.0.1:$port?tls=none&conns=$conns"
export SYNDICATED_SMTP_CONNECTIONS="$conns"
export SYNDICATED_SMTP_RATE_PER_SECOND=0
export SYNDICATED_LOG_LEVEL=warn
# digest send refuses real mail while base_url is loopback (its default).
export SYNDICATED_BASE_URL="https://news.example.com"

# ticks PID…: CPU clock ticks (user+sys) the processes used so far, with
# their reaped children (a PostgreSQL server's ended backends).
ticks() {
  local t=0 p f
  for p in "$@"; do
    # Fields after "(comm) ": state is 1, utime 12, stime 13, cutime 14, cstime 15.
    f=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null) || continue
    t=$((t + $(awk '{print $12 + $13 + $14 + $15}' <<<"$f")))
  done
  echo "$t"
}
# other_cpu: ticks of the sink and, when it runs on this machine, the
# PostgreSQL server: the CPU the machine spent besides the sender's own.
other_cpu() {
  local sink db=0
  sink=$(ticks "${pids[0]}")
  if [ "$backend" = postgres ]; then
    # shellcheck disable=SC2046
    db=$(ticks $(pgrep -x postgres || true))
  fi
  echo "$sink $db"
}

# sample_backends APP OUT: until $tmp/stop exists, writes to OUT the CPU
# ticks of the PostgreSQL backends whose application_name is APP (the
# sender's own connections, whatever else the server is doing), each at
# its last reading, every 50 ms. The server's total (other_cpu) counts
# every session on a shared server; this counts the sender's only.
sample_backends() {
  local app="$1" out="$2" i=0 pids="" p t sum
  declare -A last=()
  while [ ! -e "$tmp/stop" ]; do
    if [ $((i % 10)) = 0 ]; then
      pids=$(psql "$SYNDICATED_TEST_POSTGRES_URL" -Atc "SELECT pid FROM pg_stat_activity WHERE application_name = '$app'" 2>/dev/null || true)
    fi
    for p in $pids; do
      t=$(ticks "$p")
      [ "$t" = 0 ] || last[$p]=$t
    done
    sum=0
    for p in "${!last[@]}"; do sum=$((sum + last[$p])); done
    echo "$sum" >"$out"
    i=$((i + 1))
    sleep 0.05
  done
}

# measure LABEL CMD...: runs CMD under /usr/bin/time -v, prints its own
# output and the rate, CPU and peak RSS, and the CPU of the sink and of
# the database server in the meantime.
measure() {
  local label="$1"; shift
  local start end before after sampler=""
  # APP (in the environment): the application_name of CMD's PostgreSQL
  # connections, whose backends' CPU is then sampled.
  if [ -n "${APP:-}" ]; then
    rm -f "$tmp/stop"; echo 0 >"$tmp/backends"
    sample_backends "$APP" "$tmp/backends" &
    sampler=$!
  fi
  before=$(other_cpu)
  start=$(date +%s.%N)
  /usr/bin/time -v -o "$tmp/time" "$@" >"$tmp/out" 2>&1 || { cat "$tmp/out"; return 1; }
  end=$(date +%s.%N)
  after=$(other_cpu)
  local backends=""
  if [ -n "$sampler" ]; then
    touch "$tmp/stop"; wait "$sampler" || true
    backends=$(cat "$tmp/backends")
  fi
  local user sys rss csw
  csw=$(awk -F': ' '/context switches/{s += $2} END {print s}' "$tmp/time")
  user=$(awk -F': ' '/User time/{print $2}' "$tmp/time")
  sys=$(awk -F': ' '/System time/{print $2}' "$tmp/time")
  rss=$(awk -F': ' '/Maximum resident/{print $2}' "$tmp/time")
  awk -v l="$label" -v n="$n" -v s="$start" -v e="$end" -v u="$user" -v y="$sys" -v r="$rss" \
    -v b="$before" -v a="$after" -v bk="$backends" -v csw="$csw" -v hz="$(getconf CLK_TCK)" -v rate="$tmp/rate" 'BEGIN {
    el = e - s; cpu = u + y
    printf "%-28s %6d msgs  %6.2f s  %7.0f msg/s  cpu %6.2f s (%4.0f us/msg: user %.0f, sys %.0f)  peak RSS %5.1f MiB\n",
      l, n, el, n / el, cpu, cpu / n * 1e6, u / n * 1e6, y / n * 1e6, r / 1024
    printf "%f\n", n / el > rate
    split(b, b2, " "); split(a, a2, " ")
    sink = (a2[1] - b2[1]) / hz; db = (a2[2] - b2[2]) / hz
    printf "    context switches: %.1f a message\n", csw / n
    printf "    meanwhile: sink cpu %.2f s (%.0f us/msg), database server cpu %.2f s (%.0f us/msg)\n",
      sink, sink / n * 1e6, db, db / n * 1e6
    if (bk != "") printf "    database backends of this sender: cpu %.2f s (%.1f us/msg); sender + its backends %.0f us/msg\n",
      bk / hz, bk / hz / n * 1e6, (cpu + bk / hz) / n * 1e6 }'
  grep -E '^raw:|^floor:|finished|sent [0-9]' "$tmp/out" | sed 's/^/    /' || true
}

for backend in $backends; do
  declare -A dbs=()
  schemas=()
  for v in "${variants[@]}"; do
    data="$tmp/data-$backend$v"
    db=""
    if [ "$backend" = postgres ]; then
      schema="digestbench_$$${v//-/_}"
      schemas+=("$schema")
      psql "$SYNDICATED_TEST_POSTGRES_URL" -qc "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema" >/dev/null
      sep='?'; case "$SYNDICATED_TEST_POSTGRES_URL" in *\?*) sep='&';; esac
      db="${SYNDICATED_TEST_POSTGRES_URL}${sep}search_path=$schema"
    fi
    dbs["x$v"]="$db"
    export SYNDICATED_DATABASE_URL="$db"
    "$tmp/digestbench$v" seed -db "$db" -data "$data" -n "$n" -list shanghai-70th | sed "s/^/$backend$v: /"
    # feeds build imports the shipped samples; the issue holds the
    # shanghai-70th stories of April and May 2019.
    "$tmp/syndicated$v" feeds build --config "$tmp/syndicated.toml" --data "$data" --out "$tmp/public-$backend$v" >/dev/null 2>&1
  done
  data="$tmp/data-$backend"
  export SYNDICATED_DATABASE_URL="${dbs[x]}"
  "$tmp/syndicated" digest preview --config "$tmp/syndicated.toml" --data "$data" --series shanghai-70th \
    --week 2019-W22 --since 2019-04-01 --out "$tmp/body.html" 2>/dev/null
  echo "== $backend, $n subscribers, $conns connections"
  ratios=()
  for round in $(seq 1 "$rounds"); do
    # Each round sends a new issue (another week, the same stories).
    week=$(printf '2019-W%02d' $((21 + round)))
    [ "$rounds" = 1 ] || echo "-- round $round ($week)"
    if [ "${RAW:-1}" != 0 ]; then
      measure "raw go-mail sender" "$tmp/digestbench" raw -smtp "127.0.0.1:$port" -n "$n" -conns "$conns" -body "$tmp/body.html"
      raw_rate=$(cat "$tmp/rate")
      # The floor: the raw sender's message built once and sent over
      # bare TCP as syndicated's transport sends, nothing else (the least
      # CPU an SMTP client spends per message that way here).
      measure "floor: bare pipelining" "$tmp/digestbench" floor -smtp "127.0.0.1:$port" -n "$n" -conns "$conns" -body "$tmp/body.html"
    fi
    for v in "${variants[@]}"; do
      label="syndicated digest send"
      [ -z "$v" ] || label="baseline ($BASELINE) send"
      url="${dbs[x$v]}"
      app=""
      if [ -n "$url" ]; then
        app="digestbench_$$_$round${v//-/_}"
        url="$url&application_name=$app"
      fi
      APP="$app" measure "$label" env SYNDICATED_DATABASE_URL="$url" "$tmp/syndicated$v" digest send \
        --config "$tmp/syndicated.toml" --data "$tmp/data-$backend$v" --series shanghai-70th --week "$week" --since 2019-04-01
    done
    if [ "${RAW:-1}" != 0 ]; then
      ratios+=("$(awk -v a="$(cat "$tmp/rate")" -v b="$raw_rate" 'BEGIN { printf "%.2f", a / b }')")
      echo "    rate of digest send / raw sender: ${ratios[-1]}"
    fi
  done
  if [ "${#ratios[@]}" -gt 1 ]; then
    echo "$backend: median rate ratio of $rounds rounds: $(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }') (each: ${ratios[*]})"
  fi
  for schema in "${schemas[@]}"; do
    psql "$SYNDICATED_TEST_POSTGRES_URL" -qc "DROP SCHEMA $schema CASCADE" >/dev/null
  done
  unset dbs
done
