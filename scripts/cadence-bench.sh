#!/usr/bin/env bash
# Cadence benchmark: N readers (default 100,000) over two series and every
# cadence (scripts/cadencebench seed: the anniversary series weekly 50 %,
# daily 30 %, each story 20 %; two readers in five also on City lights,
# weekly or daily), with a day of stories. cadencebench day makes the
# issues one day of schedules makes, as serve's jobs would at their times
# (Monday 09:00 weekly, 18:00 daily, every minute for stories); then
# `syndicated digest send --issue` sends each of them, and, taking turns
# with it, `syndicated digest send` sends the weekly digest of a series
# every reader has (the send scripts/digest-bench.sh measures) to the
# same go-smtp discard sink. It prints the emails sent per cadence
# against what each cadence's readers should get (cadencebench count,
# exit 1 when they differ), and both sends' rate and CPU.
#   Usage: scripts/cadence-bench.sh [N [CONNS]]   (default 100000, 4)
#   BACKENDS="sqlite postgres" (default both); PostgreSQL at
#   SYNDICATED_TEST_POSTGRES_URL (each run in a fresh schema).
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-100000}"
conns="${2:-4}"
backends="${BACKENDS:-sqlite postgres}"
export SYNDICATED_TEST_POSTGRES_URL="${SYNDICATED_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
export PGOPTIONS="--client-min-messages=warning" # no NOTICE for each table a DROP SCHEMA … CASCADE drops
port="${SINK_PORT:-25251}"
day=2019-05-27 # a Monday
tmp="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

go build -o "$tmp/syndicated" ./cmd/syndicated
go build -o "$tmp/digestbench" ./scripts/digestbench
go build -o "$tmp/cadencebench" ./scripts/cadencebench
"$tmp/digestbench" sink -listen "127.0.0.1:$port" >"$tmp/sink.log" &
pids+=($!)
sleep 0.5

cat >"$tmp/syndicated.toml" <<'EOF'
samples = false
[[sections]]
slug = "society"
title = "Society"
[[series]]
slug = "shanghai-70th"
title = "Shanghai 70th anniversary series"
description = "Stories commemorating the 70th anniversary of the liberation of Shanghai."
tags = ["shanghai-70th"]
cadences = ["weekly", "daily", "story"]
[[series]]
slug = "city-lights"
title = "City lights"
description = "The people who keep the city running at night."
tags = ["night"]
cadences = ["weekly", "daily"]
[[series]]
slug = "baseline"
title = "Weekly digest to every reader"
tags = ["shanghai-70th"]
EOF
export SYNDICATED_SMTP_URL="smtp://127.0.0.1:$port?tls=none&conns=$conns"
export SYNDICATED_SMTP_CONNECTIONS="$conns"
export SYNDICATED_SMTP_RATE_PER_SECOND=0
export SYNDICATED_LOG_LEVEL=warn
export SYNDICATED_BASE_URL="https://news.example.com"

# measure LABEL MESSAGES CMD...: runs CMD under /usr/bin/time -v and
# prints the rate and CPU (user+sys) per message.
measure() {
  local label="$1" msgs="$2"; shift 2
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -v -o "$tmp/time" "$@" >"$tmp/out" 2>&1 || { cat "$tmp/out"; return 1; }
  end=$(date +%s.%N)
  awk -v l="$label" -v n="$msgs" -v s="$start" -v e="$end" -v rate="$tmp/rate" -F': ' '
    /User time/ { u = $2 } /System time/ { y = $2 } /Maximum resident/ { r = $2 }
    END { el = e - s; printf "%-34s %7d msgs  %6.2f s  %7.0f msg/s  cpu %6.2f s (%3.0f us/msg)  peak RSS %5.1f MiB\n",
      l, n, el, n / el, u + y, (u + y) / n * 1e6, r / 1024; printf "%f\n", n / el > rate }' "$tmp/time"
}

for backend in $backends; do
  data="$tmp/data-$backend"
  db=""
  if [ "$backend" = postgres ]; then
    schema="cadencebench_$$"
    psql "$SYNDICATED_TEST_POSTGRES_URL" -qc "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema" >/dev/null
    sep='?'; case "$SYNDICATED_TEST_POSTGRES_URL" in *\?*) sep='&';; esac
    db="${SYNDICATED_TEST_POSTGRES_URL}${sep}search_path=$schema"
  fi
  export SYNDICATED_DATABASE_URL="$db"
  echo "== $backend, $n readers, $conns connections"
  "$tmp/cadencebench" seed -db "$db" -data "$data" -n "$n" -day "$day"
  "$tmp/cadencebench" day -db "$db" -data "$data" -config "$tmp/syndicated.toml" -day "$day" -ids "$tmp/ids"
  day_msgs=$(for id in $(cat "$tmp/ids"); do "$tmp/syndicated" digest status --config "$tmp/syndicated.toml" --data "$data" --issue "$id" |
    awk '/pending/ { gsub(",", ""); print $4 }'; done | awk '{ s += $1 } END { print s }')
  # The day's issues, one after another in one digest send, and the
  # weekly digest to every reader (made by the day's 09:00 run of its own
  # job); BASELINE_FIRST=1 sends the weekly digest first.
  baseline_id="baseline/$("$tmp/syndicated" digest status --config "$tmp/syndicated.toml" --data "$data" --series baseline | awk -F'[/:]' 'NR == 1 { print $2 }')"
  send_day() {
    measure "the day's issues (digest send)" "$day_msgs" "$tmp/syndicated" digest send --config "$tmp/syndicated.toml" --data "$data" \
      --issue "$(paste -sd, "$tmp/ids")"
    day_rate=$(cat "$tmp/rate")
  }
  send_weekly() {
    measure "weekly digest to all (digest send)" "$n" "$tmp/syndicated" digest send --config "$tmp/syndicated.toml" --data "$data" \
      --issue "$baseline_id"
    weekly_rate=$(cat "$tmp/rate")
  }
  if [ "${BASELINE_FIRST:-0}" = 1 ]; then send_weekly; send_day; else send_day; send_weekly; fi
  echo "    rate of the day's issues / the weekly digest: $(awk -v a="$day_rate" -v b="$weekly_rate" 'BEGIN { printf "%.2f", a / b }')"
  "$tmp/cadencebench" count -db "$db" -data "$data" -ids "$tmp/ids" -n "$n"
  if [ "$backend" = postgres ]; then
    psql "$SYNDICATED_TEST_POSTGRES_URL" -qc "DROP SCHEMA $schema CASCADE" >/dev/null
  fi
done
