package textpage

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/ingest/source"
)

// The header of a page is found from its byline, not from the top: copies
// made by reader modes and mirror sites lack the menu and the breadcrumb,
// or add lines of their own above the headline. The byline block (one or
// several lines: "By … | Publication | Updated: …", "Updated: …" with
// "(Publication)" or "By … (Publication)" under it, a bare date line) is
// the anchor; the headline is the block of lines right above it, and the
// breadcrumb, if any, above that.

type header struct {
	headline    string
	authors     []article.Author
	publication string
	updated     time.Time
	bylineLine  int
}

// bylineKind is what part of a byline a line can be.
type bylineKind int

const (
	notByline  bylineKind = iota
	byField               // "By NAME in PLACE …" (or 作者：…)
	timeField             // "Updated: …", "( Updated: …", a bare "2016-02-22 16:35"
	pipeFields            // fields separated by "|", one a time or a "By"
	parenPub              // "(China Daily)" alone
	barLine               // "|" alone (2015 layout)
)

func (p *parser) kindOf(i int) bylineKind {
	t := p.lines[i].text
	switch {
	case t == "":
		return notByline
	case barLineRe.MatchString(t):
		return barLine
	case updatedRe.MatchString(t):
		return timeField
	case bareTimeRe.MatchString(t):
		return timeField
	case parenPubRe.MatchString(t):
		return parenPub
	case strings.Contains(t, "|") && pipeHasByline(t):
		return pipeFields
	case inlineUpdatedRe.MatchString(t) && isByLine(inlineUpdatedRe.FindStringSubmatch(t)[1]):
		return pipeFields
	case isByLine(t):
		return byField
	}
	return notByline
}

// pipeHasByline: fields separated by "|" of which one is a time or a "By"
// field (a caption ending "… for China Daily |" is not a byline).
func pipeHasByline(t string) bool {
	if _, _, ok := splitCaption(t, false); ok {
		return false
	}
	for _, f := range strings.Split(t, "|") {
		f = strings.TrimSpace(f)
		if updatedRe.MatchString(f) || bareTimeRe.MatchString(f) || isByLine(f) {
			return true
		}
	}
	return false
}

// isByLine: "By" and names ("By HE WEI in Shanghai", "By Huang Zhiling in
// Chengdu (China Daily)", "By (chinadaily.com.cn)"), not a sentence that
// starts with "By" ("By the end of May, …", "By 2025 …").
func isByLine(t string) bool {
	loc := byRe.FindStringIndex(t)
	if loc == nil || utf8.RuneCountInString(t) > 200 {
		return false
	}
	rest := strings.TrimSpace(t[loc[1]:])
	if rest == "" {
		return false
	}
	r, _ := utf8.DecodeRuneInString(rest)
	if r == '(' || r == '（' {
		return parenPubRe.MatchString(rest)
	}
	if !unicode.IsUpper(r) && !unicode.Is(unicode.Han, r) {
		return false
	}
	first := strings.Fields(rest)[0]
	first = strings.TrimRight(first, ",")
	switch strings.ToLower(first) {
	case "the", "then", "now", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
		"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december":
		return false
	}
	return !terminalRe.MatchString(strings.TrimRight(rest, "|")) || strings.HasSuffix(rest, ")")
}

// findByline returns the index of the first line at or after from that
// anchors a byline block (see isAnchor); -1 when none.
func (p *parser) findByline(from int) int {
	for i := from; i < len(p.lines); i++ {
		if p.isAnchor(i) {
			return i
		}
	}
	return -1
}

// isAnchor reports whether line i anchors a byline block: a time line
// (a bare date only beside a byline), fields with a time or a "By", or a
// "By" line that has a time or a publication next to it or in it.
func (p *parser) isAnchor(i int) bool {
	switch p.kindOf(i) {
	case pipeFields:
		return true
	case timeField:
		t := p.lines[i].text
		return !bareTimeRe.MatchString(t) || strings.Contains(t, ":") || p.nearByline(i)
	case byField:
		return pubInBracketsRe.MatchString(p.lines[i].text) || p.nearByline(i)
	}
	return false
}

// nearByline reports whether the nearest non-blank line before or after i
// is a time or a publication in brackets.
func (p *parser) nearByline(i int) bool {
	for _, step := range []int{-1, 1} {
		j := i + step
		for j >= 0 && j < len(p.lines) && p.lines[j].text == "" {
			j += step
		}
		if j >= 0 && j < len(p.lines) {
			if k := p.kindOf(j); k == timeField || k == parenPub || k == pipeFields {
				return true
			}
		}
	}
	return false
}

// bylineBlock returns the lines of the byline anchored at line k: from
// start (a "(Publication)" or "By" line just above a time line belongs to
// it) to end (exclusive), and their fields.
func (p *parser) bylineBlock(k int) (start, end int, fields []string) {
	start = k
	hasBy, hasPub, hasTime := false, false, false
	note := func(kind bylineKind, t string) {
		switch kind {
		case byField:
			hasBy = true
		case parenPub:
			hasPub = true
		case timeField:
			hasTime = true
		case pipeFields:
			if m := inlineUpdatedRe.FindStringSubmatch(t); m != nil && !strings.Contains(t, "|") {
				t = m[1] + " | " + m[2]
			}
			for _, f := range strings.Split(t, "|") {
				f = strings.TrimSpace(f)
				switch {
				case updatedRe.MatchString(f) || bareTimeRe.MatchString(f):
					hasTime = true
				case isByLine(f):
					hasBy = true
				case f != "":
					hasPub = true
				}
			}
		}
	}
	note(p.kindOf(k), p.lines[k].text)
	// Upwards: "(Xinhua)" / "Updated: …" (2009), "By … |" lines.
	for steps := 0; steps < 2; steps++ {
		j := start - 1
		for j >= 0 && p.lines[j].text == "" {
			j--
		}
		if j < 0 {
			break
		}
		kind := p.kindOf(j)
		if (kind == parenPub && !hasPub) || (kind == byField && !hasBy && p.kindOf(k) == timeField) {
			note(kind, p.lines[j].text)
			start = j
			continue
		}
		break
	}
	end = k + 1
	open := strings.HasSuffix(p.lines[k].text, "|")
	for {
		j := end
		for j < len(p.lines) && p.lines[j].text == "" {
			j++
		}
		if j == len(p.lines) {
			break
		}
		t := p.lines[j].text
		kind := p.kindOf(j)
		take := false
		switch {
		case kind == barLine:
			take = true
		case open && parsePagination(t) == nil && kind != notByline:
			take = true
		case open && parsePagination(t) == nil && continuesByline(t):
			take = true // "chinadaily.com.cn |" under "By A, B and C |"
		case kind == timeField && !hasTime, kind == pipeFields && !hasTime:
			take = true
		case kind == byField && !hasBy:
			take = true
		case kind == parenPub && !hasPub:
			take = true
		}
		if !take {
			break
		}
		note(kind, t)
		if kind == notByline {
			hasPub = true
		}
		open = strings.HasSuffix(t, "|")
		end = j + 1
	}
	for i := start; i < end; i++ {
		fields = append(fields, bylineFields(p.lines[i].text)...)
	}
	return start, end, fields
}

// continuesByline reports whether t, under a byline line ending with "|",
// is a field of it: a publication of a few words ("chinadaily.com.cn |"),
// not chrome, a caption or a sentence.
func continuesByline(t string) bool {
	if _, chrome := isChrome(t); chrome {
		return false
	}
	if _, _, ok := splitCaption(t, false); ok {
		return false
	}
	f := strings.TrimSpace(strings.TrimRight(t, "|"))
	return f != "" && !terminalRe.MatchString(f) && !strings.Contains(f, ". ") && len(strings.Fields(f)) <= 5
}

// bylineFields splits one byline line into its fields: "Updated: T
// (Xinhua)" gives "Updated: T" and "Xinhua"; "(China Daily)" gives
// "China Daily".
func bylineFields(t string) []string {
	if barLineRe.MatchString(t) {
		return nil
	}
	if m := parenPubRe.FindStringSubmatch(t); m != nil {
		return []string{m[1]}
	}
	if m := inlineUpdatedRe.FindStringSubmatch(t); m != nil && !strings.Contains(t, "|") {
		t = m[1] + " | " + m[2]
	}
	var out []string
	for _, f := range strings.Split(t, "|") {
		f = strings.TrimSpace(f)
		if m := updatedRe.FindStringSubmatch(f); m != nil {
			if pub := strings.TrimSpace(m[1]); pub != "" {
				out = append(out, pub)
			}
			rest := strings.TrimSpace(m[2])
			stamp := stampRe.FindString(rest)
			if stamp == "" {
				stamp = rest
			}
			out = append(out, "Updated: "+stamp)
			tail := strings.Fields(strings.TrimSpace(rest[len(stamp):]))
			for len(tail) > 0 && toolbarWordRe.MatchString(tail[len(tail)-1]) {
				tail = tail[:len(tail)-1]
			}
			pub := strings.TrimSpace(strings.Trim(strings.Join(tail, " "), "()（）"))
			if pub != "" && !chromeRe.MatchString(pub) {
				out = append(out, pub)
			}
			continue
		}
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

// parseByline reads the fields of a byline block.
func (p *parser) parseByline(n int, fields []string, h *header) error {
	var rest []string
	var byField string
	text := strings.Join(fields, " | ")
	for _, f := range fields {
		if t, ok, err := p.stamp(f); err != nil {
			return p.errf(n, "byline", "%v", err)
		} else if ok {
			if h.updated.IsZero() || t.After(h.updated) {
				h.updated = t
			}
			continue
		}
		if byField == "" && byRe.MatchString(f) {
			byField = f
			continue
		}
		if f = strings.TrimSpace(sourceRe.ReplaceAllString(f, "")); f != "" {
			rest = append(rest, f)
		}
	}
	if h.updated.IsZero() {
		return p.errf(n, "byline", "no 'Updated:' time in %q", text)
	}
	if m := pubInBracketsRe.FindStringSubmatchIndex(byField); m != nil {
		// "By NAME in PLACE(China Daily USA)", "By (chinadaily.com.cn)".
		if pub := strings.TrimSpace(byField[m[2]:m[3]]); pub != "" {
			rest = append(rest, pub)
		}
		byField = byField[:m[0]]
	}
	if len(rest) > 0 {
		h.publication = siteName(publicationCase(rest[0]))
	}
	if byField = strings.TrimSpace(byField); byField != "" && byRe.MatchString(byField+" ") {
		h.authors = parseAuthors(strings.TrimSpace(byRe.ReplaceAllString(byField+" ", "")))
	}
	// A byline that names only the publication ("China Daily Global |
	// Updated: …", "(Xinhua)") credits no author.
	return nil
}

// stamp reads a byline field that gives the time: "Updated: 2019-04-24
// 20:12", "Updated: Aug 28, 2019", or a bare "2019-04-24 20:12". ok is
// false for other fields.
func (p *parser) stamp(f string) (t time.Time, ok bool, err error) {
	if m := updatedRe.FindStringSubmatch(f); m != nil {
		ts := strings.TrimSpace(m[2])
		t, err := p.parseStamp(ts)
		if err != nil {
			return t, false, fmt.Errorf("bad 'Updated:' time %q: want YYYY-MM-DD HH:MM", ts)
		}
		return t, true, nil
	}
	if bareTimeRe.MatchString(f) {
		if t, err := p.parseStamp(f); err == nil {
			return t, true, nil
		}
	}
	return time.Time{}, false, nil
}

func (p *parser) parseStamp(s string) (time.Time, error) {
	s = strings.Join(strings.Fields(strings.ReplaceAll(s, "T", " ")), " ")
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02 15:04:05", "2006-01-02", "2006-1-2 15:04", "2006-1-2",
		"2006/01/02 15:04", "2006/01/02", "2006.01.02 15:04", "2006.01.02",
		"Jan 2, 2006", "Jan 2 2006", "January 2, 2006", "January 2 2006", "Jan. 2, 2006", "Jan 2, 2006 15:04", "January 2, 2006 15:04"} {
		if t, err := time.ParseInLocation(layout, s, p.zone); err == nil {
			return t, nil
		}
	}
	if strings.HasPrefix(strings.ToLower(s), "sept") {
		return p.parseStamp("Sep" + s[4:])
	}
	return source.ParseTime(s, p.zone)
}

// publicationCase title-cases an all-capitals publication ("CHINA DAILY",
// "XINHUA") but keeps short acronyms ("AFP", "CGTN").
func publicationCase(s string) string {
	for _, w := range strings.Fields(s) {
		if utf8.RuneCountInString(w) >= 5 && !strings.Contains(w, ".") {
			return source.TitleCase(s)
		}
	}
	return s
}

// siteName maps a publication given as the publisher's web address to
// its name.
func siteName(pub string) string {
	switch strings.TrimPrefix(strings.ToLower(pub), "www.") {
	case "chinadaily.com.cn", "chinadaily.com":
		return "China Daily"
	}
	return pub
}

// parseAuthors reads "NAME[ in PLACE][, NAME…][ and NAME…]". A place may
// hold commas: in "LI YINGQING in Gongshan, Yunnan, and ZHENG JINRAN",
// "Yunnan" goes on the place, as a part of one word after a place, or a
// part not in capitals among names in capitals, does.
func parseAuthors(s string) []article.Author {
	var out []article.Author
	caps := s == strings.ToUpper(s) || capsNames(s)
	for _, part := range authorSplit.Split(s, -1) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if n := len(out); n > 0 && out[n-1].Place != "" && !inRe.MatchString(part) &&
			(len(strings.Fields(part)) == 1 || (caps && part != strings.ToUpper(part))) {
			out[n-1].Place += ", " + source.TitleCase(forRe.ReplaceAllString(part, ""))
			continue
		}
		var place string
		if loc := inRe.FindAllStringIndex(part, -1); loc != nil {
			l := loc[len(loc)-1]
			part, place = part[:l[0]], part[l[1]:]
		}
		part = forRe.ReplaceAllString(part, "")
		place = forRe.ReplaceAllString(place, "")
		name := source.TitleCase(strings.TrimSpace(part))
		if name == "" {
			continue
		}
		out = append(out, article.Author{Name: name, Place: source.TitleCase(strings.TrimSpace(place))})
	}
	// "By A and B in Shanghai": both filed from Shanghai.
	if n := len(out); n > 1 && out[n-1].Place != "" {
		shared := true
		for _, a := range out[:n-1] {
			shared = shared && a.Place == ""
		}
		if shared {
			for i := range out {
				out[i].Place = out[n-1].Place
			}
		}
	}
	return out
}

// capsNames reports whether the names of a byline are in capitals ("LI
// YINGQING in Gongshan, Yunnan, and ZHENG JINRAN"): its first word is.
func capsNames(s string) bool {
	f := strings.Fields(s)
	return len(f) > 0 && utf8.RuneCountInString(f[0]) > 1 && f[0] == strings.ToUpper(f[0]) && strings.ToUpper(f[0]) != strings.ToLower(f[0])
}

// readHeader reads the header anchored at byline index k: byline,
// headline above it, breadcrumb (or label) above that. It leaves p.pos
// after the byline.
func (p *parser) readHeader(doc *Document, k int) (*header, error) {
	start, end, fields := p.bylineBlock(k)
	h := &header{bylineLine: p.lines[start].n}
	if err := p.parseByline(p.lines[start].n, fields, h); err != nil {
		return nil, err
	}
	head, top := p.headlineAbove(start)
	if len(head) == 0 {
		return nil, p.errf(p.lines[start].n, "headline", "missing above the byline (line %d)", p.lines[start].n)
	}
	h.headline = strings.Join(head, " ")
	p.above(doc, top, h.headline)
	for i := start; i < end; i++ {
		if barLineRe.MatchString(p.lines[i].text) {
			doc.drop(p.lines[i], "separator in the byline")
		}
	}
	p.pos = end
	return h, nil
}

// headlineAbove returns the headline lines right above index start (at
// most three, one block without blank lines, no chrome, breadcrumb or
// mirror line) and the index of the first of them.
func (p *parser) headlineAbove(start int) ([]string, int) {
	var head []string
	i := start - 1
	for i >= 0 && p.lines[i].text == "" {
		i--
	}
	top := i + 1
	for ; i >= 0 && len(head) < 3; i-- {
		t := p.lines[i].text
		if t == "" {
			break
		}
		if _, chrome := isChrome(t); chrome {
			if len(head) > 0 {
				break
			}
			continue
		}
		if homeCrumbRe.MatchString(t) || noteRe.MatchString(t) {
			break
		}
		if _, crumb := isBreadcrumb(t); crumb && len(head) > 0 {
			break
		}
		if len(head) > 0 && isMirrorLine(t, head[0]) {
			break
		}
		head = append([]string{t}, head...)
		top = i
	}
	return head, top
}

// above sorts the lines above the headline (from index 0 to top): the
// breadcrumb (the last one), else a label that may name the section
// ("From the Readers"); the rest is dropped as chrome or a mirror's lines.
func (p *parser) above(doc *Document, top int, headline string) {
	crumb := -1
	for i := 0; i < top; i++ {
		if parts, ok := isBreadcrumb(p.lines[i].text); ok && p.lines[i].text != "" {
			crumb = i
			doc.Breadcrumb, doc.BreadcrumbLine = parts, p.lines[i].n
		}
	}
	label := -1
	if crumb < 0 {
		for i := top - 1; i >= 0; i-- {
			t := p.lines[i].text
			if t == "" {
				continue
			}
			if _, chrome := isChrome(t); chrome {
				continue
			}
			r, _ := utf8.DecodeRuneInString(t)
			if (unicode.IsUpper(r) || unicode.Is(unicode.Han, r)) && words(t) <= 4 && utf8.RuneCountInString(t) <= 30 &&
				!terminalRe.MatchString(t) && !isMirrorLine(t, headline) {
				label = i
				doc.Label, doc.LabelLine = t, p.lines[i].n
			}
			break
		}
	}
	for i := 0; i < top; i++ {
		t := p.lines[i].text
		switch {
		case t == "" || i == crumb || i == label:
		default:
			why, chrome := isChrome(t)
			if !chrome {
				why = "above the headline: the copying site's own line"
			}
			doc.drop(p.lines[i], why)
		}
	}
}

// skipContinuationHeader skips, on a later page without byline, the
// breadcrumb and the headline lines the page repeats under it (up to
// three lines that neither end like a sentence nor are a caption or note).
func (p *parser) skipContinuationHeader(doc *Document) {
	crumb := -1
	for i := 0; i < len(p.lines) && i < 12; i++ {
		if _, ok := isBreadcrumb(p.lines[i].text); ok && homeCrumbRe.MatchString(p.lines[i].text) {
			crumb = i
			break
		}
	}
	if crumb < 0 {
		return
	}
	doc.Breadcrumb, _ = isBreadcrumb(p.lines[crumb].text)
	doc.BreadcrumbLine = p.lines[crumb].n
	for i := 0; i < crumb; i++ {
		if p.lines[i].text != "" {
			why, chrome := isChrome(p.lines[i].text)
			if !chrome {
				why = "above the breadcrumb"
			}
			doc.drop(p.lines[i], why)
		}
	}
	p.pos = crumb + 1
	for taken := 0; p.pos < len(p.lines) && taken < 3; p.pos++ {
		t := p.lines[p.pos].text
		if t == "" {
			continue
		}
		if why, chrome := isChrome(t); chrome {
			doc.drop(p.lines[p.pos], why)
			continue
		}
		if _, _, ok := splitCaption(t, true); ok || terminalRe.MatchString(t) || noteRe.MatchString(t) || parsePagination(t) != nil {
			return
		}
		doc.drop(p.lines[p.pos], "headline repeated on a later page")
		taken++
	}
}
