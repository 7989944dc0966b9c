#!/usr/bin/env bash
# Soak test: wrk -c256 against the feeds of a real `syndicated serve` (built
# binary, temporary data dir, loopback) while an article is pushed through
# POST /api/articles every second (new ones and edits, so the feeds are
# rebuilt all the time). Reports the requests, non-2xx/3xx answers, socket
# errors and latency percentiles (wrk), the pushes that failed, the
# server's RSS sampled every 3 s (start, max, end), the daemon's ERROR and
# WARN log lines, and cross-checks wrk's count with the server's
# syndicated_feed_requests_total. Exits non-zero when a request or a push
# failed or the daemon exited. Needs wrk (apt-get install wrk).
# Usage: scripts/soak.sh [SECONDS] (default 60). PORT=18191 by default.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
secs="${1:-60}"
port="${PORT:-18191}"
base="http://127.0.0.1:$port"
token="soak-token-$RANDOM$RANDOM$RANDOM"
tmp="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
command -v wrk >/dev/null || { echo "soak: wrk is missing (apt-get install -y wrk)" >&2; exit 2; }

go build -o "$tmp/syndicated" ./cmd/syndicated
SYNDICATED_HTTP_API_TOKEN="$token" SYNDICATED_SAMPLES=false \
  "$tmp/syndicated" serve --data "$tmp/data" --listen "127.0.0.1:$port" 2>"$tmp/serve.log" &
server=$!
pids+=("$server")
for _ in $(seq 1 100); do curl -sf -o /dev/null "$base/healthz" && break; sleep 0.1; done
curl -sf -o /dev/null "$base/healthz" || { echo "soak: the server did not start:" >&2; cat "$tmp/serve.log" >&2; exit 1; }

# push ID N: stores article soak-ID (original generated text), revision N,
# in the Society section and the shanghai-70th series; prints the status.
push() {
  local id=$1 n=$2 day=$(( ($1 % 28) + 1 ))
  curl -s -o /dev/null -w '%{http_code}\n' -X POST "$base/api/articles" \
    -H "Authorization: Bearer $token" -H 'Content-Type: application/json' --data-binary @- <<JSON
{"id":"soak-$id","section":"society","headline":"Soak test story $id, revision $n","deck":"A generated article for the soak test","authors":[{"name":"Soak Tester","place":"Shanghai"}],"published":"2019-05-$(printf %02d $day)T$(printf %02d $(( id % 24 ))):00:00+08:00","tags":["shanghai-70th"],"body":["Revision $n of story $id: a first paragraph long enough to look like news copy in a feed reader.","A second paragraph, as real articles have several."]}
JSON
}

# 60 articles first, so that the feeds hold their full 50 items.
for i in $(seq 1 60); do push "$i" 0; done >"$tmp/seed.codes"
grep -qv '^201$' "$tmp/seed.codes" && { echo "soak: seeding failed: $(sort "$tmp/seed.codes" | uniq -c | tr '\n' ' ')" >&2; exit 1; }

# Every second: a new article every third second, else an edit of one.
(
  n=0
  while :; do
    n=$((n + 1))
    if (( n % 3 == 0 )); then push $((60 + n)) "$n"; else push $(( (n * 7) % 60 + 1 )) "$n"; fi
    sleep 1
  done
) >"$tmp/push.codes" &
pids+=($!)

rss() { awk '/^VmRSS/{print $2}' "/proc/$server/status" 2>/dev/null || echo 0; }
(
  while :; do echo "$(date +%s) $(rss)"; sleep 3; done
) >"$tmp/rss" &
pids+=($!)

# Every feed in every format, half of the requests asking for gzip.
cat >"$tmp/feeds.lua" <<'LUA'
local paths = {"/feeds/society.rss", "/feeds/society.atom", "/feeds/society.json",
  "/feeds/series/shanghai-70th.rss", "/feeds/series/shanghai-70th.atom", "/feeds/series/shanghai-70th.json"}
local i = 0
request = function()
  i = i + 1
  local hdrs = {}
  if i % 2 == 0 then hdrs["Accept-Encoding"] = "gzip" end
  return wrk.format("GET", paths[(i % #paths) + 1], hdrs)
end
LUA
feedsBefore=$(curl -sf "$base/metrics" | awk '/^syndicated_feed_requests_total/{s+=$2} END{printf "%d", s}')
wrk -t2 -c256 -d"${secs}s" --timeout 5s --latency -s "$tmp/feeds.lua" "$base" >"$tmp/wrk.out"
sleep 1
kill "${pids[1]}" "${pids[2]}" 2>/dev/null || true
feedsAfter=$(curl -sf "$base/metrics" | awk '/^syndicated_feed_requests_total/{s+=$2} END{printf "%d", s}')
alive=yes
kill -0 "$server" 2>/dev/null || alive=no

requests=$(awk '/requests in/{print $1}' "$tmp/wrk.out")
non2xx=$(awk '/Non-2xx or 3xx responses:/{print $NF}' "$tmp/wrk.out")
sockerr=$(awk -F'[ ,]+' '/Socket errors:/{print $4+$6+$8+$10}' "$tmp/wrk.out")
pushes=$(wc -l <"$tmp/push.codes")
pushfail=$(grep -cvE '^20[01]$' "$tmp/push.codes" || true)
errors=$(grep -c 'level=ERROR' "$tmp/serve.log" || true)
warns=$(grep -c 'level=WARN' "$tmp/serve.log" || true)
builds=$(grep -c 'msg="feeds rebuilt"' "$tmp/serve.log" || true)

echo "soak: ${secs}s of wrk -t2 -c256 over 6 feed URLs (half gzip), one article pushed a second"
sed -n '/Thread Stats/,/Requests\/sec/p' "$tmp/wrk.out"
printf '%-28s %s\n' "requests" "$requests" \
  "non-2xx/3xx" "${non2xx:-0}" \
  "socket errors" "${sockerr:-0}" \
  "server counted (feeds)" "$((feedsAfter - feedsBefore))" \
  "pushes (failed)" "$pushes (${pushfail})" \
  "feed rebuilds logged" "$builds" \
  "daemon ERROR lines" "$errors" \
  "daemon WARN lines" "$warns" \
  "daemon alive at end" "$alive"
awk 'NR==1{s=$2} $2>m{m=$2} {e=$2} END{printf "%-28s start %d MiB, max %d MiB, end %d MiB (%d samples)\n", "RSS (every 3 s)", s/1024, m/1024, e/1024, NR}' "$tmp/rss"
echo "RSS samples (KiB): $(awk '{printf "%s ", $2}' "$tmp/rss")"
if (( errors > 0 )); then
  echo "ERROR lines (first 5):"; grep 'level=ERROR' "$tmp/serve.log" | head -5
fi
[[ "${non2xx:-0}" == 0 && "${sockerr:-0}" == 0 && "$pushfail" == 0 && "$alive" == yes ]]
