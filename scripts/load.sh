#!/usr/bin/env bash
# Load test: GET of a 50-item feed with wrk (plain, gzip, 304), syndicated
# side by side with a minimal net/http server serving the same bytes from
# memory. Loopback only; each wrk run is bounded by -d. Needs wrk
# (apt-get install wrk). Usage: scripts/load.sh [DURATION [REPEATS]]
# (default 10s, 3): the two servers take turns REPEATS times per case, the
# one that goes first alternating, after a 2 s warm-up of each, and the
# medians are compared, since one run on 2 shared cores is noisy; every
# run's figure and the load average before and after are printed too.
# The minimal server gets syndicated's server limits (timeouts, header
# size: a deadline set per read and write costs a little); MINIMAL_TIMEOUTS=0
# leaves them out.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
dur="${1:-10s}"
reps="${2:-3}"
tmp="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

# Free ports unless given, so that runs side by side do not collide.
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port="${LOAD_PORT:-$(freeport)}"
mport="${LOAD_MINIMAL_PORT:-$(freeport)}"

go build -o "$tmp/syndicated" ./cmd/syndicated
go build -o "$tmp/minimal" ./scripts/loadtest/minimal

# 60 original generated articles so that the Society feed holds 50 items.
mkdir -p "$tmp/articles"
for i in $(seq 1 60); do
  day=$(( (i % 28) + 1 ))
  cat > "$tmp/articles/load-$i.json" <<JSON
{"id":"load-$i","section":"society","headline":"Load test article number $i","deck":"A generated article for the load test","authors":[{"name":"Load Tester","place":"Shanghai"}],"published":"2019-05-$(printf %02d $day)T$(printf %02d $(( i % 24 ))):00:00+08:00","tags":["load"],"body":["Paragraph one of article $i, long enough to look like news copy in a feed reader's list view.","Paragraph two of article $i adds a little more text, as real articles have several paragraphs.","Paragraph three of article $i closes it."]}
JSON
done
SYNDICATED_SAMPLES=false "$tmp/syndicated" import --data "$tmp/data" "$tmp/articles" >/dev/null
SYNDICATED_SAMPLES=false "$tmp/syndicated" serve --data "$tmp/data" --listen 127.0.0.1:$port 2>"$tmp/serve.log" &
pids+=($!)
for _ in $(seq 1 100); do curl -sf -o /dev/null http://127.0.0.1:$port/healthz && break; sleep 0.1; done

feed=http://127.0.0.1:$port/feeds/society.rss
curl -sf -o "$tmp/feed.rss" "$feed"
curl -sf -H 'Accept-Encoding: gzip' -o "$tmp/feed.rss.gz" "$feed"
etag=$(curl -sfI "$feed" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}')
gzetag=$(curl -sfI -H 'Accept-Encoding: gzip' "$feed" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}')
lastmod=$(curl -sfI "$feed" | tr -d '\r' | awk -F': ' 'tolower($1)=="last-modified"{print $2}')
cachecontrol=$(curl -sfI "$feed" | tr -d '\r' | awk -F': ' 'tolower($1)=="cache-control"{print $2}')
items=$(grep -c '<item>' "$tmp/feed.rss")
"$tmp/minimal" -listen 127.0.0.1:$mport -plain "$tmp/feed.rss" -gzip "$tmp/feed.rss.gz" -etag "$etag" -gzip-etag "$gzetag" \
  -last-modified "$lastmod" -cache-control "$cachecontrol" -timeouts="$([ "${MINIMAL_TIMEOUTS:-1}" = 0 ] && echo false || echo true)" &
pids+=($!)
for _ in $(seq 1 100); do curl -sf -o /dev/null http://127.0.0.1:$mport/feed && break; sleep 0.1; done

# Both answer with the same headers and body (compare them).
for enc in identity gzip; do
  diff <(curl -sfi -H "Accept-Encoding: $enc" "$feed" | tr -d '\r' | grep -avi '^date:' | sort) \
       <(curl -sfi -H "Accept-Encoding: $enc" http://127.0.0.1:$mport/feed | tr -d '\r' | grep -avi '^date:' | sort) >/dev/null \
    || echo "warning: the two servers' $enc responses differ" >&2
done
echo "feed: $items items, $(wc -c <"$tmp/feed.rss") bytes plain, $(wc -c <"$tmp/feed.rss.gz") bytes gzip; wrk -t2 -c64 -d$dur, median of $reps turns; minimal server limits: ${MINIMAL_TIMEOUTS:-1}"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
rps() { wrk -t2 -c64 -d"$dur" "$@" | awk '/Requests\/sec/{print $2}'; }
median() { sort -g | awk '{v[NR]=$1} END{print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
out=()
for c in plain gzip 304; do
  case $c in
    plain) h=(-H 'Accept-Encoding: identity') ;;
    gzip)  h=(-H 'Accept-Encoding: gzip') ;;
    304)   h=(-H "If-None-Match: $etag") ;;
  esac
  wrk -t2 -c64 -d2s "${h[@]}" "$feed" >/dev/null
  wrk -t2 -c64 -d2s "${h[@]}" http://127.0.0.1:$mport/feed >/dev/null
  as=() bs=()
  for i in $(seq 1 "$reps"); do
    if (( i % 2 )); then
      as+=("$(rps "${h[@]}" "$feed")")
      bs+=("$(rps "${h[@]}" http://127.0.0.1:$mport/feed)")
    else
      bs+=("$(rps "${h[@]}" http://127.0.0.1:$mport/feed)")
      as+=("$(rps "${h[@]}" "$feed")")
    fi
  done
  echo "$c runs: syndicated ${as[*]}; minimal ${bs[*]}"
  a=$(printf '%s\n' "${as[@]}" | median)
  b=$(printf '%s\n' "${bs[@]}" | median)
  out+=("$(printf '%-6s %14s %14s %7.2f' "$c" "$a" "$b" "$(echo "$a / $b" | bc -l)")")
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %14s %14s %7s\n' case syndicated minimal ratio
printf '%s\n' "${out[@]}"
