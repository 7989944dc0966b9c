package webhook_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syndicated/syndicated/bounce"
	"github.com/syndicated/syndicated/bounce/internal/bouncetest"
	"github.com/syndicated/syndicated/bounce/webhook"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
	"github.com/syndicated/syndicated/subscribers"
)

// serve runs the webhooks of providers into f's pipeline.
func serve(t *testing.T, f *bouncetest.Fixture, providers ...webhook.Provider) *httptest.Server {
	t.Helper()
	w, err := webhook.New(f.Proc, f.Count, slog.New(slog.NewTextHandler(f.Log, nil)), providers...)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	w.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func post(t *testing.T, url string, body []byte, header http.Header) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func fill(t *testing.T, file string, kv ...string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReplacer(kv...).Replace(string(b))
}

// --- Amazon SES through SNS ---

const (
	topic   = "arn:aws:sns:us-east-1:123456789012:ses-bounces"
	certURL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-01d088a6f77103d0fe307c0069e40ed6.pem"
)

// sns signs SNS messages with a test key, and serves its certificate
// through the injected fetcher (recording what was fetched).
type sns struct {
	key     *rsa.PrivateKey
	certPEM []byte
	mu      sync.Mutex
	fetched []string
}

func newSNS(t *testing.T) *sns {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "sns.amazonaws.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &sns{key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func (s *sns) fetch(_ context.Context, u string) ([]byte, error) {
	s.mu.Lock()
	s.fetched = append(s.fetched, u)
	s.mu.Unlock()
	if u == certURL {
		return s.certPEM, nil
	}
	return []byte("<ConfirmSubscriptionResponse/>"), nil
}

func (s *sns) wasFetched(u string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.fetched {
		if f == u {
			return true
		}
	}
	return false
}

// message is an SNS delivery, signed as SNS signs (version 1: SHA1, 2:
// SHA256), in the documented JSON shape.
func (s *sns) message(t *testing.T, typ, id, body, version string, edit func(m map[string]string)) []byte {
	t.Helper()
	m := map[string]string{"Type": typ, "MessageId": id, "TopicArn": topic, "Message": body,
		"Timestamp": "2019-05-27T01:00:06.123Z", "SignatureVersion": version, "SigningCertURL": certURL,
		"UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + topic + ":1"}
	if typ == "SubscriptionConfirmation" {
		m["Token"] = "2336412f37fb687f5d51e6e2425f004ae"
		m["SubscribeURL"] = "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" + topic + "&Token=2336412f37fb687f5d51e6e2425f004ae"
	}
	var fields []string
	if typ == "Notification" {
		fields = []string{"Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"}
	} else {
		fields = []string{"Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"}
	}
	var sb strings.Builder
	for _, k := range fields {
		if v, ok := m[k]; ok {
			sb.WriteString(k + "\n" + v + "\n")
		}
	}
	var sig []byte
	var err error
	if version == "1" {
		sum := sha1.Sum([]byte(sb.String()))
		sig, err = rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA1, sum[:])
	} else {
		sum := sha256.Sum256([]byte(sb.String()))
		sig, err = rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	}
	if err != nil {
		t.Fatal(err)
	}
	m["Signature"] = base64.StdEncoding.EncodeToString(sig)
	if edit != nil {
		edit(m)
	}
	b, _ := json.Marshal(m)
	return b
}

func TestSES(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		f := bouncetest.New(t, st)
		gone := f.Subscriber(t, "gone@mail.example.net")
		annoyed := f.Subscriber(t, "annoyed@mail.example.net")
		f.Subscriber(t, "erased@mail.example.net")
		iss := f.Issue(t, "shanghai-70th", 22)
		if err := f.Subs.Remove(context.Background(), "erased@mail.example.net"); err != nil {
			t.Fatal(err)
		}
		s := newSNS(t)
		ses, err := webhook.NewSES([]string{topic}, s.fetch, nil)
		if err != nil {
			t.Fatal(err)
		}
		url := serve(t, f, ses).URL + webhook.Path(bounce.SourceSES)

		bounceJSON := fill(t, "ses-bounce.json", "{{RECIPIENT}}", "gone@mail.example.net", "{{MESSAGEID}}", bouncetest.MessageID(iss.ID, gone.ID))
		good := s.message(t, "Notification", "b1a2c3d4-0001", bounceJSON, "1", nil)
		if code := post(t, url, good, nil); code != 200 {
			t.Fatalf("bounce: %d", code)
		}
		if sub := f.Get(t, gone.ID); sub.Status != subscribers.StatusBounced {
			t.Errorf("after the SES bounce: %s", sub.Status)
		}
		if evs := f.Events(t, gone.ID); len(evs) != 1 || evs[0].Source != bounce.SourceSES || evs[0].IssueID != iss.ID || evs[0].Status != "5.1.1" {
			t.Errorf("events %+v", evs)
		}
		// A replay of the same call records nothing new.
		if code := post(t, url, good, nil); code != 200 || f.Get(t, gone.ID).BounceCount != 1 || f.Count.Get("ses/duplicate/hard") != 1 {
			t.Errorf("replay: %d, %d bounces", code, f.Get(t, gone.ID).BounceCount)
		}

		complaint := fill(t, "ses-complaint.json", "{{RECIPIENT}}", "annoyed@mail.example.net", "{{MESSAGEID}}", bouncetest.MessageID(iss.ID, annoyed.ID))
		if code := post(t, url, s.message(t, "Notification", "b1a2c3d4-0002", complaint, "2", nil), nil); code != 200 {
			t.Fatalf("complaint: %d", code)
		}
		if sub := f.Get(t, annoyed.ID); sub.Status != subscribers.StatusUnsubscribed {
			t.Errorf("after the SES complaint: %s", sub.Status)
		}

		// Refused, changing nothing: a tampered message, a certificate
		// from elsewhere (never fetched), a topic not configured.
		other := f.Subscriber(t, "other@mail.example.net")
		otherJSON := fill(t, "ses-bounce.json", "{{RECIPIENT}}", "other@mail.example.net", "{{MESSAGEID}}", "x@y")
		evil := "https://sns.us-east-1.amazonaws.com.evil.example/SimpleNotificationService-1.pem"
		for name, body := range map[string][]byte{
			"tampered": s.message(t, "Notification", "b1a2c3d4-0003", bounceJSON, "1", func(m map[string]string) {
				m["Message"] = otherJSON
			}),
			"bad base64": s.message(t, "Notification", "b1a2c3d4-0004", otherJSON, "1", func(m map[string]string) { m["Signature"] = "!!" }),
			"foreign certificate": s.message(t, "Notification", "b1a2c3d4-0005", otherJSON, "1", func(m map[string]string) {
				m["SigningCertURL"] = evil
			}),
			"another topic": s.message(t, "Notification", "b1a2c3d4-0006", otherJSON, "1", func(m map[string]string) {
				m["TopicArn"] = "arn:aws:sns:us-east-1:999999999999:someone-elses"
			}),
			"unknown version": s.message(t, "Notification", "b1a2c3d4-0007", otherJSON, "3", nil),
		} {
			if code := post(t, url, body, nil); code != 401 {
				t.Errorf("%s: %d, want 401", name, code)
			}
		}
		if s.wasFetched(evil) {
			t.Error("a certificate was fetched from a host that is not Amazon's")
		}
		if sub := f.Get(t, other.ID); sub.Status != subscribers.StatusActive || len(f.Events(t, other.ID)) != 0 {
			t.Errorf("a refused call changed a subscriber: %s", sub.Status)
		}
		if n := strings.Count(f.Log.String(), "bounce: webhook refused"); n != 5 {
			t.Errorf("%d refusal log lines, want 5:\n%s", n, f.Log)
		}
		if code := post(t, url, []byte("{not json"), nil); code != 400 {
			t.Errorf("malformed: %d", code)
		}
		// A bounce of an erased subscriber: authenticated, ignored.
		erasedJSON := fill(t, "ses-bounce.json", "{{RECIPIENT}}", "erased@mail.example.net", "{{MESSAGEID}}", "x@y")
		if code := post(t, url, s.message(t, "Notification", "b1a2c3d4-0008", erasedJSON, "2", nil), nil); code != 200 || f.Count.Get("ses/unmatched/hard") != 1 {
			t.Errorf("erased: %d", code)
		}
	})
}

func TestSESSubscriptionConfirmation(t *testing.T) {
	f := bouncetest.New(t, storagetest.SQLite(t))
	s := newSNS(t)
	ses, _ := webhook.NewSES([]string{topic}, s.fetch, nil)
	url := serve(t, f, ses).URL + webhook.Path(bounce.SourceSES)
	msg := s.message(t, "SubscriptionConfirmation", "c0c0-0001", "You have chosen to subscribe to the topic "+topic+".", "1", nil)
	if code := post(t, url, msg, nil); code != 200 {
		t.Fatalf("confirmation: %d", code)
	}
	want := "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=" + topic + "&Token=2336412f37fb687f5d51e6e2425f004ae"
	if !s.wasFetched(want) {
		t.Errorf("SubscribeURL not fetched: %v", s.fetched)
	}
	// A SubscribeURL elsewhere is never fetched, even correctly signed.
	elsewhere := "https://attacker.example/confirm"
	m := s.message(t, "SubscriptionConfirmation", "c0c0-0002", "x", "1", nil)
	var raw map[string]string
	_ = json.Unmarshal(m, &raw)
	raw["SubscribeURL"] = elsewhere
	m2 := resign(t, s, raw)
	if code := post(t, url, m2, nil); code != 401 || s.wasFetched(elsewhere) {
		t.Errorf("SubscribeURL elsewhere: %d, fetched %v", code, s.wasFetched(elsewhere))
	}
}

// resign signs a confirmation whose fields a test changed.
func resign(t *testing.T, s *sns, m map[string]string) []byte {
	var sb strings.Builder
	for _, k := range []string{"Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"} {
		sb.WriteString(k + "\n" + m[k] + "\n")
	}
	sum := sha1.Sum([]byte(sb.String()))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA1, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	m["Signature"] = base64.StdEncoding.EncodeToString(sig)
	b, _ := json.Marshal(m)
	return b
}

func TestSESConfig(t *testing.T) {
	if _, err := webhook.NewSES(nil, nil, nil); err == nil {
		t.Error("no topic accepted")
	}
	if _, err := webhook.NewSES([]string{"ses-bounces"}, nil, nil); err == nil {
		t.Error("a topic name that is no ARN accepted")
	}
}

// --- Mailgun ---

const mailgunKey = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"

func mailgunCall(t *testing.T, file, key string, at time.Time, token, eventID string, kv ...string) []byte {
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(ts + token))
	return []byte(fill(t, file, append(kv, "{{TIMESTAMP}}", ts, "{{TOKEN}}", token, "{{EVENTID}}", eventID,
		"{{SIGNATURE}}", hex.EncodeToString(mac.Sum(nil)))...))
}

func TestMailgun(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		f := bouncetest.New(t, st)
		gone := f.Subscriber(t, "gone@mail.example.net")
		annoyed := f.Subscriber(t, "annoyed@mail.example.net")
		iss := f.Issue(t, "shanghai-70th", 22)
		now := time.Date(2019, 5, 27, 1, 5, 0, 0, time.UTC)
		mg, err := webhook.NewMailgun(mailgunKey, time.Hour, func() time.Time { return now })
		if err != nil {
			t.Fatal(err)
		}
		url := serve(t, f, mg).URL + webhook.Path(bounce.SourceMailgun)
		failed := mailgunCall(t, "mailgun-failed.json", mailgunKey, now.Add(-time.Minute), "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0", "CPgfbmQMTCKtHW6uIWtuVe",
			"{{RECIPIENT}}", "gone@mail.example.net", "{{MESSAGEID}}", bouncetest.MessageID(iss.ID, gone.ID))
		if code := post(t, url, failed, nil); code != 200 || f.Get(t, gone.ID).Status != subscribers.StatusBounced {
			t.Fatalf("failed: %d, %s", code, f.Get(t, gone.ID).Status)
		}
		if evs := f.Events(t, gone.ID); len(evs) != 1 || evs[0].Code != 550 || evs[0].Status != "5.1.1" {
			t.Errorf("events %+v", evs)
		}
		if code := post(t, url, failed, nil); code != 200 || f.Get(t, gone.ID).BounceCount != 1 {
			t.Errorf("replay: %d", code)
		}
		complained := mailgunCall(t, "mailgun-complained.json", mailgunKey, now, "b9df1fec3ee9412eef3516346695f556bba02e2f0a08a04e61", "Ase7i2zsRYeDXztHGENqRA",
			"{{RECIPIENT}}", "annoyed@mail.example.net", "{{MESSAGEID}}", bouncetest.MessageID(iss.ID, annoyed.ID))
		if code := post(t, url, complained, nil); code != 200 || f.Get(t, annoyed.ID).Status != subscribers.StatusUnsubscribed {
			t.Errorf("complained: %d %s", code, f.Get(t, annoyed.ID).Status)
		}
		other := f.Subscriber(t, "other@mail.example.net")
		vars := []string{"{{RECIPIENT}}", "other@mail.example.net", "{{MESSAGEID}}", "x@y"}
		for name, body := range map[string][]byte{
			"wrong key":    mailgunCall(t, "mailgun-failed.json", "key-not-the-one-configured-000000", now, "c1", "e1", vars...),
			"stale":        mailgunCall(t, "mailgun-failed.json", mailgunKey, now.Add(-2*time.Hour), "c2", "e2", vars...),
			"no signature": []byte(strings.Replace(string(mailgunCall(t, "mailgun-failed.json", mailgunKey, now, "c3", "e3", vars...)), `"token": "c3"`, `"token": ""`, 1)),
		} {
			if code := post(t, url, body, nil); code != 401 {
				t.Errorf("%s: %d, want 401", name, code)
			}
		}
		if f.Get(t, other.ID).Status != subscribers.StatusActive {
			t.Error("a refused call changed a subscriber")
		}
	})
}

// --- SendGrid ---

func TestSendGrid(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		f := bouncetest.New(t, st)
		gone := f.Subscriber(t, "gone@mail.example.net")
		full := f.Subscriber(t, "full@mail.example.net")
		annoyed := f.Subscriber(t, "annoyed@mail.example.net")
		iss := f.Issue(t, "shanghai-70th", 22)
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
		now := time.Unix(1558918900, 0)
		sg, err := webhook.NewSendGrid(base64.StdEncoding.EncodeToString(der), time.Hour, func() time.Time { return now })
		if err != nil {
			t.Fatal(err)
		}
		url := serve(t, f, sg).URL + webhook.Path(bounce.SourceSendGrid)
		body := []byte(fill(t, "sendgrid-events.json",
			"{{RECIPIENT1}}", "gone@mail.example.net", "{{MESSAGEID1}}", bouncetest.MessageID(iss.ID, gone.ID),
			"{{RECIPIENT2}}", "full@mail.example.net", "{{MESSAGEID2}}", bouncetest.MessageID(iss.ID, full.ID),
			"{{RECIPIENT3}}", "annoyed@mail.example.net", "{{MESSAGEID3}}", bouncetest.MessageID(iss.ID, annoyed.ID)))
		sign := func(ts string, b []byte, k *ecdsa.PrivateKey) http.Header {
			sum := sha256.Sum256(append([]byte(ts), b...))
			sig, err := ecdsa.SignASN1(rand.Reader, k, sum[:])
			if err != nil {
				t.Fatal(err)
			}
			return http.Header{webhook.SendGridSignatureHeader: {base64.StdEncoding.EncodeToString(sig)}, webhook.SendGridTimestampHeader: {ts}}
		}
		ts := strconv.FormatInt(now.Unix()-5, 10)
		otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		for name, h := range map[string]http.Header{
			"other key":    sign(ts, body, otherKey),
			"other body":   sign(ts, append([]byte(" "), body...), key),
			"no signature": {webhook.SendGridTimestampHeader: {ts}},
			"stale":        sign(strconv.FormatInt(now.Unix()-7200, 10), body, key),
		} {
			if code := post(t, url, body, h); code != 401 {
				t.Errorf("%s: %d, want 401", name, code)
			}
		}
		if len(f.Events(t, gone.ID)) != 0 {
			t.Fatal("a refused call was recorded")
		}
		if code := post(t, url, body, sign(ts, body, key)); code != 200 {
			t.Fatalf("events: %d", code)
		}
		if s := f.Get(t, gone.ID).Status; s != subscribers.StatusBounced {
			t.Errorf("bounce: %s", s)
		}
		if evs := f.Events(t, full.ID); len(evs) != 1 || evs[0].Kind != bounce.KindSoft || f.Get(t, full.ID).Status != subscribers.StatusActive {
			t.Errorf("deferred: %+v", evs)
		}
		if s := f.Get(t, annoyed.ID).Status; s != subscribers.StatusUnsubscribed {
			t.Errorf("spam report: %s", s)
		}
		// The same batch again (a retry): nothing new.
		if code := post(t, url, body, sign(ts, body, key)); code != 200 || len(f.Events(t, full.ID)) != 1 || f.Get(t, gone.ID).BounceCount != 1 {
			t.Errorf("replayed batch: %d", code)
		}
	})
}

// --- Postmark ---

func TestPostmark(t *testing.T) {
	f := bouncetest.New(t, storagetest.SQLite(t))
	gone := f.Subscriber(t, "gone@mail.example.net")
	f.Issue(t, "shanghai-70th", 22)
	pm, err := webhook.NewPostmark("postmark", "a-long-webhook-password-0123")
	if err != nil {
		t.Fatal(err)
	}
	url := serve(t, f, pm).URL + webhook.Path(bounce.SourcePostmark)
	body := []byte(fill(t, "postmark-bounce.json", "{{RECIPIENT}}", "gone@mail.example.net"))
	auth := func(user, pass string) http.Header {
		return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))}}
	}
	if code := post(t, url, body, auth("postmark", "wrong-password-0000000000")); code != 401 {
		t.Errorf("wrong password: %d", code)
	}
	if code := post(t, url, body, nil); code != 401 {
		t.Errorf("no credentials: %d", code)
	}
	if f.Get(t, gone.ID).Status != subscribers.StatusActive {
		t.Fatal("a refused call changed the subscriber")
	}
	if code := post(t, url, body, auth("postmark", "a-long-webhook-password-0123")); code != 200 || f.Get(t, gone.ID).Status != subscribers.StatusBounced {
		t.Errorf("hard bounce: %d %s", code, f.Get(t, gone.ID).Status)
	}
	if _, err := webhook.NewPostmark("postmark", "short"); err == nil {
		t.Error("a short password accepted")
	}
}

// Calls the handler refuses before reading: too large, an unknown
// provider, a pipeline that cannot record (the provider retries).
func TestHandlerEdges(t *testing.T) {
	f := bouncetest.New(t, storagetest.SQLite(t))
	gone := f.Subscriber(t, "gone@mail.example.net")
	f.Issue(t, "shanghai-70th", 22)
	pm, _ := webhook.NewPostmark("postmark", "a-long-webhook-password-0123")
	srv := serve(t, f, pm)
	auth := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("postmark:a-long-webhook-password-0123"))}}
	if code := post(t, srv.URL+webhook.Path(bounce.SourcePostmark), bytes.Repeat([]byte(" "), webhook.MaxBody+1), auth); code != 413 {
		t.Errorf("too large: %d", code)
	}
	if code := post(t, srv.URL+webhook.Path(bounce.SourceSES), []byte("{}"), nil); code != 404 {
		t.Errorf("a provider not configured: %d", code)
	}
	f.Store.Close()
	body := []byte(fill(t, "postmark-bounce.json", "{{RECIPIENT}}", "gone@mail.example.net"))
	if code := post(t, srv.URL+webhook.Path(bounce.SourcePostmark), body, auth); code != 503 {
		t.Errorf("store down: %d, want 503", code)
	}
	_ = gone
}
