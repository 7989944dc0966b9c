#!/usr/bin/env bash
# The whole test suite with its real parts: PostgreSQL, Mailpit (a real SMTP
# server) and headless Chromium. Installs what a fresh machine lacks, then
# runs `go test ./...`. Extra arguments go to `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

tools="${SYNDICATED_TOOLS:-$PWD/.tools}"
mkdir -p "$tools/bin"

# PostgreSQL: the storage suite runs against it whenever this URL is set.
export SYNDICATED_TEST_POSTGRES_URL="${SYNDICATED_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "test.sh: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
fi

# Mailpit, a real SMTP server with an HTTP API, for end-to-end mail tests.
if [ -z "${MAILPIT_BIN:-}" ]; then
  if [ ! -x "$tools/bin/mailpit" ]; then
    echo "test.sh: installing Mailpit into $tools/bin (about 75 s the first time)"
    GOBIN="$tools/bin" go install github.com/axllent/mailpit@v1.33.1
  fi
  export MAILPIT_BIN="$tools/bin/mailpit"
fi

# Headless Chromium, for pages and email HTML, with a CJK font so that the
# Chinese sample renders in screenshots.
have_cjk_font() { fc-list 2>/dev/null | grep -i wenquanyi >/dev/null; } # no grep -q: pipefail + SIGPIPE
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null || ! have_cjk_font; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test.sh: installing chromium and fonts-wqy-zenhei"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null
  else
    echo "test.sh: chromium or a CJK font is missing and cannot be installed here (need root and apt-get); browser tests may skip" >&2
  fi
fi

# nginx (deploy/nginx.conf is tested against it) and systemd-analyze
# (deploy/syndicated.service is verified with it).
if ! command -v nginx >/dev/null || ! command -v systemd-analyze >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test.sh: installing nginx and systemd (for systemd-analyze)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx systemd >/dev/null
  else
    echo "test.sh: nginx or systemd-analyze is missing and cannot be installed here; deploy tests may skip" >&2
  fi
fi

# Dovecot, the real IMAP server the bounce mailbox tests read (bounce/mailbox),
# and Postfix, the real relay whose DSNs the bounce SMTP test receives
# (bounce/smtpd runs scripts/bounce-check.sh: a private instance on loopback).
if { ! command -v dovecot >/dev/null && [ ! -x /usr/sbin/dovecot ]; } || ! command -v postconf >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "test.sh: installing dovecot-imapd and postfix"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd postfix >/dev/null
  else
    echo "test.sh: dovecot or postfix is missing and cannot be installed here; the bounce mailbox and Postfix tests may skip" >&2
  fi
fi

# axe-core, the accessibility rules the page tests run inside Chromium;
# from npm into the tools directory, never committed.
if [ -z "${AXE_CORE_JS:-}" ]; then
  axe="$tools/npm/node_modules/axe-core/axe.min.js"
  if [ ! -f "$axe" ]; then
    if command -v npm >/dev/null; then
      echo "test.sh: installing axe-core into $tools/npm"
      npm install --prefix "$tools/npm" --no-audit --no-fund --silent axe-core@4.14.1 >/dev/null
    else
      echo "test.sh: npm is missing, so axe-core cannot be installed; the accessibility test may skip" >&2
    fi
  fi
  if [ -f "$axe" ]; then export AXE_CORE_JS="$axe"; fi
fi

export SYNDICATED_ARTIFACTS="${SYNDICATED_ARTIFACTS:-$PWD/artifacts}"
mkdir -p "$SYNDICATED_ARTIFACTS"

go vet ./...
go test -count=1 -timeout 30m "$@" ./...
