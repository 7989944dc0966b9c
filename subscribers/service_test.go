package subscribers_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/internal/mailtest"
	"github.com/syndicated/syndicated/mail"
	"github.com/syndicated/syndicated/mail/hermes"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
	"github.com/syndicated/syndicated/subscribers"
)

const secret = "test-secret-0123456789abcdef"

type env struct {
	svc   *subscribers.Service
	store storage.Storage
	clock *mailtest.Clock
	out   *mailtest.Outbox
}

func newEnv(t testing.TB, st storage.Storage, mod func(*subscribers.Config)) *env {
	t.Helper()
	ck := mailtest.NewClock(time.Date(2026, 4, 20, 9, 0, 0, 0, time.UTC))
	out := mailtest.NewOutbox(t, "News <news@example.com>", ck.Now)
	cfg := subscribers.Config{
		Store: st, Mailer: out, Secret: []byte(secret), BaseURL: "https://news.example.com/",
		Confirmation: hermes.New(hermes.Brand{Name: "China Daily News", Link: "https://news.example.com"}),
		Lists:        []subscribers.List{{Slug: "shanghai-70th", Title: "Shanghai 70th anniversary series"}, {Slug: "society", Title: "Society"}},
		Now:          ck.Now,
	}
	if mod != nil {
		mod(&cfg)
	}
	svc, err := subscribers.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out.Wait = svc.Wait
	t.Cleanup(svc.Wait) // before the temp dir and the store go
	return &env{svc: svc, store: st, clock: ck, out: out}
}

// subscribe signs up and waits for what Subscribe does after it answers
// (recording the request, sending the confirmation).
func (e *env) subscribe(ctx context.Context, r subscribers.Request) error {
	err := e.svc.Subscribe(ctx, r)
	e.svc.Wait()
	return err
}

var linkRE = regexp.MustCompile(`https://news\.example\.com/confirm\?token=[A-Za-z0-9_.%-]+`)

func confirmToken(t *testing.T, m *mail.Message) string {
	t.Helper()
	link := linkRE.FindString(m.Text)
	if link == "" {
		t.Fatalf("no confirm link in text part:\n%s", m.Text)
	}
	if !strings.Contains(m.HTML, strings.ReplaceAll(link, "&", "&amp;")) {
		t.Errorf("HTML part lacks the link %s", link)
	}
	u, _ := url.Parse(link)
	return u.Query().Get("token")
}

// snapshot is every stored subscriber, to assert that nothing changed.
func snapshot(t *testing.T, st storage.Storage) string {
	t.Helper()
	subs, err := st.ListSubscribers(context.Background(), subscribers.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, s := range subs {
		fmt.Fprintf(&b, "%+v\n", *s)
	}
	return b.String()
}

func get(t *testing.T, st storage.Storage, email string) *subscribers.Subscriber {
	t.Helper()
	s, err := st.GetSubscriber(context.Background(), email)
	if err != nil {
		t.Fatalf("get %s: %v", email, err)
	}
	return s
}

func activeLists(s *subscribers.Subscriber) string {
	var l []string
	for _, x := range s.Lists {
		if x.Active {
			l = append(l, x.List)
		}
	}
	return strings.Join(l, ",")
}

func TestDoubleOptInLifecycle(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		ctx := context.Background()
		e := newEnv(t, st, nil)
		req := subscribers.Request{Email: " Reader@Example.COM ", Name: `<script>alert("x")</script> Li`, Lists: []string{"shanghai-70th"}, IP: "192.0.2.1", UserAgent: "test", Source: "web"}
		if err := e.subscribe(ctx, req); err != nil {
			t.Fatal(err)
		}
		s := get(t, st, "Reader@example.com")
		if s.Status != subscribers.StatusPending || activeLists(s) != "" || s.Consent.IP != "192.0.2.1" || s.Consent.Source != "web" || !s.ConfirmationSentAt.Equal(e.clock.Now()) {
			t.Fatalf("after subscribe: %+v", s)
		}
		msgs := e.out.Take()
		if len(msgs) != 1 || msgs[0].To != "Reader@example.com" {
			t.Fatalf("sent %v", msgs)
		}
		m := msgs[0]
		// The name is the visitor's text: nothing of it goes into a message
		// sent before consent (not even escaped, nor in the To header).
		for part, body := range map[string]string{"HTML": m.HTML, "text": m.Text, "To name": m.ToName, "subject": m.Subject} {
			if strings.Contains(body, "alert(") || strings.Contains(body, "alert&#34;") || strings.Contains(body, "&lt;script") {
				t.Errorf("the visitor's name is in the confirmation's %s", part)
			}
		}
		if !strings.Contains(m.HTML, "China Daily News") || !strings.Contains(m.Text, "Shanghai 70th anniversary series") {
			t.Errorf("brand or list missing")
		}
		tok := confirmToken(t, m)

		// Asking again at once: same answer, nothing sent (per-address limit).
		if err := e.subscribe(ctx, req); err != nil || len(e.out.Take()) != 0 {
			t.Fatalf("second subscribe: %v", err)
		}
		// After the interval a pending address gets another email.
		e.clock.Add(11 * time.Minute)
		if err := e.subscribe(ctx, req); err != nil || len(e.out.Take()) != 1 {
			t.Fatalf("subscribe after interval: %v", err)
		}

		res, err := e.svc.Confirm(ctx, tok)
		if err != nil || len(res.Lists) != 1 || res.Lists[0].Title != "Shanghai 70th anniversary series" {
			t.Fatalf("confirm: %+v %v", res, err)
		}
		s = get(t, st, "Reader@example.com")
		if s.Status != subscribers.StatusActive || activeLists(s) != "shanghai-70th" || !s.ConfirmedAt.Equal(e.clock.Now()) {
			t.Fatalf("after confirm: %+v", s)
		}
		// Confirming twice is harmless.
		if _, err := e.svc.Confirm(ctx, tok); err != nil {
			t.Fatal(err)
		}
		// An active address asking again gets nothing.
		e.clock.Add(time.Hour)
		if err := e.subscribe(ctx, req); err != nil || len(e.out.Take()) != 0 {
			t.Fatalf("active re-subscribe: %v", err)
		}
		// ...but asking for a further list gets a confirmation for it.
		req2 := req
		req2.Lists = []string{"shanghai-70th", "society"}
		if err := e.subscribe(ctx, req2); err != nil {
			t.Fatal(err)
		}
		msgs = e.out.Take()
		if len(msgs) != 1 || strings.Contains(msgs[0].Text, "Shanghai") || !strings.Contains(msgs[0].Text, "Society") {
			t.Fatalf("further list: %v", msgs)
		}
		if s := get(t, st, "Reader@example.com"); s.Status != subscribers.StatusActive || activeLists(s) != "shanghai-70th" {
			t.Fatalf("further list changed the subscriber: %+v", s)
		}
		if _, err := e.svc.Confirm(ctx, confirmToken(t, msgs[0])); err != nil {
			t.Fatal(err)
		}
		s = get(t, st, "Reader@example.com")
		if activeLists(s) != "shanghai-70th,society" {
			t.Fatalf("lists = %s", activeLists(s))
		}

		// Unsubscribe from one list, then from everything.
		u1, _ := e.svc.UnsubscribeURL(s, "society")
		t1 := mustQuery(t, u1)
		if r, err := e.svc.CheckUnsubscribe(ctx, t1); err != nil || r.All || r.List.Slug != "society" {
			t.Fatalf("check: %+v %v", r, err)
		}
		e.clock.Add(time.Hour)
		if r, err := e.svc.Unsubscribe(ctx, t1, false); err != nil || r.List.Title != "Society" {
			t.Fatalf("unsubscribe one: %+v %v", r, err)
		}
		s = get(t, st, "Reader@example.com")
		if s.Status != subscribers.StatusActive || activeLists(s) != "shanghai-70th" {
			t.Fatalf("after one-list unsubscribe: %+v", s)
		}
		if r, err := e.svc.Unsubscribe(ctx, t1, true); err != nil || !r.All {
			t.Fatalf("unsubscribe all: %+v %v", r, err)
		}
		s = get(t, st, "Reader@example.com")
		if s.Status != subscribers.StatusUnsubscribed || activeLists(s) != "" || !s.UnsubscribedAt.Equal(e.clock.Now()) {
			t.Fatalf("after unsubscribe all: %+v", s)
		}
		// Idempotent.
		if _, err := e.svc.Unsubscribe(ctx, t1, true); err != nil {
			t.Fatal(err)
		}
		// The old confirmation link cannot bring the address back.
		before := snapshot(t, st)
		if _, err := e.svc.Confirm(ctx, tok); !errors.Is(err, subscribers.ErrInvalidToken) {
			t.Errorf("old confirm after unsubscribe: %v", err)
		}
		if snapshot(t, st) != before {
			t.Error("refused confirm changed the store")
		}
		// Coming back goes through double opt-in again; until the link is
		// followed, the subscriber stays as it was.
		e.clock.Add(time.Hour)
		if err := e.subscribe(ctx, req); err != nil {
			t.Fatal(err)
		}
		s = get(t, st, "Reader@example.com")
		msgs = e.out.Take()
		if s.Status != subscribers.StatusUnsubscribed || len(msgs) != 1 {
			t.Fatalf("come back: %+v, %d sent", s, len(msgs))
		}
		if _, err := e.svc.Confirm(ctx, confirmToken(t, msgs[0])); err != nil {
			t.Fatal(err)
		}
		if s := get(t, st, "Reader@example.com"); s.Status != subscribers.StatusActive {
			t.Fatalf("re-confirmed: %+v", s)
		}
	})
}

func mustQuery(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Path != "/unsubscribe" {
		t.Fatalf("link %q", link)
	}
	return u.Query().Get("token")
}

func TestSubscribeRevealsNothing(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		ctx := context.Background()
		e := newEnv(t, st, func(c *subscribers.Config) { c.IPEvery = -1 })
		if _, err := e.svc.Add(ctx, "active@example.com", "", nil, true); err != nil {
			t.Fatal(err)
		}
		if err := e.subscribe(ctx, subscribers.Request{Email: "pending@example.com"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Add(ctx, "gone@example.com", "", nil, true); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Remove(ctx, "gone@EXAMPLE.com"); err != nil {
			t.Fatal(err)
		}
		e.out.Take()
		for _, addr := range []string{"new@example.com", "pending@example.com", "active@example.com", "gone@example.com", "Gone@Example.com"} {
			if err := e.subscribe(ctx, subscribers.Request{Email: addr, IP: "192.0.2.9"}); err != nil {
				t.Errorf("%s: %v", addr, err)
			}
		}
		sent := e.out.Take()
		if len(sent) != 1 || sent[0].To != "new@example.com" {
			t.Errorf("sent %d messages", len(sent))
		}
		if _, err := st.GetSubscriber(ctx, "gone@example.com"); !errors.Is(err, subscribers.ErrNotFound) {
			t.Errorf("suppressed address stored again: %v", err)
		}
		if _, err := e.svc.Add(ctx, "gone@example.com", "", nil, true); !errors.Is(err, subscribers.ErrSuppressed) {
			t.Errorf("Add suppressed: %v", err)
		}
		if err := e.svc.Remove(ctx, "nobody@example.com"); !errors.Is(err, subscribers.ErrNotFound) {
			t.Errorf("Remove unknown: %v", err)
		}
	})
}

func TestSubscribeBadInputChangesNothing(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		ctx := context.Background()
		e := newEnv(t, st, nil)
		bad := []struct {
			req  subscribers.Request
			want error
		}{
			{subscribers.Request{Email: "a@example.com\r\nBcc: b@example.com"}, subscribers.ErrInvalidEmail},
			{subscribers.Request{Email: "no-at-sign"}, subscribers.ErrInvalidEmail},
			{subscribers.Request{Email: "a@bad_domain.com"}, subscribers.ErrInvalidEmail},
			{subscribers.Request{Email: "a@example.com", Name: "A\r\nBcc: b@example.com"}, subscribers.ErrInvalidName},
			{subscribers.Request{Email: "a@example.com", Lists: []string{"nope"}}, subscribers.ErrUnknownList},
		}
		before := snapshot(t, st)
		for _, c := range bad {
			if err := e.subscribe(ctx, c.req); !errors.Is(err, c.want) {
				t.Errorf("%+v: err = %v, want %v", c.req, err, c.want)
			}
		}
		if snapshot(t, st) != before || len(e.out.Take()) != 0 {
			t.Error("bad input changed the store or sent mail")
		}
	})
}

func TestIPRateLimit(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		ctx := context.Background()
		e := newEnv(t, st, func(c *subscribers.Config) { c.IPBurst = 3; c.IPEvery = time.Minute })
		for i := range 3 {
			if err := e.subscribe(ctx, subscribers.Request{Email: fmt.Sprintf("r%d@example.com", i), IP: "2001:db8::1"}); err != nil {
				t.Fatal(err)
			}
		}
		// Same /64.
		if err := e.subscribe(ctx, subscribers.Request{Email: "x@example.com", IP: "2001:db8::2"}); !errors.Is(err, subscribers.ErrRateLimited) {
			t.Fatalf("4th: %v", err)
		}
		if err := e.subscribe(ctx, subscribers.Request{Email: "x@example.com", IP: "198.51.100.7"}); err != nil {
			t.Fatalf("other client: %v", err)
		}
		if _, err := st.GetSubscriber(ctx, "x@example.com"); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(time.Minute)
		if err := e.subscribe(ctx, subscribers.Request{Email: "y@example.com", IP: "2001:db8::1"}); err != nil {
			t.Fatalf("after refill: %v", err)
		}
	})
}

func TestTokensAgainstStore(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		ctx := context.Background()
		e := newEnv(t, st, nil)
		a, err := e.svc.Add(ctx, "a@example.com", "A", []string{"shanghai-70th", "society"}, true)
		if err != nil {
			t.Fatal(err)
		}
		b, err := e.svc.Add(ctx, "b@example.com", "B", nil, true)
		if err != nil {
			t.Fatal(err)
		}
		good, _ := e.svc.UnsubscribeURL(a, "society")
		goodTok := mustQuery(t, good)
		other, _ := subscribers.NewSigner([]byte("some-other-secret-0123456789"))
		forgedKey, _ := other.UnsubscribeToken(subscribers.UnsubscribeClaims{ID: a.ID, Created: a.CreatedAt, List: subscribers.AllLists})
		oldForged := other.LegacyUnsubscribeToken(a.ID, a.Email, subscribers.AllLists)
		oldWrongSub := e.svc.Signer().LegacyUnsubscribeToken(b.ID, a.Email, subscribers.AllLists)
		// b's id with a's creation time: what a token of a removed
		// subscriber looks like once its id is reused.
		reusedID, _ := e.svc.Signer().UnsubscribeToken(subscribers.UnsubscribeClaims{ID: b.ID, Created: a.CreatedAt.Add(-time.Hour), List: subscribers.AllLists})
		expiredConfirm, _ := e.svc.Signer().ConfirmToken(subscribers.ConfirmClaims{ID: a.ID, Created: a.CreatedAt, Lists: []string{"society"}, IssuedAt: e.clock.Now().Add(-100 * time.Hour), Expires: e.clock.Now().Add(-time.Hour)})
		unknownConfirm, _ := e.svc.Signer().ConfirmToken(subscribers.ConfirmClaims{ID: b.ID + 1000, Lists: []string{"society"}, IssuedAt: e.clock.Now(), Expires: e.clock.Now().Add(time.Hour)})
		reusedConfirm, _ := e.svc.Signer().ConfirmToken(subscribers.ConfirmClaims{ID: b.ID, Created: b.CreatedAt.Add(-time.Hour), Lists: []string{"society"}, IssuedAt: e.clock.Now(), Expires: e.clock.Now().Add(time.Hour)})
		before := snapshot(t, st)
		for name, tok := range map[string]string{
			"empty": "", "garbage": "abc", "altered": goodTok[:10] + "x" + goodTok[11:],
			"other key": forgedKey, "old format, other key": oldForged, "old format, wrong subscriber": oldWrongSub,
			"confirm token": unknownConfirm,
		} {
			if _, err := e.svc.Unsubscribe(ctx, tok, true); !errors.Is(err, subscribers.ErrInvalidToken) {
				t.Errorf("unsubscribe %s: %v", name, err)
			}
		}
		if _, err := e.svc.Unsubscribe(ctx, reusedID, true); err != nil {
			t.Errorf("unsubscribe with a reused id: %v, want nothing done", err)
		}
		for name, tok := range map[string]string{"expired": expiredConfirm, "unknown subscriber": unknownConfirm, "reused id": reusedConfirm, "unsubscribe token": goodTok} {
			if _, err := e.svc.Confirm(ctx, tok); !errors.Is(err, subscribers.ErrInvalidToken) {
				t.Errorf("confirm %s: %v", name, err)
			}
		}
		if snapshot(t, st) != before {
			t.Error("refused tokens changed the store")
		}
		// Links carry no address; the old format (digests already sent)
		// still unsubscribes.
		if raw, _ := base64.RawURLEncoding.DecodeString(goodTok); len(raw) == 0 || bytes.Contains(raw, []byte("example")) || len(goodTok) > 64 {
			t.Errorf("unsubscribe token %q is not short and opaque", goodTok)
		}
		old := e.svc.Signer().LegacyUnsubscribeToken(a.ID, a.Email, "society")
		if r, err := e.svc.Unsubscribe(ctx, old, false); err != nil || r.List.Slug != "society" || r.Email != a.Email {
			t.Errorf("old-format link: %+v %v", r, err)
		}
		if s := get(t, st, "a@example.com"); activeLists(s) != "shanghai-70th" {
			t.Errorf("after the old-format link: %s", activeLists(s))
		}
		// A removed subscriber's link succeeds and does nothing.
		if err := e.svc.Remove(ctx, "a@example.com"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Unsubscribe(ctx, goodTok, false); err != nil {
			t.Errorf("unsubscribe removed: %v", err)
		}
		if _, err := st.GetSubscriber(ctx, "a@example.com"); !errors.Is(err, subscribers.ErrNotFound) {
			t.Errorf("removed subscriber came back: %v", err)
		}
	})
}

// A confirmation that cannot be sent stays in the outbox and is retried
// with a growing delay; the log says why at warning level; the visitor's
// answer is the same.
func TestMailFailureIsRetriedFromTheOutbox(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		ctx := context.Background()
		var logs bytes.Buffer
		e := newEnv(t, st, func(c *subscribers.Config) {
			c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
		})
		e.out.Fail(&mail.Error{Op: "connect", Temporary: true, Err: errors.New("smtp: server does not offer STARTTLS (smtp.url asks for tls=mandatory)")})
		if err := e.subscribe(ctx, subscribers.Request{Email: "a@example.com"}); err != nil {
			t.Fatal(err)
		}
		e.svc.Wait()
		if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "does not offer STARTTLS") || !strings.Contains(logs.String(), "will retry") {
			t.Errorf("the log does not say why at WARN:\n%s", logs.String())
		}
		pending := storagetest.Confirmations(t, st, subscribers.ConfirmationPending)
		if len(pending) != 1 || pending[0].Attempts != 1 || !pending[0].NextAttemptAt.Equal(e.clock.Now().Add(time.Minute)) ||
			!strings.Contains(pending[0].LastError, "STARTTLS") {
			t.Fatalf("outbox after the failure: %+v", pending)
		}
		// The visitor asking again within the per-address interval adds
		// nothing: the outbox already has their email.
		if err := e.subscribe(ctx, subscribers.Request{Email: "a@example.com"}); err != nil {
			t.Fatal(err)
		}
		e.svc.Wait()
		if all := storagetest.Confirmations(t, st, ""); len(all) != 1 {
			t.Errorf("%d confirmations queued for one address", len(all))
		}
		// Not due yet: nothing is sent. The second failure waits longer.
		if n, err := e.svc.SendDue(ctx); n != 0 || err != nil {
			t.Fatalf("before the retry time: %d %v", n, err)
		}
		e.clock.Add(time.Minute)
		if n, _ := e.svc.SendDue(ctx); n != 0 {
			t.Fatalf("sent %d while the server still fails", n)
		}
		if p := storagetest.Confirmations(t, st, subscribers.ConfirmationPending); len(p) != 1 || p[0].Attempts != 2 || !p[0].NextAttemptAt.Equal(e.clock.Now().Add(5*time.Minute)) {
			t.Fatalf("after the second failure: %+v", p)
		}
		// The server is fixed: the retry sends the link, which confirms.
		e.out.Fail(nil)
		e.clock.Add(5 * time.Minute)
		if n, err := e.svc.SendDue(ctx); n != 1 || err != nil {
			t.Fatalf("retry: %d %v", n, err)
		}
		msgs := e.out.Take()
		if len(msgs) != 1 {
			t.Fatalf("%d mails after the retry", len(msgs))
		}
		if _, err := e.svc.Confirm(ctx, confirmToken(t, msgs[0])); err != nil {
			t.Fatalf("the retried link: %v", err)
		}
		if sent := storagetest.Confirmations(t, st, subscribers.ConfirmationSent); len(sent) != 1 {
			t.Errorf("sent rows: %+v", sent)
		}

		// A refusal retrying cannot fix is given up at once.
		e.out.Fail(&mail.Error{Op: "rcpt", Code: 550, Err: errors.New("550 no such user b@example.com")})
		if err := e.subscribe(ctx, subscribers.Request{Email: "b@example.com"}); err != nil {
			t.Fatal(err)
		}
		e.svc.Wait()
		failed := storagetest.Confirmations(t, st, subscribers.ConfirmationFailed)
		if len(failed) != 1 || !strings.Contains(failed[0].LastError, "550") {
			t.Fatalf("permanent failure: %+v", failed)
		}
		if strings.Contains(logs.String(), "b@example.com") {
			t.Errorf("a recipient's address was logged at WARN:\n%s", logs.String())
		}
	})
}

func TestImportExport(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, st storage.Storage) {
		ctx := context.Background()
		e := newEnv(t, st, nil)
		if _, err := e.svc.Add(ctx, "existing@example.com", "Existing", nil, true); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Add(ctx, "removed@example.com", "", nil, true); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Remove(ctx, "removed@example.com"); err != nil {
			t.Fatal(err)
		}
		e.out.Take()
		in := "Our readers\n" +
			"\n" +
			"email,name,lists,status\n" +
			"one@Example.com,One,shanghai-70th;society,\n" + // line 4
			"two@example.com,\"=cmd|' /C calc'!A0\",,pending\n" + // 5
			"bad-address,Bad,,\n" + // 6
			"existing@example.com,Changed,,\n" + // 7
			"removed@example.com,,,\n" + // 8
			"three@example.com,Three,nope,\n" + // 9
			"one@example.com,Dup,,\n" + // 10
			"four@example.com,Four,,unsubscribed\n" + // 11
			"five@example.com,Five,,zombie\n" // 12
		var progress []int
		rep, err := e.svc.ImportCSV(ctx, strings.NewReader(in), func(n int) { progress = append(progress, n) })
		if err != nil {
			t.Fatal(err)
		}
		if rep.Rows != 9 || rep.Inserted != 3 || rep.Existing != 2 || rep.Suppressed != 1 || len(rep.Bad) != 3 {
			t.Fatalf("report %+v", rep)
		}
		for i, line := range []int{6, 9, 12} {
			if rep.Bad[i].Line != line {
				t.Errorf("bad[%d] = %v, want line %d", i, rep.Bad[i], line)
			}
		}
		if len(progress) == 0 || progress[len(progress)-1] != 9 {
			t.Errorf("progress %v", progress)
		}
		if len(e.out.Take()) != 0 {
			t.Error("import sent mail")
		}
		one := get(t, st, "one@example.com")
		if one.Status != subscribers.StatusActive || activeLists(one) != "shanghai-70th,society" || one.Consent.Source != "import" {
			t.Errorf("one = %+v", one)
		}
		if ex := get(t, st, "existing@example.com"); ex.Name != "Existing" {
			t.Errorf("import changed an existing subscriber: %+v", ex)
		}
		if s := get(t, st, "two@example.com"); s.Status != subscribers.StatusPending || activeLists(s) != "" {
			t.Errorf("two = %+v", s)
		}
		var buf bytes.Buffer
		if err := e.svc.ExportCSV(ctx, &buf); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if !strings.HasPrefix(out, "email,name,status,lists,") || !strings.Contains(out, `two@example.com,'=cmd|' /C calc'!A0,pending,shanghai-70th`) {
			t.Errorf("export:\n%s", out)
		}
		// Round trip into a fresh store gives the same people.
		e2 := newEnv(t, storagetest.SQLite(t), nil)
		rep2, err := e2.svc.ImportCSV(ctx, strings.NewReader(out), nil)
		if err != nil || rep2.Inserted != 4 || len(rep2.Bad) != 0 {
			t.Fatalf("reimport %+v %v", rep2, err)
		}
		if s := get(t, e2.store, "two@example.com"); s.Name != "=cmd|' /C calc'!A0" || s.Status != subscribers.StatusPending {
			t.Errorf("round trip two = %+v", s)
		}
		if _, err := e.svc.ImportCSV(ctx, strings.NewReader("no,header\n1,2\n"), nil); err == nil {
			t.Error("file without header accepted")
		}
		act, err := e.svc.List(ctx, subscribers.Filter{Status: subscribers.StatusActive, List: "society"})
		if err != nil || len(act) != 1 || act[0].Email != "one@example.com" {
			t.Errorf("List = %v, %v", act, err)
		}
	})
}

// BenchmarkImportCSV100k imports 100,000 rows into a fresh store per
// iteration; the target is under 10 s on SQLite.
func BenchmarkImportCSV100k(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("email,name,lists,status\n")
	for i := range 100_000 {
		fmt.Fprintf(&buf, "reader%06d@example.com,Reader %d,shanghai-70th,active\n", i, i)
	}
	data := buf.Bytes()
	storagetest.ForEachB(b, func(b *testing.B, st storage.Storage) {
		for b.Loop() {
			b.StopTimer()
			e := newEnv(b, storagetest.Backends(b)[backendName(b)](b), nil)
			b.StartTimer()
			rep, err := e.svc.ImportCSV(context.Background(), bytes.NewReader(data), nil)
			if err != nil || rep.Inserted != 100_000 {
				b.Fatalf("%+v %v", rep, err)
			}
		}
	})
}

func backendName(b *testing.B) string {
	n := b.Name()
	return n[strings.LastIndexByte(n, '/')+1:]
}
