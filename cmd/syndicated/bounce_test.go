package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// The daemon wired with bounce.*: a digest's copies go out with their own
// envelope senders; a DSN delivered to bounce.listen bounces its reader, a
// Mailgun complaint through the webhook unsubscribes another; digest
// status, subscribers events and /metrics show them; unbounce undoes the
// bounce.
func TestBounceWiring(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	listen := closedPort(t)
	const mailgunKey = "key-0123456789abcdef0123456789ab"
	env := []string{"SYNDICATED_BOUNCE_ADDRESS=bounces@bounce.example.org", "SYNDICATED_BOUNCE_LISTEN=" + listen,
		"SYNDICATED_BOUNCE_MAILGUN_SIGNING_KEY=" + mailgunKey, "SYNDICATED_SMTP_FROM=News <digest@news.example.com>"}
	if code, _, errs := run(t, ctx, env, "import", "--data", data, "../../samples"); code != 0 {
		t.Fatalf("import: %s", errs)
	}
	for _, e := range []string{"gone@mail.example.net", "annoyed@mail.example.net"} {
		if code, _, errs := run(t, ctx, env, "subscribers", "add", "--data", data, "--confirmed", e); code != 0 {
			t.Fatalf("add: %s", errs)
		}
	}
	if code, out, errs := run(t, ctx, env, "digest", "send", "--data", data, "--week", "2019-W22", "--since", "2019-05-01"); code != 0 {
		t.Fatalf("digest send: %d\n%s\n%s", code, out, errs)
	}
	copies := map[string][]byte{}
	files, _ := filepath.Glob(filepath.Join(data, "mail", "[^.]*.eml"))
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, to := range []string{"gone@mail.example.net", "annoyed@mail.example.net"} {
			if bytes.Contains(b, []byte("To: <"+to+">")) || bytes.Contains(b, []byte("To: "+to)) {
				copies[to] = b
			}
		}
	}
	if len(copies) != 2 {
		t.Fatalf("spool holds %d copies", len(copies))
	}
	returnPath := func(b []byte) string {
		line, _, _ := strings.Cut(string(b), "\r\n")
		rp, ok := strings.CutPrefix(line, "Return-Path: <")
		if !ok || !strings.HasPrefix(rp, "bounces+") {
			t.Fatalf("copy starts %q, want its VERP Return-Path", line)
		}
		return strings.TrimSuffix(rp, ">")
	}
	messageID := func(b []byte) string {
		_, rest, _ := strings.Cut(string(b), "\r\nMessage-ID: <")
		id, _, _ := strings.Cut(rest, ">")
		return id
	}
	gonePath := returnPath(copies["gone@mail.example.net"])
	if !bytes.Contains(copies["gone@mail.example.net"], []byte("mailto:bounces+unsubscribe-")) {
		t.Error("no per-copy mailto: in List-Unsubscribe although bounce.listen reads mail")
	}

	base, log := servingLogged(t, env, data)
	dsn, err := os.ReadFile("../../bounce/parse/testdata/postfix-dsn-hard.eml")
	if err != nil {
		t.Fatal(err)
	}
	dsn = bytes.ReplaceAll(dsn, []byte("bounces+t0ken@bounce.example.org"), []byte(gonePath))
	dsn = bytes.ReplaceAll(dsn, []byte("digest.shanghai-70th.2019-W22.42@news.example.com"), []byte(messageID(copies["gone@mail.example.net"])))
	var c *smtp.Client
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err = smtp.Dial(listen); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("bounce.listen: %v\n%s", err, log)
	}
	if err := c.SendMail("", []string{gonePath}, bytes.NewReader(dsn)); err != nil {
		t.Fatal(err)
	}
	c.Quit()

	ts := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(mailgunKey))
	mac.Write([]byte(ts + "tok-1"))
	call := fmt.Sprintf(`{"signature": {"timestamp": %q, "token": "tok-1", "signature": %q},
		"event-data": {"id": "ev-1", "event": "complained", "recipient": "annoyed@mail.example.net", "timestamp": %s}}`,
		ts, hex.EncodeToString(mac.Sum(nil)), ts)
	resp, err := http.Post(base+"/webhooks/bounce/mailgun", "application/json", strings.NewReader(call))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("webhook: %v %v\n%s", resp, err, log)
	}
	resp.Body.Close()

	m := scrape(t, base)
	for k, v := range map[string]float64{
		`syndicated_bounce_events_total{kind="hard",source="smtp"}`:         1,
		`syndicated_bounce_events_total{kind="complaint",source="mailgun"}`: 1,
	} {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	code, out, errs := run(t, ctx, env, "digest", "status", "--data", data, "--week", "2019-W22")
	if code != 0 || !strings.Contains(out, "later: hard bounces 1, soft bounces 0, refused by policy 0, complaints 1 (50.00 % of 2 sent)") ||
		!strings.Contains(out, "WARN complaint rate 50.00 %") {
		t.Errorf("digest status: %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = run(t, ctx, env, "subscribers", "events", "--data", data, "gone@mail.example.net")
	if code != 0 || !strings.Contains(out, "gone@mail.example.net\tbounced\t1 bounces") ||
		!strings.Contains(out, "\tsmtp\thard\tshanghai-70th/2019-W22\t550 5.1.1\tbounced\t550 5.1.1 <address>: Recipient address rejected") {
		t.Errorf("subscribers events:\n%s", out)
	}
	if code, out, _ := run(t, ctx, env, "subscribers", "list", "--data", data, "--status", "unsubscribed"); code != 0 || !strings.Contains(out, "annoyed@mail.example.net") {
		t.Errorf("complainer not unsubscribed:\n%s", out)
	}
	if code, _, errs := run(t, ctx, env, "subscribers", "add", "--data", data, "--confirmed", "annoyed@mail.example.net"); code == 0 || !strings.Contains(errs, "suppression") {
		t.Errorf("complainer added back: %d %s", code, errs)
	}
	if code, out, errs := run(t, ctx, env, "subscribers", "unbounce", "--data", data, "gone@mail.example.net"); code != 0 || !strings.Contains(out, "1 unbounced") {
		t.Errorf("unbounce: %d\n%s\n%s", code, out, errs)
	}
	if _, out, _ := run(t, ctx, env, "subscribers", "events", "--data", data, "gone@mail.example.net"); !strings.Contains(out, "\toperator\tunbounce\t-\t-\tactive again") {
		t.Errorf("events after unbounce:\n%s", out)
	}
	if strings.Contains(log.String(), "gone@mail.example.net") || strings.Contains(log.String(), "annoyed@") {
		t.Errorf("an address in the daemon's log:\n%s", log)
	}
}

func TestConfigCheckDescribesBounces(t *testing.T) {
	ctx := context.Background()
	code, out, errs := run(t, ctx, []string{"SYNDICATED_BOUNCE_ADDRESS=bounces@bounce.example.org",
		"SYNDICATED_BOUNCE_MAILBOX=imaps://bounces:hunter2-secret@imap.example.org/INBOX",
		"SYNDICATED_BOUNCE_POSTMARK_USERNAME=pm", "SYNDICATED_BOUNCE_POSTMARK_PASSWORD=another-long-secret-123"},
		"config", "check", "--data", t.TempDir())
	if code != 0 || !strings.Contains(out, "bounces       envelope senders bounces+TOKEN@bounce.example.org; mailbox imaps://bounces@imap.example.org/INBOX; webhooks /webhooks/bounce/postmark") {
		t.Errorf("config check: %d\n%s\n%s", code, out, errs)
	}
	if strings.Contains(out+errs, "hunter2") || strings.Contains(out+errs, "another-long-secret") {
		t.Errorf("a secret printed:\n%s\n%s", out, errs)
	}
	if _, out, _ := run(t, ctx, nil, "config", "check", "--data", t.TempDir()); !strings.Contains(out, "bounces       off") {
		t.Errorf("default config check:\n%s", out)
	}
}
