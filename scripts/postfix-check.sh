#!/usr/bin/env bash
# Postfix interop check: `syndicated digest send` through a real Postfix
# (Debian's, installed when missing) on loopback, plain and over STARTTLS,
# to N subscribers of whom one is refused as unknown (a bounce) and one
# deferred (a retry), then the raw go-mail sender and the floor
# (scripts/digestbench) to the same server for comparison. It checks that
# the outbox and Postfix's log agree on what was delivered.
#
# It RECONFIGURES AND STARTS THIS MACHINE'S POSTFIX (loopback only, every
# message discarded): run it on a test machine, as root.
#   Usage: scripts/postfix-check.sh [N]   (default 2000)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-2000}"
if ! command -v postconf >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
log=/var/log/postfix-check.log
bounce=reader0000007@example.com
defer=reader0000011@example.com
printf '%s REJECT 5.1.1 <%s>: Recipient address rejected: User unknown\n%s DEFER_IF_PERMIT 4.2.0 Try again later\n' \
  "$bounce" "$bounce" "$defer" >/etc/postfix/syndicated_rcpt_access
postmap /etc/postfix/syndicated_rcpt_access
postconf -e 'inet_interfaces = loopback-only' 'mydestination = localhost, example.com' \
  'local_transport = discard:' 'default_transport = discard:' 'relay_transport = discard:' \
  'local_recipient_maps =' 'mynetworks = 127.0.0.0/8' "maillog_file = $log" 'smtpd_tls_loglevel = 1' \
  'smtpd_recipient_restrictions = check_recipient_access hash:/etc/postfix/syndicated_rcpt_access, permit_mynetworks, reject'
postfix status >/dev/null 2>&1 && postfix reload >/dev/null 2>&1 || postfix start >/dev/null 2>&1
sleep 1
# ehlo: what the server offers.
ehlo() {
  local line out=""
  exec 3<>/dev/tcp/127.0.0.1/25
  read -r -t 5 line <&3
  printf 'EHLO check.example.com\r\n' >&3
  while read -r -t 5 line <&3; do
    out+="${line:4:-1} "
    [[ $line == "250 "* ]] && break
  done
  printf 'QUIT\r\n' >&3
  exec 3<&-
  echo "$out"
}
echo "Postfix $(postconf -h mail_version) offers: $(ehlo)"

go build -o "$tmp/syndicated" ./cmd/syndicated
go build -o "$tmp/digestbench" ./scripts/digestbench
"$tmp/syndicated" config example >"$tmp/syndicated.toml"
export SYNDICATED_SMTP_CONNECTIONS=4 SYNDICATED_SMTP_RATE_PER_SECOND=0 SYNDICATED_LOG_LEVEL=warn
export SYNDICATED_BASE_URL="https://news.example.com" SYNDICATED_DATABASE_URL=""
status=0
for mode in "tls=none" "tls=mandatory&insecure_skip_verify=true"; do
  data="$tmp/data-${mode%%&*}"
  "$tmp/digestbench" seed -data "$data" -n "$n" -list shanghai-70th >/dev/null
  "$tmp/syndicated" feeds build --config "$tmp/syndicated.toml" --data "$data" --out "$tmp/public" >/dev/null 2>&1
  : >"$log"
  start=$(date +%s.%N)
  out=$(SYNDICATED_SMTP_URL="smtp://127.0.0.1:25?$mode" "$tmp/syndicated" digest send --config "$tmp/syndicated.toml" \
    --data "$data" --series shanghai-70th --week 2019-W22 --since 2019-04-01 2>&1) || true
  end=$(date +%s.%N)
  sleep 2 # the log catches up
  sent=$(grep -oE 'sent [0-9]+' <<<"$out" | head -1 | cut -d' ' -f2)
  logged=$(grep -c 'postfix/discard.*status=sent' "$log" || true)
  tls=$(grep -c 'TLS connection established' "$log" || true)
  echo "== digest send, $mode: $(head -1 <<<"$out")"
  awk -v s="$start" -v e="$end" -v n="$n" 'BEGIN { printf "   %d subscribers in %.2f s (%.0f msg/s)\n", n, e - s, n / (e - s) }'
  echo "   Postfix delivered (discarded) $logged; TLS sessions $tls"
  want=$((n - 2))
  if [ "${sent:-0}" != "$want" ] || [ "$logged" != "$want" ] || ! grep -q 'bounced 1' <<<"$out" || ! grep -q 'retry later 1' <<<"$out"; then
    echo "   FAIL: want $want sent and logged, 1 bounced, 1 retry"
    echo "$out" | sed 's/^/   /'
    status=1
  fi
  if [ "$mode" != "tls=none" ] && [ "$tls" = 0 ]; then
    echo "   FAIL: no TLS session in Postfix's log"
    status=1
  fi
done

"$tmp/syndicated" digest preview --config "$tmp/syndicated.toml" --data "$data" --series shanghai-70th \
  --week 2019-W22 --since 2019-04-01 --out "$tmp/body.html" >/dev/null 2>&1
for sender in raw floor; do
  echo "== $sender: $("$tmp/digestbench" "$sender" -smtp 127.0.0.1:25 -n "$n" -conns 4 -body "$tmp/body.html")"
done
exit "$status"
