package config

import (
	"strings"
	"testing"
)

// brand.link follows base_url unless set; loopback and http base_url are
// warned about only when they matter.
func TestBrandLinkAndMailWarnings(t *testing.T) {
	cfg, err := Load("", []string{"SYNDICATED_BASE_URL=https://news.example.com/"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Brand.Link != "https://news.example.com/" || len(cfg.Warnings()) != 0 || cfg.IsLoopback() {
		t.Errorf("https base_url: link %q, warnings %q", cfg.Brand.Link, cfg.Warnings())
	}
	cfg, _ = Load("", []string{"SYNDICATED_BRAND_LINK=https://www.example.com/"})
	if cfg.Brand.Link != "https://www.example.com/" {
		t.Errorf("brand.link set: %q", cfg.Brand.Link)
	}
	for _, c := range []struct {
		env      []string
		loopback bool
		warn     []string
	}{
		{nil, true, []string{"List-Unsubscribe is not https"}},
		{[]string{"SYNDICATED_SMTP_URL=smtp://mail.example.com:587"}, true, []string{"is loopback while smtp.url is set", "List-Unsubscribe is not https"}},
		{[]string{"SYNDICATED_SMTP_URL=smtp://mail.example.com:587", "SYNDICATED_BASE_URL=http://localhost:8080"}, true, []string{"is loopback", "not https"}},
		{[]string{"SYNDICATED_SMTP_URL=smtp://mail.example.com:587", "SYNDICATED_BASE_URL=http://[::1]:8080"}, true, []string{"is loopback", "not https"}},
		{[]string{"SYNDICATED_SMTP_URL=smtp://mail.example.com:587", "SYNDICATED_BASE_URL=http://news.example.com"}, false, []string{"not https"}},
	} {
		cfg, err := Load("", c.env)
		if err != nil {
			t.Fatal(err)
		}
		w := strings.Join(cfg.Warnings(), "\n")
		if cfg.IsLoopback() != c.loopback || len(cfg.Warnings()) != len(c.warn) {
			t.Errorf("%v: loopback %v, warnings %q", c.env, cfg.IsLoopback(), w)
		}
		for _, want := range c.warn {
			if !strings.Contains(w, want) {
				t.Errorf("%v: warnings lack %q: %q", c.env, want, w)
			}
		}
	}
	_, err = Load("", []string{"SYNDICATED_SMTP_UNSUBSCRIBE_MAILBOX=Unsub <u@example.com>", "SYNDICATED_DIGEST_MAX_RETRY_AGE=soon"})
	for _, key := range []string{"smtp.unsubscribe_mailbox", "digest.max_retry_age"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("bad %s: %v", key, err)
		}
	}
}
