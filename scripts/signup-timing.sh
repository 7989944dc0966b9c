#!/usr/bin/env bash
# Sign-up timing by address state (issue 19): serve on SQLite answers
# POST /subscribe for a new, a pending, an active and a removed address in
# turn (scripts/signuptiming), and the median answer time of each is
# printed. With BASELINE=REV (a git revision) the binary of that revision
# is measured too, in turns with this tree's, ROUNDS times each (default 3).
#   Usage: BASELINE=3ee3eac scripts/signup-timing.sh [N]   (N requests per state, default 400)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-400}"
rounds="${ROUNDS:-3}"
tmp="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

go build -o "$tmp/current" ./cmd/syndicated
go build -o "$tmp/signuptiming" ./scripts/signuptiming
bins=(current)
if [ -n "${BASELINE:-}" ]; then
	mkdir "$tmp/src"
	git archive "$BASELINE" | tar -x -C "$tmp/src"
	(cd "$tmp/src" && go build -o "$tmp/baseline" ./cmd/syndicated)
	bins=(baseline current)
fi

export SYNDICATED_SAMPLES=false SYNDICATED_SUBSCRIBE_PER_CLIENT_BURST=1000000 SYNDICATED_LOG_LEVEL=warn
measure() {
	local bin="$1" data="$tmp/data-$1-$2"
	"$tmp/$bin" subscribers add --data "$data" --confirmed active@timing.example >/dev/null 2>&1
	"$tmp/$bin" subscribers add --data "$data" --confirmed removed@timing.example >/dev/null 2>&1
	"$tmp/$bin" subscribers remove --data "$data" removed@timing.example >/dev/null 2>&1
	"$tmp/$bin" subscribers add --data "$data" pending@timing.example >/dev/null 2>&1
	SYNDICATED_LOG_LEVEL=info "$tmp/$bin" serve --data "$data" --listen 127.0.0.1:0 2>"$tmp/serve.log" &
	pid=$!
	local addr=""
	for _ in $(seq 100); do
		addr="$(sed -n 's/.*msg=serving addr=\(http:\/\/[^ ]*\)\/ .*/\1/p' "$tmp/serve.log" | head -1)"
		[ -n "$addr" ] && break
		sleep 0.1
	done
	[ -n "$addr" ] || { cat "$tmp/serve.log"; exit 1; }
	"$tmp/signuptiming" -base "$addr" -n "$n" -label "== $bin (round $2)"
	kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
}
for r in $(seq "$rounds"); do
	for b in "${bins[@]}"; do measure "$b" "$r"; done
done
