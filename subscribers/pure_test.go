package subscribers

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

func TestNormalize(t *testing.T) {
	ok := []struct{ in, want string }{
		{"  Alice@Example.COM ", "Alice@example.com"},
		{"first.last+tag@sub.Example.org", "first.last+tag@sub.example.org"},
		{"user@Bücher.example", "user@xn--bcher-kva.example"},
		{"用户@例子.广告", "用户@xn--fsqu00a.xn--4rr70v"},
		{`"john doe"@example.com`, `"john doe"@example.com`},
		{"o'brien@example.ie", "o'brien@example.ie"},
		{"MiXeD@EXAMPLE.com", "MiXeD@example.com"},
	}
	for _, c := range ok {
		got, err := Normalize(c.in)
		if err != nil || got != c.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	bad := []struct{ in, why string }{
		{"", "empty"},
		{"   ", "empty"},
		{"alice.example.com", "missing @"},
		{"alice@", "nothing after"},
		{"@example.com", "nothing before"},
		{"alice@example.com\r\nBcc: victim@example.org", "line break"},
		{"alice\n@example.com", "line break"},
		{"alice@exa\rmple.com", "line break"},
		{"al\x00ice@example.com", "control"},
		{"alice@localhost", "no dot"},
		{"alice@exa_mple.com", "domain"},
		{"alice@-example.com", "invalid label"},
		{"alice@example..com", "empty"},
		{"alice@[127.0.0.1]", "literals"},
		{"alice@1.2.3.4", "number"},
		{"al ice@example.com", "not allowed"},
		{"alice..b@example.com", "dot"},
		{".alice@example.com", "dot"},
		{"a<b>@example.com", "not allowed"},
		{"alice@exam ple.com", "domain"},
		{strings.Repeat("a", 65) + "@example.com", "64"},
		{"alice@" + strings.Repeat("a", 64) + ".com", "label"},
		{"\xff@example.com", "UTF-8"},
	}
	for _, c := range bad {
		got, err := Normalize(c.in)
		if err == nil {
			t.Errorf("Normalize(%q) = %q, want error", c.in, got)
			continue
		}
		if !errors.Is(err, ErrInvalidEmail) || !strings.Contains(err.Error(), c.why) {
			t.Errorf("Normalize(%q) error %q; want ErrInvalidEmail mentioning %q", c.in, err, c.why)
		}
	}
}

func TestValidateName(t *testing.T) {
	for in, want := range map[string]string{"": "", "  Zhang Wei ": "Zhang Wei", "<b>Bob</b>": "<b>Bob</b>", "李雷": "李雷"} {
		if got, err := ValidateName(in); err != nil || got != want {
			t.Errorf("ValidateName(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"Bob\r\nBcc: x@example.com", "Bob\nSmith", "Bob\rSmith", "Bob\x00", "\xff", strings.Repeat("x", MaxNameLen+1)} {
		if _, err := ValidateName(in); !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidateName(%q) err = %v, want ErrInvalidName", in, err)
		}
	}
}

func testSigner(t testing.TB, key string) *Signer {
	t.Helper()
	s, err := NewSigner([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConfirmToken(t *testing.T) {
	s := testSigner(t, "0123456789abcdef-secret")
	other := testSigner(t, "another-secret-0123456789")
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	created := now.Add(-time.Hour)
	tok, err := s.ConfirmToken(ConfirmClaims{ID: 42, Created: created, Lists: []string{"shanghai-70th"}, IssuedAt: now, Expires: now.Add(72 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	// Opaque and short: no address, nothing readable but the list slug.
	if len(tok) > 80 || strings.ContainsAny(tok, ".=+/") {
		t.Errorf("token %q (%d chars)", tok, len(tok))
	}
	c, err := s.VerifyConfirm(tok, now.Add(71*time.Hour))
	if err != nil || c.ID != 42 || !c.Created.Equal(created) || c.Email != "" || len(c.Lists) != 1 || !c.IssuedAt.Equal(now) || !c.Expires.Equal(now.Add(72*time.Hour)) {
		t.Fatalf("VerifyConfirm = %+v, %v", c, err)
	}
	if _, err := s.VerifyConfirm(tok, now.Add(72*time.Hour)); !errors.Is(err, ErrTokenExpired) || !errors.Is(err, ErrInvalidToken) {
		t.Errorf("expired: %v", err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	unsub, _ := s.UnsubscribeToken(UnsubscribeClaims{ID: 42, List: AllLists})
	longer := append(append([]byte{}, raw[:len(raw)-macLen]...), 0)
	bad := map[string]string{
		"empty":            "",
		"flipped":          flip(tok),
		"flipped tag":      tok[:len(tok)-1] + string("AB"[boolInt(tok[len(tok)-1] == 'A')]),
		"other key":        mustConfirm(t, other, now),
		"truncated":        tok[:len(tok)-3],
		"extra byte":       s.seal(purposeConfirm, longer),
		"unsubscribe kind": unsub,
		"garbage":          "%%%###",
		"too short":        "AAAA",
	}
	for name, b := range bad {
		if _, err := s.VerifyConfirm(b, now); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	// The old format (base64 JSON with the address) still verifies, so
	// links mailed before the change keep working; it is never issued.
	old, _ := s.sign(purposeConfirm, legacyConfirm{Email: "a@example.com", Lists: []string{"l"}, IssuedAt: now, Expires: now.Add(time.Hour)})
	if c, err := s.VerifyConfirm(old, now); err != nil || c.Email != "a@example.com" || c.ID != 0 {
		t.Errorf("old confirm token: %+v %v", c, err)
	}
	payload, sig, _ := strings.Cut(old, ".")
	forged, _ := s.sign(purposeConfirm, legacyConfirm{Email: "b@example.com", Lists: []string{"x"}, Expires: now.Add(time.Hour)})
	fp, _, _ := strings.Cut(forged, ".")
	for name, b := range map[string]string{"old swapped payload": fp + "." + sig, "old flipped sig": payload + "." + flip(sig), "old extra part": old + ".x"} {
		if _, err := s.VerifyConfirm(b, now); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func mustConfirm(t *testing.T, s *Signer, now time.Time) string {
	tok, err := s.ConfirmToken(ConfirmClaims{ID: 1, Lists: []string{"l"}, IssuedAt: now, Expires: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

func TestUnsubscribeAndFormTokens(t *testing.T) {
	s := testSigner(t, "0123456789abcdef-secret")
	tok, err := s.UnsubscribeToken(UnsubscribeClaims{ID: 7, List: "shanghai-70th"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.VerifyUnsubscribe(tok)
	if err != nil || c.ID != 7 || c.List != "shanghai-70th" || c.Email != "" {
		t.Fatalf("VerifyUnsubscribe = %+v, %v", c, err)
	}
	old, _ := s.sign(purposeUnsub, legacyUnsub{ID: 7, Email: "a@example.com", List: "shanghai-70th"})
	if c, err := s.VerifyUnsubscribe(old); err != nil || c.ID != 7 || c.Email != "a@example.com" {
		t.Errorf("old unsubscribe token: %+v %v", c, err)
	}
	if _, err := s.VerifyUnsubscribe(flip(tok)); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("altered: %v", err)
	}
	if _, err := s.UnsubscribeToken(UnsubscribeClaims{List: "x"}); err == nil {
		t.Error("token without id accepted")
	}
	now := time.Now()
	f := s.FormToken(now.Add(time.Hour))
	if err := s.VerifyFormToken(f, now); err != nil {
		t.Error(err)
	}
	if err := s.VerifyFormToken(f, now.Add(2*time.Hour)); !errors.Is(err, ErrTokenExpired) {
		t.Errorf("expired form token: %v", err)
	}
	if err := s.VerifyFormToken(tok, now); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("unsubscribe token as form token: %v", err)
	}
	if k := s.InitialSuppressionKey(); SuppressionHash(k, "A@example.com") != SuppressionHash(k, "a@example.com") {
		t.Error("suppression hash depends on case")
	}
	if _, err := NewSigner([]byte("short")); err == nil {
		t.Error("short key accepted")
	}
}

func TestCSVReader(t *testing.T) {
	in := "Subscribers export\n\n" +
		"Name;E-Mail;Status;Lists;Extra\n" +
		"Alice;Alice@Example.COM;active;shanghai-70th|society;x\n" +
		"Bob;not-an-address;active;;\n" +
		"\n" +
		";carol@example.org;;;\n" +
		"\"Dan\r\nEvil\";dan@example.org;;;\n" +
		"Eve;eve@example.org;weird;;\n" +
		"'=HYPERLINK(1);frank@example.org;subscribed;;\n"
	r := NewCSVReader(strings.NewReader(in))
	var rows []CSVRow
	var bad []*RowError
	for {
		row, err := r.Next()
		if err == io.EOF {
			break
		}
		var re *RowError
		if errors.As(err, &re) {
			bad = append(bad, re)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
	if len(rows) != 3 {
		t.Fatalf("rows = %+v", rows)
	}
	if r0 := rows[0]; r0.Email != "Alice@example.com" || r0.Name != "Alice" || r0.Status != StatusActive || strings.Join(r0.Lists, ",") != "shanghai-70th,society" || r0.Line != 4 {
		t.Errorf("row 0 = %+v", r0)
	}
	if rows[1].Email != "carol@example.org" || rows[1].Status != "" || rows[1].Line != 7 {
		t.Errorf("row 1 = %+v", rows[1])
	}
	if rows[2].Name != "=HYPERLINK(1)" || rows[2].Status != StatusActive {
		t.Errorf("row 2 = %+v", rows[2])
	}
	wantLines := []int{5, 8, 10}
	if len(bad) != len(wantLines) {
		t.Fatalf("bad = %v", bad)
	}
	for i, b := range bad {
		if b.Line != wantLines[i] {
			t.Errorf("bad[%d] = %v, want line %d", i, b, wantLines[i])
		}
	}
	if _, err := NewCSVReader(strings.NewReader("a,b\n1,2\n")).Next(); err == nil || !strings.Contains(err.Error(), "header") {
		t.Errorf("no header: %v", err)
	}
}

// A quote opened and never closed swallows, to the CSV parser, every line
// after it: the row is reported with its line and reading goes on at the
// next one, so no later row is lost.
func TestCSVUnterminatedQuote(t *testing.T) {
	in := "email,name\n" +
		"ann@example.org,Ann\n" +
		"bob@example.org,\"Bob\n" +
		"cat@example.org,Cat\n" +
		"dan@example.org,\"Dan\"\n" +
		"eve@example.org,\"Eve\n" +
		"fay@example.org,Fay\n"
	r := NewCSVReader(strings.NewReader(in))
	var got []string
	var bad []*RowError
	for {
		row, err := r.Next()
		if err == io.EOF {
			break
		}
		var re *RowError
		if errors.As(err, &re) {
			bad = append(bad, re)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d %s %s", row.Line, row.Email, row.Name))
	}
	want := []string{"2 ann@example.org Ann", "4 cat@example.org Cat", "5 dan@example.org Dan", "7 fay@example.org Fay"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("rows:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(bad) != 2 || bad[0].Line != 3 || bad[1].Line != 6 || !strings.Contains(bad[0].Error(), "line 3: a quoted cell opened on this line is not closed") {
		t.Errorf("bad rows: %v", bad)
	}
}
