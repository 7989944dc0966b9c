// Package parse reads the mail that comes back to the bounce address, with
// github.com/emersion/go-message: delivery status notifications (RFC 3464
// multipart/report; delivery-status, and RFC 6533's global form), feedback
// reports (RFC 5965 ARF), and the bounces that are not standard (Exim's
// "Mail delivery failed", Exchange's "Undeliverable", Gmail's "Delivery
// Status Notification", a Postfix report stripped of its delivery-status
// part), read from their text. It finds what the message reports and the
// VERP addresses that name the copy; package bounce decides the rest.
package parse

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // the charsets bounces come in (ISO-8859-1, Windows-1252, GB2312…)
	"github.com/emersion/go-message/textproto"

	"github.com/syndicated/syndicated/bounce"
)

// Limits on what is read of one message, whatever its size: a message
// whose parts nest deeper, or that has more parts, is read up to there.
const (
	maxDepth     = 8
	maxParts     = 64
	maxTextBytes = 64 << 10 // of human-readable text, for the non-standard bounces
	maxHeader    = 256 << 10
)

// Format is what kind of message it was.
type Format string

const (
	FormatDSN  Format = "dsn"  // RFC 3464 delivery-status
	FormatARF  Format = "arf"  // RFC 5965 feedback report
	FormatText Format = "text" // a bounce in words only
	FormatNone Format = ""     // no notification
)

// Parsed is what one message reports.
type Parsed struct {
	Format    Format
	MessageID string // the message's own Message-ID, without angle brackets
	Reports   []bounce.Report
	// Addresses are where the message says it was sent (To,
	// Delivered-To, X-Original-To…) and the VERP addresses it quotes (an
	// ARF's Original-Mail-From, the original copy's Return-Path).
	Addresses []string
	// What says what the message was when it reports nothing.
	What string
}

// Message reads raw, one message as it arrived. An error (wrapping
// bounce.ErrMalformed) means its header could not be read; what could be
// read is returned all the same (its addresses, for an unsubscribe
// request whose body does not matter).
func Message(raw []byte) (*Parsed, error) {
	p := &Parsed{}
	e, err := message.ReadWithOptions(bytes.NewReader(raw), &message.ReadOptions{MaxHeaderBytes: maxHeader})
	if e == nil {
		p.What = "malformed message: " + errText(err)
		return p, fmt.Errorf("%w: %s", bounce.ErrMalformed, errText(err))
	}
	h := e.Header
	p.MessageID = msgID(h.Get("Message-Id"))
	for _, k := range []string{"Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To", "Cc"} {
		p.Addresses = append(p.Addresses, addresses(h.Values(k))...)
	}
	w := &walker{p: p}
	w.walk(e, 0)
	switch {
	case w.arf != nil:
		p.Format = FormatARF
		w.feedback()
	case len(w.dsn) > 0:
		p.Format = FormatDSN
		w.deliveryStatus()
	}
	if len(p.Reports) == 0 && p.Format != FormatARF && looksLikeBounce(h) {
		if r, ok := fromText(w.text.String(), h); ok {
			p.Format = FormatText
			r.MessageID = w.origID
			p.Reports = append(p.Reports, r)
		}
	}
	if len(p.Reports) == 0 && p.What == "" {
		switch {
		case w.malformed != "":
			p.What = "malformed message: " + w.malformed
		case p.Format == FormatDSN:
			p.What = "a delivery status notification without a failure (delivered, relayed or expanded)"
		case autoReply(h):
			p.What = "an auto-reply"
		default:
			p.What = "no delivery failure, complaint or unsubscribe request found"
		}
	}
	if w.malformed != "" && len(p.Reports) == 0 {
		return p, fmt.Errorf("%w: %s", bounce.ErrMalformed, w.malformed)
	}
	return p, nil
}

// Notification is the bounce.Notification of raw, a message that came in
// by source for envelope (its RCPT TO addresses; none when unknown). Its
// ID is the message's Message-ID or, without one, a hash of its bytes. A
// message that cannot be read at all gives a notification without
// reports (its envelope may still name an unsubscribe request) and the
// error.
func Notification(source bounce.Source, raw []byte, envelope []string) (bounce.Notification, error) {
	p, err := Message(raw)
	n := bounce.Notification{Source: source, Reports: p.Reports, What: p.What}
	n.Addresses = append(append(n.Addresses, envelope...), p.Addresses...)
	n.ID = p.MessageID
	if n.ID == "" {
		sum := sha256.Sum256(raw)
		n.ID = "sha256:" + hex.EncodeToString(sum[:16])
	}
	return n, err
}

// walker collects, part by part, what the message holds.
type walker struct {
	p         *Parsed
	parts     int
	dsn       [][]byte // message/delivery-status bodies
	arf       []byte   // the message/feedback-report body
	origID    string   // the original copy's Message-ID
	text      strings.Builder
	malformed string
}

func (w *walker) walk(e *message.Entity, depth int) {
	w.parts++
	if depth > maxDepth || w.parts > maxParts {
		return
	}
	t, params, _ := e.Header.ContentType()
	if t == "" {
		t = "text/plain"
	}
	switch {
	case strings.HasPrefix(t, "multipart/"):
		mr := e.MultipartReader()
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil && part == nil {
				if !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
					w.malformed = fmt.Sprintf("%s part: %s", t, errText(err))
					return
				}
				continue
			}
			w.walk(part, depth+1)
		}
	case t == "message/delivery-status" || t == "message/global-delivery-status":
		if b := w.read(e.Body, 64<<10); b != nil {
			w.dsn = append(w.dsn, b)
		}
	case t == "message/feedback-report":
		if b := w.read(e.Body, 64<<10); b != nil && w.arf == nil {
			w.arf = b
		}
	case t == "message/rfc822" || t == "message/global" || t == "text/rfc822-headers" || t == "message/rfc822-headers":
		w.original(e.Body, depth)
	case t == "text/plain" || (t == "text/html" && w.text.Len() == 0):
		b := w.read(e.Body, maxTextBytes)
		if t == "text/html" {
			b = stripTags(b)
		}
		if room := maxTextBytes - w.text.Len(); room > 0 {
			w.text.Write(b[:min(len(b), room)])
			w.text.WriteByte('\n')
		}
	default:
		_ = params
	}
}

// original reads the header of the message a report is about: its
// Message-ID and Return-Path (the VERP address it was sent from). Its
// body is not read, beyond the text a non-standard bounce quotes.
func (w *walker) original(body io.Reader, depth int) {
	e, err := message.ReadWithOptions(body, &message.ReadOptions{MaxHeaderBytes: maxHeader})
	if e == nil {
		if w.malformed == "" && !errors.Is(err, io.EOF) {
			w.malformed = "the quoted original's header: " + errText(err)
		}
		return
	}
	if id := msgID(e.Header.Get("Message-Id")); id != "" && w.origID == "" {
		w.origID = id
	}
	for _, rp := range e.Header.Values("Return-Path") {
		w.p.Addresses = append(w.p.Addresses, addresses([]string{rp})...)
	}
	_ = depth
}

func (w *walker) read(r io.Reader, limit int64) []byte {
	b, err := io.ReadAll(io.LimitReader(r, limit))
	if err != nil && w.malformed == "" {
		w.malformed = errText(err)
	}
	return b
}

// deliveryStatus turns the delivery-status parts into reports: one per
// recipient that failed or was delayed.
func (w *walker) deliveryStatus() {
	for _, body := range w.dsn {
		groups := fieldGroups(body)
		if len(groups) == 0 {
			continue
		}
		perMessage := groups[0]
		arrival := parseDate(perMessage.Get("Arrival-Date"))
		for _, g := range groups[1:] {
			action := g.Get("Action")
			status := enhancedRE.FindString(g.Get("Status"))
			diagType, diag, _ := strings.Cut(g.Get("Diagnostic-Code"), ";")
			diag = strings.TrimSpace(diag)
			code := 0
			if strings.EqualFold(strings.TrimSpace(diagType), "smtp") {
				code, _ = basicCode(diag)
			}
			if status == "" {
				status = enhancedIn(diag)
			}
			kind, ok := bounce.Classify(action, status, code)
			if !ok {
				continue
			}
			at := parseDate(g.Get("Last-Attempt-Date"))
			if at.IsZero() {
				at = arrival
			}
			w.p.Reports = append(w.p.Reports, bounce.Report{
				Kind: kind, Status: status, Code: code, Diagnostic: diag,
				Recipient: typedAddress(g.Get("Final-Recipient"), g.Get("Original-Recipient")),
				MessageID: w.origID, At: at,
			})
		}
	}
}

// feedback turns the feedback report into a complaint, when it is one.
func (w *walker) feedback() {
	groups := fieldGroups(w.arf)
	if len(groups) == 0 {
		w.p.What = "a feedback report without fields"
		return
	}
	f := groups[0]
	if from := f.Get("Original-Mail-From"); from != "" {
		w.p.Addresses = append(w.p.Addresses, addresses([]string{from})...)
	}
	typ := strings.ToLower(strings.TrimSpace(f.Get("Feedback-Type")))
	switch typ {
	case "abuse", "fraud":
	default:
		w.p.What = fmt.Sprintf("a feedback report of type %q (only abuse and fraud are complaints)", typ)
		return
	}
	w.p.Reports = append(w.p.Reports, bounce.Report{
		Kind: bounce.KindComplaint, Diagnostic: "feedback-type " + typ + "; " + f.Get("User-Agent"),
		Recipient: strings.Trim(f.Get("Original-Rcpt-To"), "<> "), MessageID: w.origID,
		At: parseDate(f.Get("Arrival-Date")),
	})
}

// fieldGroups reads RFC 822-style field groups separated by blank lines
// (a delivery-status body: the per-message fields, then one group per
// recipient).
func fieldGroups(b []byte) []textproto.Header {
	br := bufio.NewReader(bytes.NewReader(bytes.TrimLeft(b, "\r\n")))
	var out []textproto.Header
	for len(out) < maxParts {
		h, err := textproto.ReadHeader(br)
		if h.Len() > 0 {
			out = append(out, h)
		}
		if err != nil {
			break
		}
		// Blank lines between groups beyond the one ReadHeader ate.
		for {
			c, err := br.Peek(1)
			if err != nil || (c[0] != '\r' && c[0] != '\n') {
				break
			}
			_, _ = br.ReadByte()
		}
		if _, err := br.Peek(1); err != nil {
			break
		}
	}
	return out
}

var (
	enhancedRE = regexp.MustCompile(`^\s*[245]\.\d{1,3}\.\d{1,3}\b`)
	// A reply code and enhanced code, as servers quote them in text:
	// "550 5.1.1", "550-5.1.1", "#550 5.1.1" (Exchange), "552-5.2.2".
	replyRE = regexp.MustCompile(`(?:^|[^\d.])#?([45][0-5]\d)[ -]+([245]\.\d{1,3}\.\d{1,3})(?:[^\d.]|$)`)
	// An enhanced code alone, not part of an IP address or version.
	enhancedInRE = regexp.MustCompile(`(?:^|[^\d.])([245]\.\d{1,3}\.\d{1,3})(?:[^\d.]|$)`)
	// A basic reply code alone at the start of a reply line.
	basicRE = regexp.MustCompile(`(?m)(?:^|[\s#'"(:])([45][0-5]\d)[ -]`)
)

// basicCode finds the reply code that starts a diagnostic ("550 5.1.1
// <…>: Recipient address rejected").
func basicCode(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if len(s) >= 3 {
		if n, err := strconv.Atoi(s[:3]); err == nil && n >= 200 && n < 600 && (len(s) == 3 || s[3] == ' ' || s[3] == '-') {
			return n, true
		}
	}
	return 0, false
}

func enhancedIn(s string) string {
	if m := enhancedInRE.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return ""
}

// typedAddress is the address of an RFC 3464 recipient field
// ("rfc822; reader@example.org"), the first that has one.
func typedAddress(fields ...string) string {
	for _, f := range fields {
		_, a, ok := strings.Cut(f, ";")
		if !ok {
			a = f
		}
		if a = strings.Trim(strings.TrimSpace(a), "<>"); strings.Contains(a, "@") {
			return a
		}
	}
	return ""
}

// addresses are the addresses in address header values, bare or in a
// list; what does not parse is tried as one bare address.
func addresses(values []string) []string {
	var out []string
	for _, v := range values {
		if as, err := mail.ParseAddressList(v); err == nil {
			for _, a := range as {
				out = append(out, a.Address)
			}
			continue
		}
		if a := strings.Trim(strings.TrimSpace(v), "<>"); strings.Contains(a, "@") && !strings.ContainsAny(a, " \t,") {
			out = append(out, a)
		}
	}
	return out
}

func msgID(s string) string { return strings.Trim(strings.TrimSpace(s), "<>") }

func parseDate(s string) time.Time {
	if s = strings.TrimSpace(s); s == "" {
		return time.Time{}
	}
	t, err := mail.ParseDate(s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

func errText(err error) string {
	if err == nil {
		return "unreadable"
	}
	s := err.Error()
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

var tagRE = regexp.MustCompile(`(?s)<style.*?</style>|<script.*?</script>|<[^>]*>`)

// stripTags is HTML reduced to its text, enough to find a reply code in
// an HTML-only bounce.
func stripTags(b []byte) []byte {
	b = tagRE.ReplaceAll(b, []byte(" "))
	return []byte(strings.NewReplacer("&nbsp;", " ", "&lt;", "<", "&gt;", ">", "&amp;", "&", "&#39;", "'", "&quot;", `"`).Replace(string(b)))
}
