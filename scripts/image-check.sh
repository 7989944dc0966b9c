#!/usr/bin/env bash
# Container image check: builds the real Dockerfile where no registry
# answers and checks the image as an operator would.
#
# The Dockerfile's base images are build arguments. This script makes local
# stand-ins for them from this machine: a build stage with the host's Go
# toolchain (and a module proxy directory holding this module's
# dependencies from the host's module cache), and a static stage with what
# distroless static gives (/etc/passwd with the nonroot user 65532, CA
# certificates, tzdata, /tmp). It builds the image against them with no
# network, then, with every container on the host network and listening on
# a free 127.0.0.1 port (dockerd runs with --bridge=none --iptables=false):
#
#   1. one container, configured by SYNDICATED_* variables, on a named
#      volume: answers the feeds and the sign-up page, runs as 65532;
#      articles pushed through the API while `docker stop` lands are all
#      there afterwards; the stop is graceful (exit 0, within the grace);
#      `docker rm`, then a container configured by a mounted file on the
#      same volume serves the same data; CLI commands and a backup work on
#      the volume beside it;
#   2. two containers as replicas on the host's PostgreSQL (a schema of
#      their own, dropped after), the digest schedule firing every second
#      on both, a recording SMTP sink on loopback: both stopped halfway
#      through the issue and started again, one digest issue, and every
#      reader gets exactly one copy.
#
# The docker commands of docs/operations.md (and any in README.md) are the
# ones run here, with this run's names, port and paths: the script fails
# when the docs and the check differ.
#
# Without a working Docker daemon it prints a SKIP line and exits 0, or
# exits 1 when CI is set. Docker resources it creates are removed at the
# end; IMAGE_CHECK_KEEP=1 keeps the images.
#
#   Usage: scripts/image-check.sh             the whole check
#          scripts/image-check.sh --standins  only build the stand-in base
#                                             images (for an offline build)
set -Eeuo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
export PATH="$PATH:/usr/local/go/bin"
started=$SECONDS

say() { echo "image-check: $*"; }
fail() {
  echo "image-check: FAIL: $*" >&2
  exit 1
}
skip() {
  if [ -n "${CI:-}" ]; then fail "$* (CI must run this check)"; fi
  say "SKIP: $*"
  exit 0
}

mode=check
case "${1:-}" in
  "") ;;
  --standins) mode=standins ;;
  *)
    echo "usage: scripts/image-check.sh [--standins]" >&2
    exit 2
    ;;
esac

# Stand-in base images, named as in docs/operations.md.
BUILD_STANDIN=syndicated-build:local
RUNTIME_STANDIN=syndicated-static:local
NONROOT=65532

# --- the docs' commands ------------------------------------------------------
# Each command as docs/operations.md shows it, with placeholders for what a
# run of this check replaces: @IMAGE@ (syndicated), @NAME@ (the container,
# syndicated), @VOLUME@ (syndicated-data), @PORT@ (8080) and @ETC@
# (/etc/syndicated, the host's configuration directory).
T_BUILD='docker build -t @IMAGE@ .' # the registry form of T_BUILD_OFFLINE: not run here
T_BUILD_OFFLINE="docker build --network none --build-arg BUILD_IMAGE=$BUILD_STANDIN --build-arg RUNTIME_IMAGE=$RUNTIME_STANDIN -t @IMAGE@ ."
T_RUN_ENV='docker run -d --name @NAME@ --network host --restart unless-stopped --stop-timeout 30 -v @VOLUME@:/data --env-file @ETC@/env -e SYNDICATED_HTTP_LISTEN=127.0.0.1:@PORT@ -e SYNDICATED_BASE_URL=https://feeds.example.org @IMAGE@'
T_RUN_FILE='docker run -d --name @NAME@ --network host --restart unless-stopped --stop-timeout 30 -v @VOLUME@:/data --env-file @ETC@/env -v @ETC@/syndicated.toml:/etc/syndicated/syndicated.toml:ro @IMAGE@'
T_LOGS='docker logs @NAME@'
T_STOP='docker stop @NAME@'
T_RM='docker rm @NAME@'
T_SUB_ADD='docker run --rm -v @VOLUME@:/data @IMAGE@ subscribers add reader@example.org --confirmed --data /data'
T_SUB_LIST='docker run --rm -v @VOLUME@:/data @IMAGE@ subscribers list --data /data'
T_BACKUP='docker exec @NAME@ syndicated backup --data /data --out /data/syndicated-backup.db'
T_COPY='docker cp @NAME@:/data/syndicated-backup.db .'
templates=(T_BUILD T_BUILD_OFFLINE T_RUN_ENV T_RUN_FILE T_LOGS T_STOP T_RM T_SUB_ADD T_SUB_LIST T_BACKUP T_COPY)

# render TEMPLATE IMAGE NAME VOLUME PORT ETC
render() {
  local s=$1
  s=${s//@IMAGE@/$2}
  s=${s//@NAME@/$3}
  s=${s//@VOLUME@/$4}
  s=${s//@PORT@/$5}
  s=${s//@ETC@/$6}
  printf '%s\n' "$s"
}
as_documented() { render "$1" syndicated syndicated syndicated-data 8080 /etc/syndicated; }

# doc_commands prints every docker command in the indented code of
# README.md and docs/*.md: continuation lines joined, comments dropped,
# spaces squeezed.
doc_commands() {
  awk '{
    l = $0
    if (c != "") { l = c " " l; c = "" }
    if (l ~ /\\$/) { sub(/\\$/, "", l); c = l; next }
    if (l !~ /^(    |\t)[ \t]*docker /) next
    sub(/[ \t]+#.*$/, "", l)
    gsub(/[ \t]+/, " ", l); sub(/^ /, "", l); sub(/ $/, "", l)
    print l
  }' README.md docs/*.md
}

check_docs() {
  local t line documented
  documented="$(doc_commands)"
  local want=()
  for t in "${templates[@]}"; do want+=("$(as_documented "${!t}")"); done
  for line in "${want[@]}"; do
    grep -qxF -- "$line" <<<"$documented" || fail "docs/operations.md lacks the command this check runs: $line"
  done
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    printf '%s\n' "${want[@]}" | grep -xF -- "$line" >/dev/null ||
      fail "the docs show a docker command this check does not run (add it to scripts/image-check.sh or change it): $line"
  done <<<"$documented"
}

[ "$mode" = standins ] || check_docs

command -v docker >/dev/null || skip "no docker command (apt-get install docker.io)"
docker info >/dev/null 2>&1 || skip "the Docker daemon does not answer (as root: dockerd --bridge=none --iptables=false)"

trap 'echo "image-check: FAIL: line $LINENO: $BASH_COMMAND" >&2' ERR
exec 3>&1 # run_doc shows each command here, whatever its output is redirected to
tmp="$(mktemp -d)"
id="ic$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
containers=() volumes=() images=() sink_pid="" pg_schema=""
cleanup() {
  set +e
  [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null && wait "$sink_pid" 2>/dev/null
  [ ${#containers[@]} -gt 0 ] && docker rm -fv "${containers[@]}" >/dev/null 2>&1
  [ ${#volumes[@]} -gt 0 ] && docker volume rm "${volumes[@]}" >/dev/null 2>&1
  if [ ${#images[@]} -gt 0 ] && [ -z "${IMAGE_CHECK_KEEP:-}" ]; then
    # The legacy builder leaves each build stage as an untagged image: the
    # next run's build cache, kept with the images.
    docker rmi $(docker images -q -f dangling=true -f "since=$BUILD_STANDIN") >/dev/null 2>&1
    docker rmi "${images[@]}" >/dev/null 2>&1
  fi
  [ -n "$pg_schema" ] && psql -q "$pg_url" -c "DROP SCHEMA IF EXISTS $pg_schema CASCADE" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT

# --- stand-in base images ----------------------------------------------------

# copy_with_libs DIR PROGRAM NAME: the host's PROGRAM as DIR/usr/bin/NAME,
# with the shared libraries it loads at their paths.
copy_with_libs() {
  local dir=$1 prog name=$3 lib
  prog="$(readlink -f "$(command -v "$2")")"
  install -D -m 0755 "$prog" "$dir/usr/bin/$name"
  for lib in $(ldd "$prog" | grep -oE '/[^ ]+'); do
    [ -e "$dir$lib" ] || cp -L --parents "$lib" "$dir"
  done
}

# module_proxy DIR: a GOPROXY directory holding what `go mod download`
# fetches for this module, nothing else: that command run into an empty
# module cache, from the host's cache (filled from its proxy first).
module_proxy() {
  local dir=$1 cache
  cache="$(go env GOMODCACHE)/cache/download"
  go mod download
  # The toolchain that runs here, named by path: with GOTOOLCHAIN set to
  # a release (as .ci/run sets it) the go command would look for that
  # release in the empty module cache and try to verify it on the network.
  GOTOOLCHAIN=local GOMODCACHE="$tmp/modcache" GOPROXY="file://$cache" GOFLAGS=-modcacherw \
    "$(go env GOROOT)/bin/go" mod download
  mkdir -p "$dir"
  tar -C "$tmp/modcache/cache/download" --exclude='*.lock' --exclude='*.partial' -cf - . | tar -C "$dir" -xf -
  rm -rf "$tmp/modcache"
}

# The same files give the same archive, so that Docker's build cache
# keeps the stand-ins, and the image built on them, from one run to the next.
tar_flags=(--numeric-owner --sort=name --mtime=@0)

build_standins() {
  local goroot gover ctx
  goroot="$(go env GOROOT)"
  gover="$(go env GOVERSION)"
  say "stand-in $BUILD_STANDIN: $gover from $goroot, modules from the host's cache"
  ctx="$tmp/standin-build"
  mkdir -p "$ctx/rootfs/usr/local/go" "$ctx/rootfs/tmp" "$ctx/rootfs/root" "$ctx/rootfs/etc"
  # The toolchain less what building a module does not read (tests, the
  # toolchain's own sources), half its size.
  tar -C "$goroot" --exclude=./test --exclude=./api --exclude=./doc --exclude=./misc --exclude=./src/cmd \
    --exclude=testdata --exclude='*_test.go' -cf - . | tar -C "$ctx/rootfs/usr/local/go" -xf -
  module_proxy "$ctx/rootfs/usr/local/goproxy"
  # RUN lines need a shell, mkdir and chown.
  copy_with_libs "$ctx/rootfs" sh sh
  copy_with_libs "$ctx/rootfs" mkdir mkdir
  copy_with_libs "$ctx/rootfs" chown chown
  ln -s usr/bin "$ctx/rootfs/bin"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$ctx/rootfs/etc/passwd"
  echo 'root:x:0:' >"$ctx/rootfs/etc/group"
  chmod 1777 "$ctx/rootfs/tmp"
  tar -C "$ctx/rootfs" "${tar_flags[@]}" --owner=0 --group=0 -cf "$ctx/rootfs.tar" .
  rm -rf "$ctx/rootfs"
  cat >"$ctx/Dockerfile" <<EOF
FROM scratch
ADD rootfs.tar /
LABEL org.opencontainers.image.description="Stand-in for golang:*-bookworm: this host's $gover, for offline builds (scripts/image-check.sh)"
ENV GOLANG_VERSION=${gover#go} GOTOOLCHAIN=local GOPATH=/go \\
    GOPROXY=file:///usr/local/goproxy \\
    PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /go
EOF
  docker build -q -t "$BUILD_STANDIN" "$ctx" >"$tmp/standin.log" 2>&1 || fail "docker build $BUILD_STANDIN: $(cat "$tmp/standin.log")"
  rm -rf "$ctx"

  say "stand-in $RUNTIME_STANDIN: passwd with nonroot ($NONROOT), CA certificates, tzdata, /tmp"
  ctx="$tmp/standin-static"
  local r="$ctx/rootfs"
  mkdir -p "$r/etc/ssl/certs" "$r/usr/share" "$r/tmp" "$r/home/nonroot" "$r/root"
  [ -f /etc/ssl/certs/ca-certificates.crt ] || fail "no /etc/ssl/certs/ca-certificates.crt on this machine (apt-get install ca-certificates)"
  [ -f /usr/share/zoneinfo/Asia/Shanghai ] || fail "no /usr/share/zoneinfo on this machine (apt-get install tzdata)"
  cp /etc/ssl/certs/ca-certificates.crt "$r/etc/ssl/certs/"
  cp -a /usr/share/zoneinfo "$r/usr/share/"
  cat >"$r/etc/passwd" <<EOF
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:$NONROOT:$NONROOT:nonroot:/home/nonroot:/sbin/nologin
EOF
  printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:%s:\n' "$NONROOT" >"$r/etc/group"
  echo 'hosts: files dns' >"$r/etc/nsswitch.conf"
  chmod 1777 "$r/tmp"
  chmod 0700 "$r/root" "$r/home/nonroot"
  tar -C "$r" "${tar_flags[@]}" --owner=0 --group=0 --exclude=./home/nonroot -cf "$ctx/rootfs.tar" .
  tar -C "$r" "${tar_flags[@]}" --owner="$NONROOT" --group="$NONROOT" -rf "$ctx/rootfs.tar" ./home/nonroot
  rm -rf "$r"
  cat >"$ctx/Dockerfile" <<EOF
FROM scratch
ADD rootfs.tar /
LABEL org.opencontainers.image.description="Stand-in for gcr.io/distroless/static-debian12:nonroot, from this host's files (scripts/image-check.sh)"
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER $NONROOT
WORKDIR /home/nonroot
EOF
  docker build -q -t "$RUNTIME_STANDIN" "$ctx" >"$tmp/standin.log" 2>&1 || fail "docker build $RUNTIME_STANDIN: $(cat "$tmp/standin.log")"
  rm -rf "$ctx"
}

t0=$SECONDS
build_standins
if [ "$mode" = standins ]; then
  say "stand-ins built in $((SECONDS - t0)) s: $BUILD_STANDIN, $RUNTIME_STANDIN"
  exit 0
fi
images+=("$BUILD_STANDIN" "$RUNTIME_STANDIN")
say "stand-ins built in $((SECONDS - t0)) s"

# --- helpers for the runs ------------------------------------------------------

image="syndicated-image-check:$id"
etc="$tmp/etc"
mkdir -p "$etc"

free_port() {
  local p
  while :; do
    p=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

# run_doc TEMPLATE NAME VOLUME PORT [DIR]: a docs command, with this run's
# image, container NAME, VOLUME and PORT, run in DIR (default $tmp).
run_doc() {
  local cmd
  cmd="$(render "$1" "$image" "$2" "$3" "$4" "$etc")"
  echo "  \$ $cmd" >&3
  (cd "${5:-$tmp}" && eval "$cmd")
}

# wait_ready NAME PORT: until /readyz answers 200, or fail with the logs.
wait_ready() {
  local i
  for i in $(seq 1 150); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' -m 2 "http://127.0.0.1:$2/readyz")" = 200 ]; then return 0; fi
    if [ "$(docker inspect -f '{{.State.Running}}' "$1")" != true ]; then break; fi
    sleep 0.2
  done
  docker logs "$1" >"$tmp/logs" 2>&1
  tail -20 "$tmp/logs" >&2
  fail "$1 does not answer /readyz on 127.0.0.1:$2"
}

# expect_get URL CODE CONTENT-TYPE-PREFIX [BODY-SUBSTRING]
expect_get() {
  local out code ctype
  out="$(curl -s -D "$tmp/headers" -o "$tmp/body" -w '%{http_code} %{content_type}' -m 10 "$1")" || true
  code=${out%% *} ctype=${out#* }
  [ "$code" = "$2" ] || fail "GET $1: $code, want $2"
  case "$ctype" in "$3"*) ;; *) fail "GET $1: Content-Type $ctype, want $3…" ;; esac
  if [ -n "${4:-}" ] && ! grep -qF -- "$4" "$tmp/body"; then fail "GET $1: the body lacks $4"; fi
}

# stop_gracefully NAME GRACE: docker stop, then exit 0 within GRACE seconds.
stop_gracefully() {
  local t code
  t=$(date +%s%N)
  run_doc "$T_STOP" "$1" - - >/dev/null
  t=$((($(date +%s%N) - t) / 1000000))
  code="$(docker inspect -f '{{.State.ExitCode}} {{.State.OOMKilled}} {{.RestartCount}}' "$1")"
  [ "$code" = "0 false 0" ] || fail "$1 after docker stop: exit code, OOM-killed, restarts = $code, want 0 false 0"
  [ "$t" -lt $(($2 * 1000)) ] || fail "$1 took $t ms to stop, not within the $2 s grace"
  docker logs "$1" >"$tmp/logs" 2>&1
  grep -q 'shutting down' "$tmp/logs" || fail "$1 did not log its shutdown"
  say "$1 stopped gracefully in $t ms, exit 0"
}

article() { # ID HEADLINE
  printf '{"id":"%s","section":"society","headline":"%s","published":"%s","tags":["shanghai-70th"],"body":["A paragraph pushed by the image check."]}' \
    "$1" "$2" "$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)"
}

# --- build the image -------------------------------------------------------------

t0=$SECONDS
say "building the Dockerfile against the stand-ins, no network"
if ! run_doc "$T_BUILD_OFFLINE" - - - "$repo" >"$tmp/build.log" 2>&1; then
  tail -30 "$tmp/build.log" >&2
  fail "docker build"
fi
images+=("$image")
size=$(docker image inspect -f '{{.Size}}' "$image")
user=$(docker image inspect -f '{{.Config.User}}' "$image")
say "image built in $((SECONDS - t0)) s: $(awk -v b="$size" 'BEGIN { printf "%.1f MB (%d bytes)", b / 1e6, b }'), user $user"
[ "$user" = "$NONROOT:$NONROOT" ] || fail "the image runs as user '$user', want $NONROOT:$NONROOT"
[ "$size" -lt 64000000 ] || fail "the image is $size bytes: more than a static binary on a static base should be"
version="$(docker run --rm --network none "$image" --version)"
say "docker run --rm $image --version: $version"

# --- 1. one container on a named volume --------------------------------------------

t0=$SECONDS
ctr="syndicated-$id" vol="syndicated-data-$id" port="$(free_port)"
token="image-check-token-$id-0123456789"
cat >"$etc/env" <<EOF
SYNDICATED_HTTP_API_TOKEN=$token
SYNDICATED_SECRET=image-check-secret-$id-0123456789
EOF
chmod 0600 "$etc/env"
say "1. one container, configured by SYNDICATED_* variables, volume $vol, port $port"
volumes+=("$vol")
containers+=("$ctr")
run_doc "$T_RUN_ENV" "$ctr" "$vol" "$port" >/dev/null
wait_ready "$ctr" "$port"
base="http://127.0.0.1:$port"
for f in society series/shanghai-70th; do
  expect_get "$base/feeds/$f.rss" 200 "application/rss+xml" "https://feeds.example.org/feeds/$f.rss"
  expect_get "$base/feeds/$f.atom" 200 "application/atom+xml" "https://feeds.example.org/feeds/$f.atom"
  expect_get "$base/feeds/$f.json" 200 "application/feed+json" "https://feeds.example.org/feeds/$f.json"
done
grep -q '+08:00' "$tmp/body" || fail "the series' JSON feed has no time in the newsroom's zone (+08:00)"
expect_get "$base/subscribe" 200 "text/html" '<form'
say "feeds (RSS, Atom, JSON; base_url from SYNDICATED_BASE_URL) and the sign-up page answer"
run_doc "$T_LOGS" "$ctr" - - >"$tmp/logs" 2>&1
head -1 "$tmp/logs" | grep -q '^{"time":' || fail "the image's default log format is not JSON: $(head -1 "$tmp/logs")"

uid="$(docker top "$ctr" -o pid,uid,comm | awk '$3 == "syndicated" { print $2 }')"
[ "$uid" = "$NONROOT" ] || fail "the daemon's process runs as uid '$uid', want $NONROOT"
docker cp "$ctr:/data" - | tar -tvf - --numeric-owner >"$tmp/data.list"
awk '$6 ~ /syndicated\.db$/ { print $2 }' "$tmp/data.list" | grep -x "$NONROOT/$NONROOT" >/dev/null ||
  fail "DATA/syndicated.db is not owned by $NONROOT: $(cat "$tmp/data.list")"
for f in etc/ssl/certs/ca-certificates.crt usr/share/zoneinfo/Asia/Shanghai etc/passwd; do
  docker cp "$ctr:/$f" - | tar -tf - >/dev/null 2>&1 || fail "the image lacks /$f"
done
docker cp "$ctr:/etc/passwd" - | tar -xOf - >"$tmp/passwd"
grep -q "^nonroot:x:$NONROOT:" "$tmp/passwd" || fail "/etc/passwd has no nonroot user"
docker cp "$ctr:/tmp" - | tar -tvf - --numeric-owner >"$tmp/tmp.list"
head -1 "$tmp/tmp.list" | grep -q '^drwxrwxrwt' || fail "/tmp is not a sticky, world-writable directory: $(head -1 "$tmp/tmp.list")"
say "runs as uid $NONROOT; the database in the volume is $NONROOT's; CA certificates, tzdata, /tmp, nonroot in /etc/passwd"

# Articles pushed one after another while docker stop lands: each one the
# API acknowledged must be served by the next container.
pusher() {
  local i code
  for i in $(seq 1 2000); do
    code="$(curl -s -o /dev/null -w '%{http_code}' -m 10 -H "Authorization: Bearer $token" \
      -H 'Content-Type: application/json' --data "$(article "stop-$id-$i" "Pushed during the stop $i")" "$base/api/articles")" || true
    case $code in
      200 | 201) echo "stop-$id-$i" ;;
      000) return 0 ;; # nobody listens any more
    esac
  done
}
pusher >"$tmp/acked" &
pusher_pid=$!
for i in $(seq 1 300); do
  [ "$(wc -l <"$tmp/acked")" -ge 5 ] && break
  sleep 0.1
done
[ "$(wc -l <"$tmp/acked")" -ge 5 ] || fail "the API did not take articles; see docker logs $ctr"
stop_gracefully "$ctr" 30
wait "$pusher_pid"
acked=$(wc -l <"$tmp/acked")
say "$acked articles acknowledged by the API up to the stop"
run_doc "$T_RM" "$ctr" - - >/dev/null

say "   a new container on $vol, configured by a mounted file"
port2="$(free_port)"
cat >"$etc/syndicated.toml" <<EOF
base_url = "https://news.example.net"

[http]
listen = "127.0.0.1:$port2"

[log]
format = "text"

[brand]
name = "Image Check Daily"
EOF
chmod 0644 "$etc/syndicated.toml"
run_doc "$T_RUN_FILE" "$ctr" "$vol" - >/dev/null
wait_ready "$ctr" "$port2"
base="http://127.0.0.1:$port2"
while IFS= read -r a; do
  expect_get "$base/articles/$a" 200 "text/html" "Pushed during the stop"
done <"$tmp/acked"
say "every acknowledged article survived docker stop and docker rm"
expect_get "$base/feeds/society.atom" 200 "application/atom+xml" "https://news.example.net/feeds/society.atom"
expect_get "$base/subscribe" 200 "text/html" "Image Check Daily"
run_doc "$T_LOGS" "$ctr" - - >"$tmp/logs" 2>&1
head -1 "$tmp/logs" | grep -q '^time=' || fail "the mounted file's log.format = \"text\" is not used: $(head -1 "$tmp/logs")"
say "the mounted file sets listen, base_url, brand and log format; SYNDICATED_* from --env-file still apply"

run_doc "$T_SUB_ADD" - "$vol" - >/dev/null 2>&1 || fail "subscribers add on the volume"
run_doc "$T_SUB_LIST" - "$vol" - >"$tmp/list" 2>&1 || fail "subscribers list on the volume: $(cat "$tmp/list")"
grep -q 'reader@example.org' "$tmp/list" || fail "subscribers list does not show the reader added: $(cat "$tmp/list")"
run_doc "$T_BACKUP" "$ctr" - - >/dev/null 2>&1 || fail "backup in the container"
run_doc "$T_COPY" "$ctr" - - >/dev/null
head -c 16 "$tmp/syndicated-backup.db" | grep -q 'SQLite format 3' || fail "the backup copied out is no SQLite database"
say "CLI commands beside the daemon on the volume; backup copied out ($(stat -c %s "$tmp/syndicated-backup.db") bytes)"
stop_gracefully "$ctr" 30
say "check 1 passed in $((SECONDS - t0)) s"

# --- 2. two replicas on PostgreSQL -----------------------------------------------------

t0=$SECONDS
pg_url="${SYNDICATED_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
command -v psql >/dev/null || skip "no psql (apt-get install postgresql-client)"
psql -q "$pg_url" -c 'SELECT 1' >/dev/null 2>&1 || skip "PostgreSQL at $pg_url does not answer"
pg_schema="syndicated_image_check_$id"
psql -q "$pg_url" -c "CREATE SCHEMA $pg_schema" >/dev/null
case "$pg_url" in *\?*) db="$pg_url&search_path=$pg_schema" ;; *) db="$pg_url?search_path=$pg_schema" ;; esac

readers=300 rate=25 # per replica: the send lasts long enough to stop it halfway
go build -o "$tmp/digestbench" ./scripts/digestbench
smtp_port="$(free_port)"
: >"$tmp/rcpt"
"$tmp/digestbench" sink -listen "127.0.0.1:$smtp_port" -record "$tmp/rcpt" >"$tmp/sink.log" 2>&1 &
sink_pid=$!
say "2. two replicas on PostgreSQL (schema $pg_schema), $readers readers, SMTP sink on 127.0.0.1:$smtp_port"

cat >"$tmp/replica.env" <<EOF
SYNDICATED_DATABASE_URL=$db
SYNDICATED_SMTP_URL=smtp://127.0.0.1:$smtp_port?tls=none
SYNDICATED_SMTP_RATE_PER_SECOND=$rate
SYNDICATED_BASE_URL=https://news.example.com
SYNDICATED_HTTP_API_TOKEN=$token
SYNDICATED_SAMPLES=false
SYNDICATED_SERIES_0_DIGEST_SCHEDULE=@every 1s
EOF
{
  echo 'email,name,lists,status'
  for i in $(seq -w 1 $readers); do echo "reader$i@example.com,Reader $i,shanghai-70th,active"; done
} >"$tmp/readers.csv"
chmod 0644 "$tmp/readers.csv"
docker run --rm --network host --env-file "$tmp/replica.env" "$image" migrate --data /data >"$tmp/migrate.log" 2>&1 ||
  fail "migrate: $(cat "$tmp/migrate.log")"
docker run --rm --network host --env-file "$tmp/replica.env" -v "$tmp/readers.csv:/readers.csv:ro" "$image" \
  subscribers import /readers.csv --data /data >"$tmp/import.log" 2>&1 || fail "subscribers import: $(cat "$tmp/import.log")"

ports=()
for r in a b; do
  p="$(free_port)"
  ports+=("$p")
  containers+=("syndicated-$id-$r")
  docker run -d --name "syndicated-$id-$r" --network host --stop-timeout 30 --env-file "$tmp/replica.env" \
    -e "SYNDICATED_HTTP_LISTEN=127.0.0.1:$p" "$image" >/dev/null
done
wait_ready "syndicated-$id-a" "${ports[0]}"
wait_ready "syndicated-$id-b" "${ports[1]}"
code="$(curl -s -o /dev/null -w '%{http_code}' -m 10 -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  --data "$(article "digest-$id" "A story for the digest")" "http://127.0.0.1:${ports[0]}/api/articles")"
[ "$code" = 201 ] || fail "push to replica a: $code"

# Both replicas are stopped halfway through the issue (docker stop: they
# finish or hand back what is in flight) and started again (they resume).
wait_sent() { # COUNT SECONDS
  local i
  for i in $(seq 1 $(($2 * 5))); do
    [ "$(wc -l <"$tmp/rcpt")" -ge "$1" ] && return 0
    sleep 0.2
  done
  for r in a b; do
    echo "--- docker logs syndicated-$id-$r (last 30 lines)" >&2
    docker logs "syndicated-$id-$r" 2>&1 | tail -30 >&2
  done
  fail "the sink got $(wc -l <"$tmp/rcpt") messages within $2 s, want $1"
}
wait_sent 50 120
for r in a b; do stop_gracefully "syndicated-$id-$r" 30; done
halfway=$(wc -l <"$tmp/rcpt")
[ "$halfway" -lt "$readers" ] || fail "the issue was sent in full before the stop: nothing left to resume"
for r in 0 1; do
  n="syndicated-$id-$([ $r = 0 ] && echo a || echo b)"
  docker start "$n" >/dev/null
  wait_ready "$n" "${ports[$r]}"
done
say "both replicas stopped with $halfway of $readers sent, and started again"
wait_sent "$readers" 120
sleep 3 # a duplicate would come now
issues="$(psql -Atq "$pg_url" -c "SELECT id FROM $pg_schema.digest_issues")"
total=$(wc -l <"$tmp/rcpt")
distinct=$(sort -u "$tmp/rcpt" | wc -l)
sort "$tmp/rcpt" | uniq -d >"$tmp/twice"
twice="$(head -5 "$tmp/twice")"
sent=() runs=() created=0
for r in 0 1; do
  curl -s -m 10 "http://127.0.0.1:${ports[$r]}/metrics" >"$tmp/metrics"
  sent+=("$(awk '/^syndicated_digest_deliveries_total\{result="sent"\}/ { print $2 }' "$tmp/metrics")")
  runs+=("$(awk '/^syndicated_job_runs_total\{job="digest-shanghai-70th",/ { n += $2 } END { print n + 0 }' "$tmp/metrics")")
  docker logs "syndicated-$id-$([ $r = 0 ] && echo a || echo b)" >"$tmp/logs" 2>&1
  created=$((created + $(grep -c 'digest issue created' "$tmp/logs" || true)))
done
say "the digest schedule ran ${runs[0]} times on replica a, ${runs[1]} on b; issues created: $created ($(tr '\n' ' ' <<<"$issues"))"
say "the sink got $total messages for $distinct readers; after the restart replica a sent ${sent[0]:-0}, b sent ${sent[1]:-0}"
[ "$(grep -c . <<<"$issues")" = 1 ] || fail "$(grep -c . <<<"$issues") digest issues, want 1"
[ "$created" = 1 ] || fail "the replicas logged $created issue creations, want 1"
[ -z "$twice" ] || fail "readers with more than one copy: $twice"
[ "$distinct" = "$readers" ] || fail "$distinct readers got the digest, want $readers"
for i in $(seq -w 1 $readers); do
  grep -qx "reader$i@example.com" "$tmp/rcpt" || fail "reader$i@example.com got no copy"
done
for r in a b; do stop_gracefully "syndicated-$id-$r" 30; done
say "check 2 passed in $((SECONDS - t0)) s: one issue, each of $readers readers exactly once across a stop and start"

# --- 3. the version stamp ------------------------------------------------------------

# The build context has no .git, so the binary has no VCS revision: the
# VERSION build argument stamps it (the layers before the go build come
# from the cache of the first build).
t0=$SECONDS
stamp="image-check-$id"
build="$(render "$T_BUILD_OFFLINE" "$image-stamped" - - - -)"
build="${build/docker build /docker build --build-arg VERSION=$stamp }"
echo "  \$ $build" >&3
if ! (cd "$repo" && eval "$build") >"$tmp/stamped.log" 2>&1; then
  tail -30 "$tmp/stamped.log" >&2
  fail "docker build with VERSION=$stamp"
fi
images+=("$image-stamped")
stamped="$(docker run --rm --network none "$image-stamped" --version)"
[ "$stamped" = "syndicated $stamp" ] || fail "--version of the image built with VERSION=$stamp: '$stamped'"
say "3. built with --build-arg VERSION=$stamp in $((SECONDS - t0)) s: --version prints '$stamped'"

say "PASS in $((SECONDS - started)) s; image $(awk -v b="$size" 'BEGIN { printf "%.1f MB", b / 1e6 }')"
