// Package textpage parses the publisher's plain-text article page: the text
// a browser gives when one copies a whole article page, site chrome and all.
//
//	Global Edition ASIA 中文 …                    ← chrome, ignored
//	Home / China / Society                         ← breadcrumb: section
//	Powerhouse in the making                       ← headline
//	By HE WEI in Shanghai | China Daily | Updated: 2019-04-24 20:12
//	Share - WeChat                                 ← chrome
//	Caption text. PROVIDED TO CHINA DAILY          ← caption + credit
//	Deck without a final full stop                 ← deck
//	Editor's note: …                               ← editor's note
//	Body paragraph, one a line …
//	1 2 Next >>|                                   ← pagination: page 1 of 2
//	Copyright 1995 - … / License … / Registration … ← chrome, ignored
//
// docs/formats.md describes the format, its variants and the multi-page
// conventions in full.
package textpage

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/ingest/source"
)

// Document is one parsed file.
type Document struct {
	// Article holds everything the page gives. ID, GUID and Published are
	// left empty: the importer sets the ID and GUID, and article.Merge sets
	// Published to Updated when the article is first stored.
	Article article.Article
	// Caption and Credit are the lead photo's caption and credit as the page
	// shows them, even when the page gives no photo URL. Article.Photo is
	// set only when an "Image: URL" line gives one (a photo needs a URL).
	Caption, Credit string
	// PhotoURL comes from an "Image: https://…" (or "Photo: …") line.
	PhotoURL string
	// Pages lists the page numbers this file holds, ascending.
	Pages []int
	// HeaderLine is the line of the byline, for error messages.
	HeaderLine int
}

// PageOfName splits a file name into the article stem and the page number
// its name claims: "a.txt" → ("a", 0), "a.p2.txt" → ("a", 2). Page 0 means
// the name does not say.
func PageOfName(name string) (stem string, page int) {
	base := name
	if i := strings.LastIndexAny(base, `/\`); i >= 0 {
		base = base[i+1:]
	}
	if i := strings.LastIndexByte(base, '.'); i > 0 {
		base = base[:i]
	}
	if m := pageSuffix.FindStringSubmatch(base); m != nil {
		n, err := strconv.Atoi(m[2])
		if err == nil && n > 0 && n < 1000 {
			return m[1], n
		}
	}
	return base, 0
}

var pageSuffix = regexp.MustCompile(`^(.+)\.p(\d+)$`)

type line struct {
	n    int
	text string
}

var (
	breadcrumbRe = regexp.MustCompile(`^(?i:home)\s*[/>›»]\s*\S|^首页\s*[/>›»]`)
	crumbSplitRe = regexp.MustCompile(`\s*[/>›»]\s*`)
	updatedRe    = regexp.MustCompile(`^(?i:updated|published)\s*[:：]\s*(.*)$|^(?:更新时间|更新|发布时间)\s*[:：]\s*(.*)$`)
	bareTimeRe   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(?::\d{2})?$`)
	byRe         = regexp.MustCompile(`^(?i:by)\s+|^(?:作者|记者)\s*[:：]?\s*`)
	sourceRe     = regexp.MustCompile(`^(?:来源|Source)\s*[:：]\s*`)
	authorSplit  = regexp.MustCompile(`\s*,\s*(?i:and\s+)?|\s+(?i:and)\s+|\s*&\s*|\s*、\s*`)
	inRe         = regexp.MustCompile(`\s+(?i:in)\s+`)
	forRe        = regexp.MustCompile(`\s+(?i:for)\s+.*$`)
	shareRe      = regexp.MustCompile(`^Share\s*-\s*(WeChat)?$`)
	chromeRe     = regexp.MustCompile(`^(?i:global\s*edition)|^(?i:copyright)\b.*(?i:all rights reserved|\b1995\b)|` +
		`^(?i:license for publishing multimedia)|^(?i:registration number)|^(?i:note: browsers with)|^版权所有`)
	paginationRe     = regexp.MustCompile(`^(?:\|?\s*<<\s*)?(Previous|上一页)?\s*((?:\d+\s+)*\d+)\s*(Next|下一页)?(?:\s*>>\s*\|?)?$`)
	imageRe          = regexp.MustCompile(`^(?i:image|photo)\s*[:：]\s*(https?://\S+)$`)
	noteRe           = regexp.MustCompile(`^(?i:editor['’]?s\s*note)\s*[:：]\s*(.*)$|^编者按\s*[:：]?\s*(.*)$`)
	bracketCapRe     = regexp.MustCompile(`^(.*?)\s*[\[【]\s*((?i:photos?|images?|video|图|图片|摄影|视频)[^\]】]*?)\s*[\]】]$`)
	capsCreditRe     = regexp.MustCompile(`^(.*[.!?。！？"”)）])\s+(\p{Lu}[\p{Lu}\d .,'’&/-]*\p{Lu})$`)
	agencyDatelineRe = regexp.MustCompile(`^(\p{Lu}[\p{Lu} .'-]*\p{Lu})\s*(?:--|—|–)\s`)
	terminalRe       = regexp.MustCompile(`[.!?。！？…"”'’)）:：;；]$`)
)

// zhSection maps a Chinese section name in a breadcrumb to its slug.
func zhSection(name string) (string, bool) {
	switch name {
	case "社会":
		return "society", true
	case "中国":
		return "china", true
	case "国际":
		return "world", true
	case "财经":
		return "business", true
	case "文化":
		return "culture", true
	case "体育":
		return "sports", true
	case "科技":
		return "tech", true
	case "观点":
		return "opinion", true
	}
	return "", false
}

// Parse reads one file. name is used in errors and, through PageOfName,
// as a hint for which page the file holds when its pagination cannot say.
func Parse(name string, data []byte) (*Document, error) {
	_, hint := PageOfName(name)
	lines, err := splitLines(name, data)
	if err != nil {
		return nil, err
	}
	p := &parser{name: name, lines: lines}
	return p.parse(hint)
}

func splitLines(name string, data []byte) ([]line, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	var out []line
	for i, raw := range strings.Split(text, "\n") {
		raw = strings.ReplaceAll(raw, "\ufeff", "")
		if !utf8.ValidString(raw) {
			return nil, source.Errorf(name, i+1, "", "not valid UTF-8 text")
		}
		if err := source.CheckText(raw); err != nil {
			return nil, source.Errorf(name, i+1, "", "%v", err)
		}
		out = append(out, line{n: i + 1, text: source.CleanSpace(raw)})
	}
	return out, nil
}

type parser struct {
	name  string
	lines []line
	pos   int
}

func (p *parser) errf(n int, field, format string, args ...any) error {
	return source.Errorf(p.name, n, field, format, args...)
}

type header struct {
	section     string
	headline    string
	authors     []article.Author
	publication string
	updated     time.Time
	bylineLine  int
}

// readHeader reads breadcrumb, headline and byline starting at p.pos, after
// skipping chrome. It leaves p.pos after the byline.
func (p *parser) readHeader() (*header, error) {
	crumb := -1
	for i := p.pos; i < len(p.lines); i++ {
		if breadcrumbRe.MatchString(p.lines[i].text) {
			crumb = i
			break
		}
	}
	if crumb < 0 {
		return nil, p.errf(1, "breadcrumb", "no 'Home / … / Section' line")
	}
	h := &header{}
	parts := crumbSplitRe.Split(p.lines[crumb].text, -1)
	last := parts[len(parts)-1]
	if s, ok := zhSection(last); ok {
		h.section = s
	} else {
		h.section = source.Slugify(last)
	}
	if h.section == "" {
		return nil, p.errf(p.lines[crumb].n, "section", "no section name at the end of breadcrumb %q", p.lines[crumb].text)
	}
	var head []string
	byline := -1
	for i := crumb + 1; i < len(p.lines); i++ {
		t := p.lines[i].text
		if t == "" {
			continue
		}
		if looksLikeByline(t) {
			byline = i
			break
		}
		if len(head) == 3 {
			break
		}
		head = append(head, t)
	}
	if byline < 0 {
		return nil, p.errf(p.lines[crumb].n, "byline", "no byline ('By NAME in PLACE | Publication | Updated: YYYY-MM-DD HH:MM') in the lines after the breadcrumb")
	}
	bl := p.lines[byline]
	if len(head) == 0 {
		return nil, p.errf(bl.n, "headline", "missing between breadcrumb (line %d) and byline", p.lines[crumb].n)
	}
	h.headline = strings.Join(head, " ")
	h.bylineLine = bl.n
	if err := p.parseByline(bl, h); err != nil {
		return nil, err
	}
	p.pos = byline + 1
	return h, nil
}

func looksLikeByline(t string) bool {
	return strings.Contains(t, "|") || byRe.MatchString(t) || updatedRe.MatchString(t)
}

func (p *parser) parseByline(bl line, h *header) error {
	var rest []string
	var byField string
	for _, f := range strings.Split(bl.text, "|") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if m := updatedRe.FindStringSubmatch(f); m != nil {
			ts := m[1] + m[2]
			t, err := parseStamp(ts)
			if err != nil {
				return p.errf(bl.n, "byline", "bad 'Updated:' time %q: want YYYY-MM-DD HH:MM", ts)
			}
			if h.updated.IsZero() || t.After(h.updated) {
				h.updated = t
			}
			continue
		}
		if bareTimeRe.MatchString(f) && h.updated.IsZero() {
			t, err := parseStamp(f)
			if err == nil {
				h.updated = t
				continue
			}
		}
		if byField == "" && byRe.MatchString(f) {
			byField = f
			continue
		}
		rest = append(rest, sourceRe.ReplaceAllString(f, ""))
	}
	if h.updated.IsZero() {
		return p.errf(bl.n, "byline", "no 'Updated:' time in %q", bl.text)
	}
	if len(rest) > 0 {
		h.publication = publicationCase(rest[0])
	}
	if byField != "" {
		h.authors = parseAuthors(byRe.ReplaceAllString(byField, ""))
	}
	if len(h.authors) == 0 {
		if h.publication == "" {
			return p.errf(bl.n, "byline", "no author ('By NAME') nor publication in %q", bl.text)
		}
		// An agency byline ("Xinhua | Updated: …") credits the agency.
		h.authors = []article.Author{{Name: h.publication}}
	}
	return nil
}

func parseStamp(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, source.Zone()); err == nil {
			return t, nil
		}
	}
	return source.ParseTime(s)
}

// publicationCase title-cases an all-capitals publication ("CHINA DAILY",
// "XINHUA") but keeps short acronyms ("AFP", "CGTN").
func publicationCase(s string) string {
	for _, w := range strings.Fields(s) {
		if utf8.RuneCountInString(w) >= 5 {
			return source.TitleCase(s)
		}
	}
	return s
}

func parseAuthors(s string) []article.Author {
	var out []article.Author
	for _, part := range authorSplit.Split(s, -1) {
		part = strings.TrimSpace(part)
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

type segment struct {
	paras   []line
	pag     *pagination
	pagLine int
}

type pagination struct {
	numbers    []int
	prev, next bool
}

func parsePagination(t string) *pagination {
	m := paginationRe.FindStringSubmatch(t)
	if m == nil || (m[1] == "" && m[3] == "") {
		return nil
	}
	pg := &pagination{prev: m[1] != "", next: m[3] != ""}
	for _, f := range strings.Fields(m[2]) {
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 || n > 999 {
			return nil
		}
		pg.numbers = append(pg.numbers, n)
	}
	return pg
}

func (pg *pagination) total() int {
	t := 0
	for _, n := range pg.numbers {
		t = max(t, n)
	}
	return t
}

func (p *parser) parse(hint int) (*Document, error) {
	h, err := p.readHeader()
	if err != nil {
		return nil, err
	}
	doc := &Document{HeaderLine: h.bylineLine}
	a := &doc.Article
	a.Section = h.section
	a.Headline = h.headline
	a.Authors = h.authors
	a.Publication = h.publication
	a.Updated = h.updated
	a.Status = article.StatusPublished
	for _, au := range h.authors {
		if au.Place != "" {
			a.Dateline = au.Place
			break
		}
	}

	// Split the rest into pages at pagination lines, dropping chrome and
	// the header a later page repeats.
	var segs []*segment
	cur := &segment{}
	for p.pos < len(p.lines) {
		l := p.lines[p.pos]
		p.pos++
		t := l.text
		switch {
		case t == "", shareRe.MatchString(t), chromeRe.MatchString(t):
			continue
		case imageRe.MatchString(t):
			if doc.PhotoURL == "" {
				doc.PhotoURL = imageRe.FindStringSubmatch(t)[1]
			}
			continue
		}
		if pg := parsePagination(t); pg != nil {
			cur.pag, cur.pagLine = pg, l.n
			segs = append(segs, cur)
			cur = &segment{}
			continue
		}
		if breadcrumbRe.MatchString(t) && len(segs) > 0 {
			// A later page repeats breadcrumb, headline and byline.
			p.skipRepeatedHeader()
			continue
		}
		cur.paras = append(cur.paras, l)
	}
	if len(cur.paras) > 0 || len(segs) == 0 {
		segs = append(segs, cur)
	}

	// Number the pages.
	prev := 0
	for i, s := range segs {
		var n int
		switch {
		case s.pag == nil:
			n = prev + 1
			if i == 0 && hint > 0 {
				n = hint
			}
		case !s.pag.prev:
			n = 1
			if len(s.pag.numbers) > 0 {
				n = s.pag.numbers[0]
			}
		case !s.pag.next:
			n = s.pag.total()
		case i > 0:
			n = prev + 1
		case hint > 0:
			n = hint
		default:
			return nil, p.errf(s.pagLine, "pagination", "cannot tell which page of %d this file holds; name it STEM.pN.txt", s.pag.total())
		}
		if i == 0 && hint > 0 && n != hint {
			return nil, p.errf(s.pagLine, "pagination", "file name says page %d but the pagination says page %d", hint, n)
		}
		if n <= prev {
			return nil, p.errf(s.pagLine, "pagination", "page %d follows page %d", n, prev)
		}
		prev = n
		if s.pag != nil {
			a.TotalPages = max(a.TotalPages, s.pag.total())
		}
		a.TotalPages = max(a.TotalPages, n)
		paras := s.paras
		if n == 1 {
			paras = doc.readLead(paras)
		}
		if len(paras) == 0 {
			continue
		}
		pg := article.Page{Number: n}
		for _, l := range paras {
			pg.Paragraphs = append(pg.Paragraphs, l.text)
		}
		a.Body = append(a.Body, pg)
		doc.Pages = append(doc.Pages, n)
	}
	if a.TotalPages <= 1 && len(a.Body) <= 1 {
		a.TotalPages = 1
	}
	if a.Dateline == "" && len(a.Body) > 0 {
		// Agency copy opens with its dateline: "NANJING -- Passenger ferries…".
		if m := agencyDatelineRe.FindStringSubmatch(a.Body[0].Paragraphs[0]); m != nil {
			a.Dateline = source.TitleCase(m[1])
		}
	}
	if doc.PhotoURL != "" {
		a.Photo = &article.Photo{URL: doc.PhotoURL, Caption: doc.Caption, Credit: doc.Credit}
	}
	text := []string{a.Headline, a.Deck}
	for _, pg := range a.Body {
		text = append(text, pg.Paragraphs...)
	}
	a.Language = source.DetectLanguage(text...)
	return doc, nil
}

// skipRepeatedHeader skips the headline and byline a later page repeats
// after its breadcrumb (p.pos is just after the breadcrumb). When no byline
// follows within a few lines, nothing is skipped.
func (p *parser) skipRepeatedHeader() {
	seen := 0
	for i := p.pos; i < len(p.lines) && seen < 5; i++ {
		t := p.lines[i].text
		if t == "" {
			continue
		}
		seen++
		if looksLikeByline(t) {
			p.pos = i + 1
			return
		}
	}
}

// readLead takes the caption, deck and editor's note off the front of page
// 1's paragraphs and returns the body that follows.
func (d *Document) readLead(paras []line) []line {
	a := &d.Article
	i := 0
	if i < len(paras) {
		if caption, credit, ok := splitCaption(paras[i].text); ok {
			d.Caption, d.Credit = caption, credit
			i++
		}
	}
	for i < len(paras) {
		t := paras[i].text
		if m := noteRe.FindStringSubmatch(t); m != nil && a.EditorsNote == "" {
			note := strings.TrimSpace(m[1] + m[2])
			if note == "" && i+1 < len(paras) {
				// "Editor's note:" alone, the note on the next line.
				i++
				note = paras[i].text
			}
			a.EditorsNote = note
			i++
			continue
		}
		if a.Deck == "" && i+1 < len(paras) && !noteRe.MatchString(t) {
			nextIsNote := noteRe.MatchString(paras[i+1].text) && a.EditorsNote == ""
			if nextIsNote || (!terminalRe.MatchString(t) && utf8.RuneCountInString(t) < 300) {
				a.Deck = t
				i++
				continue
			}
		}
		break
	}
	return paras[i:]
}

// splitCaption recognises a photo caption with its credit: "Text. CREDIT
// IN CAPITALS" or "Text [Photo by NAME/for China Daily]".
func splitCaption(t string) (caption, credit string, ok bool) {
	if m := bracketCapRe.FindStringSubmatch(t); m != nil {
		return strings.TrimSpace(m[1]), strings.TrimSpace(m[2]), true
	}
	if m := capsCreditRe.FindStringSubmatch(t); m != nil {
		letters := 0
		for _, r := range m[2] {
			if r >= 'A' && r <= 'Z' || r > 0x7f {
				letters++
			}
		}
		if letters >= 4 {
			return strings.TrimSpace(m[1]), strings.TrimSpace(m[2]), true
		}
	}
	return "", "", false
}

// String summarises a document for debugging.
func (d *Document) String() string {
	return fmt.Sprintf("%s [%s] pages %v of %d", d.Article.Headline, d.Article.Section, d.Pages, d.Article.TotalPages)
}
