package config

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// config check's summary: where the configuration came from, its
// warnings apart, then one line per setting an operator checks first,
// every section and series included.
func TestWriteCheck(t *testing.T) {
	c, err := Load("", []string{"SYNDICATED_BASE_URL=http://news.example.org", "SYNDICATED_SMTP_URL=smtp://mail.example.org:587"})
	if err != nil {
		t.Fatal(err)
	}
	var out, warn bytes.Buffer
	c.WriteCheck(&out, &warn, Placement{Database: "SQLite data/syndicated.db", Mail: "smtp://mail.example.org:587"})
	want := "config OK (built-in defaults, with SYNDICATED_* overrides)\n" +
		"base_url      http://news.example.org\n" +
		"listen        127.0.0.1:8080\n" +
		"database      SQLite data/syndicated.db\n" +
		"smtp          smtp://mail.example.org:587\n" +
		"feeds         every \"*/5 * * * *\", 50 items\n" +
		"section       society (Society)\n" +
		"series        shanghai-70th (Shanghai 70th anniversary series), digest \"CRON_TZ=Asia/Shanghai 0 9 * * MON\"\n"
	if out.String() != want {
		t.Errorf("summary:\n%s\nwant:\n%s", out.String(), want)
	}
	if w := warn.String(); !strings.HasPrefix(w, "warning: base_url: http, so List-Unsubscribe is not https") || strings.Count(w, "\n") != 1 {
		t.Errorf("warnings: %q", w)
	}
	out.Reset()
	c.WriteCheck(&out, &warn, Placement{File: "/etc/syndicated.toml"})
	if !strings.HasPrefix(out.String(), "config OK (/etc/syndicated.toml, with SYNDICATED_* overrides)\n") {
		t.Errorf("with a file: %q", out.String())
	}
}

// Real mail is refused while base_url is loopback, naming the key to set;
// the spool (no smtp.url) is not.
func TestCheckRealMail(t *testing.T) {
	for _, c := range []struct {
		env    []string
		refuse bool
	}{
		{nil, false},
		{[]string{"SYNDICATED_SMTP_URL=smtp://mail.example.org:587"}, true},
		{[]string{"SYNDICATED_SMTP_URL=smtp://mail.example.org:587", "SYNDICATED_BASE_URL=https://news.example.org"}, false},
	} {
		cfg, err := Load("", c.env)
		if err != nil {
			t.Fatal(err)
		}
		err = cfg.CheckRealMail()
		if (err != nil) != c.refuse || err != nil && !strings.Contains(err.Error(), "set base_url (SYNDICATED_BASE_URL)") {
			t.Errorf("%v: %v, want refused %v", c.env, err, c.refuse)
		}
	}
}

// The logger writes text or JSON at the configured level.
func TestLogger(t *testing.T) {
	var b bytes.Buffer
	Log{Format: "json", Level: "warn"}.Logger(&b).Info("left out")
	Log{Format: "json", Level: "warn"}.Logger(&b).Warn("kept", "k", "v")
	if got := b.String(); strings.Contains(got, "left out") || !strings.Contains(got, `"msg":"kept","k":"v"`) {
		t.Errorf("json at warn: %q", got)
	}
	b.Reset()
	Log{Format: "text", Level: "debug"}.Logger(&b).Debug("shown")
	if got := b.String(); !strings.Contains(got, "level=DEBUG msg=shown") {
		t.Errorf("text at debug: %q", got)
	}
}

// The zone and the section slugs, as the packages the config wires get
// them.
func TestDerived(t *testing.T) {
	c, err := Load("", []string{"SYNDICATED_NEWSROOM_ZONE=Europe/Paris"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Zone().String() != "Europe/Paris" || strings.Join(c.SectionSlugs(), ",") != "society" {
		t.Errorf("zone %v, sections %v", c.Zone(), c.SectionSlugs())
	}
	if (&Config{}).Zone() != time.UTC {
		t.Error("a config never validated is not in UTC")
	}
}
