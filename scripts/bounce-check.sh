#!/usr/bin/env bash
# Bounce interop check: a digest sent through a real Postfix (Debian's,
# installed when missing) that accepts every recipient and fails some in
# delivery; Postfix's own DSNs go to each copy's VERP envelope sender and,
# through its transport map, reach `syndicated serve`'s bounce.listen. A
# complaint (ARF) and an unsubscribe request by mail (to a copy's
# List-Unsubscribe mailto:) travel the same way. It checks that the outbox,
# the subscribers' statuses and Postfix's log agree.
#
# Postfix runs as a PRIVATE INSTANCE (its own configuration, queue and
# loopback ports under a temporary directory, no chroot), so the system's
# Postfix, if any, is left alone. Run it as root (Postfix needs it).
#   Usage: scripts/bounce-check.sh [N]   (N ordinary readers, default 200)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-200}"
if ! command -v postconf >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null
fi
tmp="$(mktemp -d /tmp/bounce-check-XXXXXX)"
chmod 755 "$tmp"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo $((20000 + RANDOM % 20000)); }
mta=$(port) mx=$(port) listen=$(port) http=$(port)
pf="$tmp/postfix" log="$tmp/postfix/maillog"
serve_pid=""
cleanup() {
  [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
  postfix -c "$pf/etc" stop >/dev/null 2>&1 || true
  if [ -n "${KEEP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# --- the Postfix instance ---------------------------------------------------
mkdir -p "$pf/etc" "$pf/queue" "$pf/data" "$pf/kept"
chown postfix "$pf/data"
chmod 777 "$pf/kept"
cat >"$pf/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $pf/queue
data_directory = $pf/data
mail_owner = postfix
setgid_group = postdrop
myhostname = relay.test
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions = permit_mynetworks, reject
alias_maps =
alias_database =
maillog_file = $log
maillog_file_prefixes = $pf
transport_maps = texthash:$pf/etc/transport
# Every reader's mail is accepted, then: delivered (discarded), refused by
# the readers' MX (5xx: returned at once; 4xx: deferred, and returned
# after that one attempt as maximal_queue_lifetime is 0), or kept in a
# file (a reader's mailbox, to read the copy's List-Unsubscribe).
default_transport = discard:delivered
maximal_queue_lifetime = 0
bounce_queue_lifetime = 0
delay_warning_time = 0
smtp_tls_security_level = none
smtpd_tls_security_level = none
EOF
# The readers' MX is a second smtpd of the instance (its own name, so no
# mail loop) that refuses four of them at RCPT as remote servers do.
cat >"$pf/etc/transport" <<EOF
gone1@mail.test      smtp:[127.0.0.1]:$mx
gone2@mail.test      smtp:[127.0.0.1]:$mx
full1@mail.test      smtp:[127.0.0.1]:$mx
blocked@mail.test    smtp:[127.0.0.1]:$mx
keep1@mail.test      keep:
keep2@mail.test      keep:
bounce.example.org   smtp:[127.0.0.1]:$listen
EOF
cat >"$pf/etc/mx_access" <<EOF
gone1@mail.test      550 5.1.1 Recipient address rejected: User unknown in virtual mailbox table
gone2@mail.test      550 5.1.1 Mailbox does not exist
full1@mail.test      452 4.2.2 Mailbox full
blocked@mail.test    554 5.7.1 Message rejected by policy
EOF
cat >"$pf/etc/master.cf" <<EOF
127.0.0.1:$mta inet n - n - - smtpd
127.0.0.1:$mx  inet n - n - - smtpd -o myhostname=mx.mail.test -o smtpd_recipient_restrictions=check_recipient_access,texthash:$pf/etc/mx_access,reject
pickup    unix n - n 60 1 pickup
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
smtp      unix - - n - - smtp
relay     unix - - n - - smtp
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
keep      unix - n n - - pipe flags=R user=nobody argv=/usr/bin/tee $pf/kept/\${queue_id}.eml
EOF
postfix -c "$pf/etc" start >/dev/null
echo "Postfix $(postconf -h mail_version): a private instance on 127.0.0.1:$mta; DSNs for bounce.example.org go to 127.0.0.1:$listen"

# --- syndicated -------------------------------------------------------------
go build -o "$tmp/syndicated" ./cmd/syndicated
data="$tmp/data"
export SYNDICATED_BASE_URL="https://news.example.com" SYNDICATED_DATABASE_URL="" SYNDICATED_LOG_LEVEL=warn
export SYNDICATED_SMTP_URL="smtp://127.0.0.1:$mta?tls=none" SYNDICATED_SMTP_FROM="News <digest@news.example.com>"
export SYNDICATED_SMTP_RATE_PER_SECOND=0 SYNDICATED_SAMPLES=false
export SYNDICATED_BOUNCE_ADDRESS="bounces@bounce.example.org" SYNDICATED_BOUNCE_LISTEN="127.0.0.1:$listen"
S() { "$tmp/syndicated" "$@" --data "$data"; }
S import samples >/dev/null
{
  echo "email,status,lists"
  for i in $(seq -w 1 "$n"); do echo "reader$i@mail.test,active,shanghai-70th"; done
  for a in gone1 gone2 full1 blocked keep1 keep2; do echo "$a@mail.test,active,shanghai-70th"; done
} >"$tmp/readers.csv"
S subscribers import "$tmp/readers.csv" >/dev/null
total=$((n + 6))

SYNDICATED_LOG_LEVEL=info "$tmp/syndicated" serve --listen "127.0.0.1:$http" --data "$data" >"$tmp/serve.log" 2>&1 &
serve_pid=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$listen") 2>/dev/null && break; sleep 0.2; done

out=$(S digest send --series shanghai-70th --week 2019-W22 --since 2019-05-01 2>&1) || true
echo "== digest send: $(head -1 <<<"$out")"

# smtp_send FROM RCPT FILE: one message to Postfix over SMTP.
smtp_send() {
  local line
  exec 3<>"/dev/tcp/127.0.0.1/$mta"
  read -r -t 5 line <&3
  for cmd in "EHLO mailbox.test" "MAIL FROM:<$1>" "RCPT TO:<$2>" "DATA"; do
    printf '%s\r\n' "$cmd" >&3
    while read -r -t 5 line <&3; do [[ ${line:3:1} == "-" ]] || break; done
  done
  sed 's/$/\r/' "$3" >&3
  printf '.\r\nQUIT\r\n' >&3
  while read -r -t 5 line <&3; do :; done
  exec 3<&-
}

# The kept copies (their Return-Path is the VERP address Postfix had).
for _ in $(seq 100); do [ "$(ls "$pf/kept" | wc -l)" -ge 2 ] && break; sleep 0.2; done
k1=$(grep -l 'To: <\?keep1@mail.test' "$pf"/kept/*.eml | head -1) || true
k2=$(grep -l 'To: <\?keep2@mail.test' "$pf"/kept/*.eml | head -1) || true
if [ -z "$k1" ] || [ -z "$k2" ]; then
  echo "FAIL: Postfix kept no copy for keep1 and keep2"; echo "$out"; tail -30 "$log"; exit 1
fi
verp1=$(sed -n 's/^Return-Path: <\(.*\)>.*/\1/p' "$k1" | head -1)
unsub2=$(tr -d '\r' <"$k2" | awk '/^List-Unsubscribe:/ {h=$0; while ((getline l) > 0 && l ~ /^[ \t]/) h = h l; print h; exit}' |
  grep -o 'mailto:[^?>]*' | head -1 | cut -d: -f2)
echo "   keep1's envelope sender: ${verp1%%+*}+…@${verp1#*@}; keep2's mailto: ${unsub2%%+*}+unsubscribe-…@${unsub2#*@}"

# A mailbox provider's feedback loop reports keep1's copy as spam, to the
# FBL address, quoting the copy (whose Return-Path names it).
{
  printf 'From: fbl@mailbox.test\nTo: bounces@bounce.example.org\nSubject: abuse report\nMessage-ID: <arf.1@mailbox.test>\n'
  printf 'MIME-Version: 1.0\nContent-Type: multipart/report; report-type=feedback-report; boundary="ARF"\n\n'
  printf -- '--ARF\nContent-Type: text/plain\n\nThis is an abuse report.\n\n'
  printf -- '--ARF\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\nUser-Agent: MailboxFBL/1.0\nVersion: 1\nOriginal-Mail-From: <%s>\n\n' "$verp1"
  printf -- '--ARF\nContent-Type: message/rfc822\n\n'
  tr -d '\r' <"$k1" | sed -n '1,/^$/p' | sed 's/^\./../'
  printf -- '\n--ARF--\n'
} >"$tmp/arf.eml"
smtp_send fbl@mailbox.test bounces@bounce.example.org "$tmp/arf.eml"
# keep2's mail client unsubscribes through the List-Unsubscribe mailto:.
printf 'From: keep2@mail.test\nTo: %s\nSubject: unsubscribe\nMessage-ID: <unsub.1@mail.test>\n\nunsubscribe\n' "$unsub2" >"$tmp/unsub.eml"
smtp_send keep2@mail.test "$unsub2" "$tmp/unsub.eml"

# Wait until Postfix's queue is empty (every copy delivered or returned)
# and it has relayed 6 messages to bounce.listen (4 DSNs, the ARF report,
# the unsubscribe request), which answers once each is recorded.
relayed() { grep -c "relay=127.0.0.1\[127.0.0.1\]:$listen.*status=sent" "$log" || true; }
for _ in $(seq 300); do
  [ "$(relayed)" -ge 6 ] && postqueue -c "$pf/etc" -p 2>/dev/null | grep -q 'Mail queue is empty' && break
  sleep 0.2
done
sleep 0.5 # the last log lines
status=0
check() { # name got want
  if [ "$2" = "$3" ]; then echo "   ok   $1: $2"; else echo "   FAIL $1: $2, want $3"; status=1; fi
}
echo "== Postfix's log"
check "copies accepted from a VERP sender" "$(grep -c 'qmgr.*from=<bounces+[a-z2-7]*@bounce.example.org>.*queue active' "$log" || true)" "$total"
check "copies delivered (discarded or kept)" "$(grep -cE 'relay=(none|keep).*status=sent' "$log" || true)" $((n + 2))
check "copies refused by the MX (3 bounced, 1 deferred then expired)" \
  "$(grep -c 'status=bounced' "$log" || true) $(grep -c 'status=deferred' "$log" || true) $(grep -c 'status=expired, returned to sender' "$log" || true)" "3 1 1"
check "messages relayed to bounce.listen (4 DSNs, 1 ARF, 1 unsubscribe)" "$(relayed)" 6
echo "== the outbox"
st=$(S digest status --series shanghai-70th --week 2019-W22 2>&1)
check "sent" "$(grep -oE 'sent [0-9]+,' <<<"$st" | grep -oE '[0-9]+')" "$total"
check "what came back" "$(grep -o 'later: .*' <<<"$st")" "later: hard bounces 2, soft bounces 1, refused by policy 1, complaints 1 ($(awk -v t="$total" 'BEGIN { printf "%.2f", 100 / t }') % of $total sent), unsubscribed by mail 1"
grep -q 'WARN complaint rate' <<<"$st" && echo "   ok   complaint-rate WARN line" || { echo "   FAIL no WARN line"; status=1; }
echo "== subscribers"
check "bounced" "$(S subscribers list --status bounced | cut -f1 | sort | tr '\n' ' ')" "gone1@mail.test gone2@mail.test "
check "unsubscribed" "$(S subscribers list --status unsubscribed | cut -f1 | sort | tr '\n' ' ')" "keep1@mail.test keep2@mail.test "
check "full1 (one soft bounce)" "$(S subscribers events full1@mail.test | awk -F'\t' 'NR>1 {print $3, $5, $6}')" "soft 452 4.2.2 soft bounce 1 of 3 (1 of 2 issues) within 30 days"
check "blocked (policy)" "$(S subscribers events blocked@mail.test | awk -F'\t' 'NR==1 {print $2} NR>1 {print $3, $5}' | tr '\n' ' ')" "active rejected 554 5.7.1 "
if S subscribers add --confirmed keep1@mail.test >/dev/null 2>&1; then echo "   FAIL the complainer could be added again"; status=1; else echo "   ok   the complainer is suppressed"; fi
check "active" "$(S subscribers list --status active | wc -l)" $((n + 2))
if [ "$status" != 0 ]; then
  echo "--- serve's log"; cat "$tmp/serve.log"; echo "--- Postfix's log"; tail -40 "$log"
fi
exit "$status"
