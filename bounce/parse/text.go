package parse

import (
	"regexp"
	"strings"

	"github.com/emersion/go-message"

	"github.com/syndicated/syndicated/bounce"
)

// Bounces in words only. Their text is read only when the message looks
// like a bounce (who sent it, its subject, Exim's X-Failed-Recipients):
// an ordinary message that happens to say "user unknown" reports nothing.

var (
	bounceSenderRE  = regexp.MustCompile(`(?i)^(mailer-daemon|postmaster|mail-daemon|mailerdaemon|bounce|bounces|mdaemon|microsoftexchange[0-9a-f]*)@`)
	bounceSubjectRE = regexp.MustCompile(`(?i)(undeliver|undelivered mail|mail delivery (failed|failure|subsystem)|delivery (status notification|failure|has failed|notification)|returned mail|failure notice|non[- ]?delivery|delivery report|could not be delivered|nicht zustellbar|unzustellbar|non remis|退信|无法投递)`)
	autoReplySubjRE = regexp.MustCompile(`(?i)^(out of (the )?office|automatic reply|auto(matic)?[- ]?(reply|response)|autoreply|auto:|away|vacation)`)
	copyMarkRE      = regexp.MustCompile(`(?im)^[ \t]*-{2,}[ \t]*(this is a copy of|below this line is a copy of|original message|the original message|headers of the original|message headers follow|undelivered message)`)
	delayRE         = regexp.MustCompile(`(?i)(\(delay\)|delayed|will (continue|keep) (to )?(try|retry)|has not (yet )?been delivered|not yet been delivered|still trying|temporar(y|ily) (failure|problem|error))`)
)

// phrases give a status to a bounce that quotes no code, the commonest
// wordings first. Each is a status the table of bounce.Classify reads.
var phrases = []struct {
	re     *regexp.Regexp
	status string
}{
	{regexp.MustCompile(`(?i)(user unknown|unknown user|no such (user|mailbox|recipient|address)|does ?n[o']t exist|address (couldn't|could not|can't|cannot) be found|recipient (address )?rejected|invalid (recipient|mailbox|address)|mailbox (unavailable|not found|does not exist)|recipient not found|unknown (recipient|address)|unrouteable address|recipnotfound)`), "5.1.1"},
	{regexp.MustCompile(`(?i)(account|mailbox|address) (is |has been )?(disabled|deactivated|suspended|inactive|closed)`), "5.2.1"},
	{regexp.MustCompile(`(?i)(mailbox (is )?full|over (the )?quota|quota exceeded|exceed(ed|s) (the |its )?(storage|quota)|insufficient (system )?storage|out of storage)`), "5.2.2"},
	{regexp.MustCompile(`(?i)(host or domain name not found|domain (name )?not found|name service error|no mx|all relevant mx records point to non-existent hosts)`), "5.4.4"},
	{regexp.MustCompile(`(?i)(spam|block ?list(ed)?|black ?list(ed)?|blocked|policy|reputation|not authori[sz]ed|access denied)`), "5.7.1"},
}

// looksLikeBounce: a message from a mailer daemon, with a bounce's
// subject, or with Exim's X-Failed-Recipients.
func looksLikeBounce(h message.Header) bool {
	if h.Get("X-Failed-Recipients") != "" {
		return true
	}
	for _, a := range addresses(h.Values("From")) {
		if bounceSenderRE.MatchString(a) {
			return true
		}
	}
	subj, _ := h.Text("Subject")
	return bounceSubjectRE.MatchString(subj)
}

// autoReply: a vacation or out-of-office answer (RFC 3834's
// Auto-Submitted: auto-replied, and the usual markers).
func autoReply(h message.Header) bool {
	if strings.HasPrefix(strings.ToLower(h.Get("Auto-Submitted")), "auto-replied") ||
		h.Get("X-Autoreply") != "" || h.Get("X-Autorespond") != "" ||
		strings.EqualFold(strings.TrimSpace(h.Get("Precedence")), "auto_reply") {
		return true
	}
	subj, _ := h.Text("Subject")
	return autoReplySubjRE.MatchString(strings.TrimSpace(subj))
}

// fromText reads a non-standard bounce: the reply code it quotes (the
// first "550 5.1.1", else an enhanced code, else a basic code), else the
// status its wording implies; a delay when it says the mail is still
// being tried.
func fromText(text string, h message.Header) (bounce.Report, bool) {
	if m := copyMarkRE.FindStringIndex(text); m != nil {
		text = text[:m[0]] // the returned copy follows: its words are the digest's, not the server's
	}
	subj, _ := h.Text("Subject")
	action := "failed"
	if delayRE.MatchString(subj) || (delayRE.MatchString(text) && !strings.Contains(strings.ToLower(text), "permanent")) {
		action = "delayed"
	}
	var r bounce.Report
	loc := []int(nil)
	if m := replyRE.FindStringSubmatchIndex(text); m != nil {
		r.Code = atoi(text[m[2]:m[3]])
		r.Status = text[m[4]:m[5]]
		loc = m[2:4]
	} else if m := enhancedInRE.FindStringSubmatchIndex(text); m != nil {
		r.Status = text[m[2]:m[3]]
		loc = m[2:4]
	} else if m := basicRE.FindStringSubmatchIndex(text); m != nil {
		r.Code = atoi(text[m[2]:m[3]])
		loc = m[2:4]
	}
	if loc != nil {
		r.Diagnostic = line(text, loc[0])
		if r.Status == "" {
			// A basic code alone: its wording may say more.
			if st := phraseStatus(r.Diagnostic); st != "" && st[0] == byte('0'+r.Code/100) {
				r.Status = st
			}
		}
	} else {
		for _, p := range phrases {
			if m := p.re.FindStringIndex(text); m != nil {
				r.Status, r.Diagnostic = p.status, line(text, m[0])
				break
			}
		}
		if r.Status == "" && action == "failed" {
			return r, false // a bounce's subject, but nothing said of why
		}
		if action == "delayed" && r.Status != "" {
			r.Status = "4" + r.Status[1:]
		}
	}
	kind, ok := bounce.Classify(action, r.Status, r.Code)
	if !ok {
		return r, false
	}
	r.Kind = kind
	if as := addresses(h.Values("X-Failed-Recipients")); len(as) > 0 {
		r.Recipient = as[0]
	}
	return r, true
}

func phraseStatus(s string) string {
	for _, p := range phrases {
		if p.re.MatchString(s) {
			return p.status
		}
	}
	return ""
}

// line is the line of text around offset i, trimmed, at most 300 bytes.
func line(text string, i int) string {
	start := strings.LastIndexByte(text[:i], '\n') + 1
	end := strings.IndexByte(text[i:], '\n')
	if end < 0 {
		end = len(text)
	} else {
		end += i
	}
	s := strings.TrimSpace(text[start:end])
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}
