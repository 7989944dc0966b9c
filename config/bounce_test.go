package config

import (
	"slices"
	"strings"
	"testing"
)

func TestBounceKeys(t *testing.T) {
	cases := []struct {
		env  []string
		want string // "" when the config is good
	}{
		{[]string{"SYNDICATED_BOUNCE_ADDRESS=bounces@bounce.example.org", "SYNDICATED_BOUNCE_LISTEN=127.0.0.1:2525",
			"SYNDICATED_BOUNCE_MAILBOX=imaps://bounces:pw@imap.example.org/INBOX",
			"SYNDICATED_BOUNCE_SES_TOPIC_ARNS=arn:aws:sns:us-east-1:123456789012:ses-bounces,arn:aws:sns:eu-west-1:123456789012:b"}, ""},
		{[]string{"SYNDICATED_BOUNCE_ADDRESS=Bounces <bounces@bounce.example.org>"}, "bounce.address"},
		{[]string{"SYNDICATED_BOUNCE_ADDRESS=bounces+x@bounce.example.org"}, "bounce.address: \"bounces+x@bounce.example.org\": the local part must not contain '+'"},
		{[]string{"SYNDICATED_BOUNCE_ADDRESS=averyveryverylonglocalpart@bounce.example.org"}, "longer than 20"},
		{[]string{"SYNDICATED_BOUNCE_LISTEN=127.0.0.1:2525"}, "bounce.listen: needs bounce.address"},
		{[]string{"SYNDICATED_BOUNCE_ADDRESS=b@x.example", "SYNDICATED_BOUNCE_LISTEN=2525"}, "bounce.listen: \"2525\" is not HOST:PORT"},
		{[]string{"SYNDICATED_BOUNCE_ADDRESS=b@x.example", "SYNDICATED_BOUNCE_MAILBOX=imap://u:p@imap.example.org/INBOX"}, "bounce.mailbox: must be imaps://"},
		{[]string{"SYNDICATED_BOUNCE_ADDRESS=b@x.example", "SYNDICATED_BOUNCE_MAILBOX=imaps://imap.example.org/INBOX"}, "bounce.mailbox: needs a user and a password"},
		{[]string{"SYNDICATED_BOUNCE_TLS_CERT_FILE=/nonexistent/cert.pem"}, "bounce.tls_cert_file"},
		{[]string{"SYNDICATED_BOUNCE_SOFT_ISSUES=4"}, "bounce.soft_issues"},
		{[]string{"SYNDICATED_BOUNCE_SOFT_LIMIT=0"}, "bounce.soft_limit"},
		{[]string{"SYNDICATED_BOUNCE_COMPLAINT_WARN=1.5"}, "bounce.complaint_warn"},
		{[]string{"SYNDICATED_BOUNCE_SES_TOPIC_ARNS=ses-bounces"}, "bounce.ses.topic_arns.0"},
		{[]string{"SYNDICATED_BOUNCE_POSTMARK_USERNAME=pm"}, "bounce.postmark.password"},
		{[]string{"SYNDICATED_BOUNCE_MAILGUN_SIGNING_KEY=short"}, "bounce.mailgun.signing_key"},
	}
	for _, c := range cases {
		cfg, err := Load("", c.env)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%v: %v", c.env, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%v: err %v, want it to mention %q", c.env, err, c.want)
		case c.want == "" && (!cfg.Bounce.Inbound() || !cfg.Bounce.Webhooks() || len(cfg.Bounce.SES.TopicARNs) != 2):
			t.Errorf("%v: %+v", c.env, cfg.Bounce)
		}
	}
}

func TestBounceWarnings(t *testing.T) {
	cfg, err := Load("", []string{"SYNDICATED_BOUNCE_ADDRESS=bounces@bounce.example.org"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(cfg.Warnings(), func(w string) bool { return strings.HasPrefix(w, "bounce.address: ") }) {
		t.Errorf("no warning for an address nothing reads: %q", cfg.Warnings())
	}
	cfg, _ = Load("", []string{"SYNDICATED_BOUNCE_ADDRESS=bounces@bounce.example.org", "SYNDICATED_BOUNCE_LISTEN=127.0.0.1:2525",
		"SYNDICATED_SMTP_UNSUBSCRIBE_MAILBOX=unsubscribe@news.example.com"})
	if !slices.ContainsFunc(cfg.Warnings(), func(w string) bool { return strings.HasPrefix(w, "smtp.unsubscribe_mailbox: not used") }) {
		t.Errorf("no warning for a mailbox superseded: %q", cfg.Warnings())
	}
}
