#!/usr/bin/env bash
# Validates every RSS and Atom document of a full build with the W3C feed
# validator: the shipped samples plus a busy section (400 generated stories
# over four months, several a day, so that archives page by month, by day
# and in parts of days), archives included, and the author and tag feeds
# (fetched from a short-lived serve). Needs the validator's source
# (github.com/w3c/feedvalidator; FEEDVALIDATOR=DIR, its checkout) and
# Debian's python3 (/usr/bin/python3, or PYTHON) with python3-html5lib,
# python3-rdflib and python3-libxml2.
# Usage: FEEDVALIDATOR=DIR scripts/feedvalidator.sh [SYNDICATED_ENV=VALUE…]
# (extra arguments are environment settings for the build, such as
# SYNDICATED_FEEDS_WEBFEEDS=true to see what opting in to webfeeds costs).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
fv="${FEEDVALIDATOR:?set FEEDVALIDATOR to a checkout of github.com/w3c/feedvalidator}"
tmp="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
go build -o "$tmp/syndicated" ./cmd/syndicated
base="https://news.example"
env=(SYNDICATED_BASE_URL="$base" SYNDICATED_FEEDS_PAGE_ITEMS=20 "$@")

mkdir -p "$tmp/articles"
python3 - "$tmp/articles" <<'PY'
import json, os, sys
from datetime import datetime, timedelta, timezone
cst = timezone(timedelta(hours=8))
reporters = ["Huang Yi", "Pan Rui", "Émile Durand", "王芳", "Li Ming & Co."]
tags = ["transport", "urban planning", "R&D", "<housing>", "shanghai-70th", "health"]
start = datetime(2019, 1, 3, 7, 0, tzinfo=cst)
for i in range(400):
    # Quiet weeks and busy days: January a story every other day, then
    # three to nine a day, with one day of 45.
    day = i // 2 if i < 30 else 15 + (i - 30) // 6
    t = start + timedelta(days=day, minutes=37 * (i % 23))
    if 200 <= i < 245:
        t = datetime(2019, 3, 12, 8, 0, tzinfo=cst) + timedelta(minutes=13 * (i - 200))
    a = {"id": "busy-%03d" % i, "section": "society",
         "headline": "Story %d: the city's plans & the people <in> them" % i,
         "deck": "What changes for residents, and when (story %d)." % i,
         "authors": [{"name": reporters[i % 5], "place": "Shanghai"}] + ([{"name": reporters[(i + 2) % 5]}] if i % 4 == 0 else []),
         "published": t.isoformat(), "tags": [tags[i % 6], tags[(i + 3) % 6]],
         "body": ["Paragraph one of story %d, long enough to read like news copy in a feed reader." % i,
                  "A second paragraph quoting an official: \"we will open it next year\"."]}
    if i % 3 == 0:
        a["photo"] = {"url": "https://img.news.example/%d.jpg" % i, "caption": "A street in Pudong.", "credit": "PROVIDED TO THE NEWSROOM"}
    with open(os.path.join(sys.argv[1], "busy-%03d.json" % i), "w") as f:
        json.dump(a, f, ensure_ascii=False)
PY
env "${env[@]}" "$tmp/syndicated" import --data "$tmp/data" "$tmp/articles" >/dev/null
env "${env[@]}" "$tmp/syndicated" feeds build --data "$tmp/data" --out "$tmp/out" >/dev/null

# The author and tag feeds: every name and tag the section's feeds carry.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
env "${env[@]}" "$tmp/syndicated" serve --data "$tmp/data" --listen "127.0.0.1:$port" 2>"$tmp/serve.log" &
pid=$!
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
python3 - "$tmp/out" "http://127.0.0.1:$port" <<'PY'
import json, os, sys, urllib.request, urllib.parse, glob
out, srv = sys.argv[1], sys.argv[2]
paths = set()
for f in glob.glob(os.path.join(out, "feeds", "**", "*.json"), recursive=True):
    for it in json.load(open(f)).get("items", []):
        for a in it.get("authors", []):
            paths.add(("authors", a["name"]))
        for t in it.get("tags", []):
            paths.add(("tags", t))
import re, unicodedata
def slug(s):
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if unicodedata.category(c) != "Mn")
    s = re.sub(r"[^\w]+|_", "-", s.lower()).strip("-")
    return unicodedata.normalize("NFC", s)
n = 0
for kind, name in sorted(paths):
    for ext in ("rss", "atom"):
        p = "/feeds/%s/%s.%s" % (kind, slug(name), ext)
        try:
            body = urllib.request.urlopen(srv + urllib.parse.quote(p)).read()
        except urllib.error.HTTPError:
            continue  # a section title among the categories: no such tag feed
        dest = os.path.join(out, p.lstrip("/"))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        open(dest, "wb").write(body)
        n += 1
print("fetched %d author and tag documents" % n, file=sys.stderr)
PY
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
echo "documents: $(find "$tmp/out" -name '*.rss' -o -name '*.atom' | wc -l) RSS and Atom, $(find "$tmp/out" -path '*archive*' \( -name '*.rss' -o -name '*.atom' \) | wc -l) of them archive pages"
PYTHONPATH="$fv/src" "${PYTHON:-/usr/bin/python3}" scripts/validate_feeds.py "$tmp/out" "$base"
