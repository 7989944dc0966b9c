package digest_test

import (
	"strings"
	"testing"

	"github.com/syndicated/syndicated/bounce"
	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// With Returns, each copy has its own envelope sender, and its own mailto:
// unsubscribe address when mail to it is read; without the latter the
// configured unsubscribe mailbox (if any) stays.
func TestComposeReturnAddresses(t *testing.T) {
	for _, inbound := range []bool{true, false} {
		f := newFixture(t, storagetest.SQLite(t), "https://news.example.com")
		f.seedArticles(t)
		a := f.subscribe(t, "reader@example.com")
		b := f.subscribe(t, "other@example.com")
		v, err := bounce.NewVERP("bounces@bounce.example.org", []byte("digest-test-secret-0123456789"), inbound)
		if err != nil {
			t.Fatal(err)
		}
		cfg := f.cfg
		cfg.Returns = v
		cfg.UnsubscribeMailbox = "unsubscribe@example.com"
		dg, err := digest.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		iss := f.createIssue(t)
		ma, err := dg.Compose(t.Context(), iss, a)
		if err != nil {
			t.Fatal(err)
		}
		mb, _ := dg.Compose(t.Context(), iss, b)
		if ma.EnvelopeFrom != v.ReturnPath(iss.ID, a.ID) || ma.EnvelopeFrom == mb.EnvelopeFrom {
			t.Errorf("envelope senders %q, %q", ma.EnvelopeFrom, mb.EnvelopeFrom)
		}
		if tgt, err := v.Parse(ma.EnvelopeFrom); err != nil || tgt.SubscriberID != a.ID || tgt.Tag != bounce.IssueTag(iss.ID) {
			t.Errorf("the envelope sender names %+v, %v", tgt, err)
		}
		lu := ma.Headers["List-Unsubscribe"]
		wantMailto := "<mailto:unsubscribe@example.com?subject=unsubscribe>"
		if inbound {
			wantMailto = "<mailto:" + v.UnsubscribeAddress(iss.ID, a.ID) + "?subject=unsubscribe>"
		}
		if !strings.HasSuffix(lu, ", "+wantMailto) || !strings.HasPrefix(lu, "<https://news.example.com/unsubscribe?token=") {
			t.Errorf("inbound %v: List-Unsubscribe %q, want it to end with %s", inbound, lu, wantMailto)
		}
	}
}
