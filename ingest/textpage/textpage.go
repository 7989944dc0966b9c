// Package textpage parses the publisher's plain-text article page: the text
// a browser gives when one copies a whole article page, site chrome and all.
//
//	Global Edition ASIA 中文 …                    ← chrome, ignored
//	Home / China / Society                         ← breadcrumb: section
//	Powerhouse in the making                       ← headline
//	By HE WEI in Shanghai | China Daily | Updated: 2019-04-24 20:12
//	Share                                          ← chrome
//	Share - WeChat                                 ← chrome
//	Caption text. PROVIDED TO CHINA DAILY          ← caption + credit
//	Deck without a final full stop                 ← deck
//	Editor's note: …                               ← editor's note
//	Body paragraph, one a line …                   ← (a short line without a
//	                                                  full stop: a sub-head)
//	1 2 Next >>|                                   ← pagination: page 1 of 2
//	Copyright 1995 - … / Related Stories / - …      ← chrome, ignored
//
// docs/formats.md describes the format, its variants (the 2015 layout,
// bylines over several lines, credits, chrome) and the multi-page
// conventions in full.
package textpage

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/ingest/source"
)

// Document is one parsed file.
type Document struct {
	// Article holds everything the page gives. ID, GUID and Published are
	// left empty: the importer sets the ID and GUID, and article.Merge sets
	// Published to Updated when the article is first stored. For a
	// Continuation only Body, TotalPages and what the page shows (section,
	// editor's note) are set.
	Article article.Article
	// Caption and Credit are the lead photo's caption and credit (the
	// first caption of the file's first page) as the page shows them, even
	// when the page gives no photo URL. Article.Photo carries them, with
	// the URL of an "Image: URL" line when there is one.
	Caption, Credit string
	// Captions lists every photo caption the file holds, page by page;
	// none of them is body text.
	Captions []Caption
	// PhotoURL comes from an "Image: https://…" (or "Photo: …") line.
	PhotoURL string
	// Pages lists the page numbers this file holds, ascending.
	Pages []int
	// HeaderLine is the line of the byline, for error messages (0 for a
	// Continuation).
	HeaderLine int
	// Continuation is set for a later page (named STEM.pN.txt, N ≥ 2) that
	// has no byline: it has no header of its own and must be imported with
	// the file holding page 1 (FirstPageName).
	Continuation bool
}

// Caption is one photo caption and its credit on page Page.
type Caption struct {
	Page            int
	Caption, Credit string
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

// FirstPageName is the file that holds page 1 of the article a page file
// belongs to: "dir/a.p2.txt" → "dir/a.txt".
func FirstPageName(name string) string {
	stem, _ := PageOfName(name)
	dir := ""
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		dir = name[:i+1]
	}
	ext := ".txt"
	if i := strings.LastIndexByte(name, '.'); i > len(dir) {
		ext = name[i:]
	}
	return dir + stem + ext
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
	// pubInBracketsRe is the 2015 layout's publication glued to the place:
	// "By NAME in New York(China Daily USA)".
	pubInBracketsRe = regexp.MustCompile(`\s*[(（]([^()（）]+)[)）]\s*$`)
	barLineRe       = regexp.MustCompile(`^[|\s]+$`)
	// chromeRe is site chrome wherever it stands.
	chromeRe = regexp.MustCompile(`^Share(\s*-\s*(WeChat)?)?$|^(?i:global\s*edition)|^(?i:copyright)\b.*(?i:all rights reserved|\b1995\b)|` +
		`^(?i:license for publishing multimedia)|^(?i:registration number)|^(?i:note: browsers with)|^版权所有|` +
		`^(?i:back to the top|follow us)$`)
	// relatedRe opens a list of related links (lines starting "- ").
	relatedRe = regexp.MustCompile(`^(?i:related (stories|news|articles))$|^相关(新闻|阅读)$`)
	// trailerRe is chrome after a pagination line: a page's foot.
	trailerRe        = regexp.MustCompile(`^(?i:top|english)$|^中文$|^- `)
	paginationRe     = regexp.MustCompile(`^(?:\|?\s*<<\s*)?(Previous|上一页)?\s*((?:\d+\s+)*\d+)\s*(Next|下一页)?(?:\s*>>\s*\|?)?$`)
	imageRe          = regexp.MustCompile(`^(?i:image|photo)\s*[:：]\s*(https?://\S+)$`)
	noteRe           = regexp.MustCompile(`^(?i:editor['’‘` + "`" + `]?s\s*note)\s*(?:[:：]\s*(.*)|$)|^编者按\s*[:：]?\s*(.*)$`)
	bracketCapRe     = regexp.MustCompile(`^(.*?)\s*[\[【]\s*((?i:photos?|images?|video|图|图片|摄影|视频)[^\]】]*?)\s*[\]】]$`)
	capsCreditRe     = regexp.MustCompile(`^(.*[.!?。！？"”)）])\s+(\p{Lu}[\p{Lu}\d .,'’&/-]*\p{Lu})$`)
	tailCreditRe     = regexp.MustCompile(`^(.*[.!?。！？"”)）])\s+((?i:photos?\s+(?:by|provided|courtesy|from)|provided\s+to|courtesy\s+of)\s[^.!?。]{2,80}?)\s*\|?$`)
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

// siteName maps a publication given as the publisher's web address to
// its name.
func siteName(pub string) string {
	switch strings.ToLower(strings.TrimPrefix(strings.ToLower(pub), "www.")) {
	case "chinadaily.com.cn", "chinadaily.com":
		return "China Daily"
	}
	return pub
}

// Parse reads one file. name is used in errors and, through PageOfName,
// as a hint for which page the file holds when its pagination cannot say.
// Times are read in zone (the newsroom's, from configuration; UTC when
// nil).
func Parse(name string, data []byte, zone *time.Location) (*Document, error) {
	_, hint := PageOfName(name)
	lines, err := splitLines(name, data)
	if err != nil {
		return nil, err
	}
	if zone == nil {
		zone = time.UTC
	}
	p := &parser{name: name, lines: lines, zone: zone}
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
		// CleanSpace also drops the indentation of pages saved from
		// mirror sites.
		out = append(out, line{n: i + 1, text: source.CleanSpace(raw)})
	}
	return out, nil
}

type parser struct {
	name  string
	lines []line
	pos   int
	zone  *time.Location
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

// errNoByline marks a header without a byline: on a later page file, the
// page is a continuation.
type errNoByline struct{ error }

func (e errNoByline) Unwrap() error { return e.error }

// findBreadcrumb returns the index of the first breadcrumb line at or
// after p.pos, or -1.
func (p *parser) findBreadcrumb() int {
	for i := p.pos; i < len(p.lines); i++ {
		if breadcrumbRe.MatchString(p.lines[i].text) {
			return i
		}
	}
	return -1
}

func sectionOf(crumb string) string {
	parts := crumbSplitRe.Split(crumb, -1)
	last := parts[len(parts)-1]
	if s, ok := zhSection(last); ok {
		return s
	}
	return source.Slugify(last)
}

// readHeader reads breadcrumb, headline and byline starting at p.pos, after
// skipping chrome. It leaves p.pos after the byline.
func (p *parser) readHeader() (*header, error) {
	crumb := p.findBreadcrumb()
	if crumb < 0 {
		return nil, errNoByline{p.errf(1, "breadcrumb", "no 'Home / … / Section' line")}
	}
	h := &header{section: sectionOf(p.lines[crumb].text)}
	if h.section == "" {
		return nil, p.errf(p.lines[crumb].n, "section", "no section name at the end of breadcrumb %q", p.lines[crumb].text)
	}
	head, byline := p.headlineLines(crumb + 1)
	if byline < 0 {
		return nil, errNoByline{p.errf(p.lines[crumb].n, "byline", "no byline ('By NAME in PLACE | Publication | Updated: YYYY-MM-DD HH:MM') in the lines after the breadcrumb")}
	}
	bl := p.lines[byline]
	if len(head) == 0 {
		return nil, p.errf(bl.n, "headline", "missing between breadcrumb (line %d) and byline", p.lines[crumb].n)
	}
	h.headline = strings.Join(head, " ")
	h.bylineLine = bl.n
	text, end := p.bylineBlock(byline)
	if err := p.parseByline(line{n: bl.n, text: text}, h); err != nil {
		return nil, err
	}
	p.pos = end
	return h, nil
}

// headlineLines returns the (at most three) headline lines from index from
// and the index of the byline after them, -1 when none follows.
func (p *parser) headlineLines(from int) ([]string, int) {
	var head []string
	for i := from; i < len(p.lines); i++ {
		t := p.lines[i].text
		if t == "" {
			continue
		}
		if looksLikeByline(t) {
			return head, i
		}
		if len(head) == 3 {
			break
		}
		head = append(head, t)
	}
	return head, -1
}

// looksLikeByline: a line starting "By …" or "Updated: …", or fields
// separated by "|" of which one is a time or a "By" field (a caption
// ending "… for China Daily |" is not a byline).
func looksLikeByline(t string) bool {
	if byRe.MatchString(t) || updatedRe.MatchString(t) {
		return true
	}
	if !strings.Contains(t, "|") {
		return false
	}
	if _, _, ok := splitCaption(t, false); ok {
		return false
	}
	for _, f := range strings.Split(t, "|") {
		f = strings.TrimSpace(f)
		if updatedRe.MatchString(f) || bareTimeRe.MatchString(f) || byRe.MatchString(f) {
			return true
		}
	}
	return false
}

// bylineBlock joins the lines of a byline that spans several: a line
// ending with "|" continues on the next ("By A, B and C |" /
// "chinadaily.com.cn |" / "Updated: …"); the 2015 layout's "Updated: …"
// line is followed by "By NAME in PLACE(Publication)" and lines of "|".
// It returns the joined fields and the index after the block.
func (p *parser) bylineBlock(start int) (string, int) {
	text := p.lines[start].text
	open := strings.HasSuffix(text, "|") // the line goes on on the next
	onlyUpdated := updatedRe.MatchString(text)
	updated := hasUpdated(text)
	i := start + 1
	for {
		j := i
		for j < len(p.lines) && p.lines[j].text == "" {
			j++
		}
		if j == len(p.lines) {
			return text, i
		}
		next := p.lines[j].text
		switch {
		case barLineRe.MatchString(next):
			// separator lines of "|" (2015 layout): nothing to add
		case open && parsePagination(next) == nil,
			onlyUpdated && byRe.MatchString(next),
			!updated && updatedRe.MatchString(next):
			text += " | " + next
			open = strings.HasSuffix(next, "|")
			onlyUpdated = false
			updated = updated || hasUpdated(next)
		default:
			return text, i
		}
		i = j + 1
	}
}

func hasUpdated(byline string) bool {
	for _, f := range strings.Split(byline, "|") {
		f = strings.TrimSpace(f)
		if updatedRe.MatchString(f) || bareTimeRe.MatchString(f) {
			return true
		}
	}
	return false
}

func (p *parser) parseByline(bl line, h *header) error {
	var rest []string
	var byField string
	for _, f := range strings.Split(bl.text, "|") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if t, ok, err := p.stamp(f); err != nil {
			return p.errf(bl.n, "byline", "%v", err)
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
		rest = append(rest, sourceRe.ReplaceAllString(f, ""))
	}
	if h.updated.IsZero() {
		return p.errf(bl.n, "byline", "no 'Updated:' time in %q", bl.text)
	}
	if m := pubInBracketsRe.FindStringSubmatchIndex(byField); m != nil {
		// "By NAME in PLACE(China Daily USA)": the publication in brackets.
		rest = append(rest, byField[m[2]:m[3]])
		byField = byField[:m[0]]
	}
	if len(rest) > 0 {
		h.publication = siteName(publicationCase(rest[0]))
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

// stamp reads a byline field that gives the time: "Updated: 2019-04-24
// 20:12" or a bare "2019-04-24 20:12". ok is false for other fields.
func (p *parser) stamp(f string) (t time.Time, ok bool, err error) {
	if m := updatedRe.FindStringSubmatch(f); m != nil {
		ts := m[1] + m[2]
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
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, p.zone); err == nil {
			return t, nil
		}
	}
	return source.ParseTime(s, p.zone)
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

// parse runs the steps: header (or, for a later page without byline, the
// continuation header), pages, page numbers, each page's lead and body.
func (p *parser) parse(hint int) (*Document, error) {
	doc := &Document{}
	if err := p.header(doc, hint); err != nil {
		return nil, err
	}
	segs := p.splitPages(doc)
	numbers, err := p.numberPages(segs, hint, &doc.Article)
	if err != nil {
		return nil, err
	}
	for i, s := range segs {
		doc.addPage(numbers[i], s.paras)
	}
	if !doc.Continuation && doc.Article.TotalPages <= 1 && len(doc.Article.Body) <= 1 {
		doc.Article.TotalPages = 1
	}
	doc.finish()
	return doc, nil
}

// header reads the page header into doc. A file named as a later page
// (STEM.pN.txt, N ≥ 2) without a byline is a continuation: its breadcrumb
// and repeated headline, if any, are skipped.
func (p *parser) header(doc *Document, hint int) error {
	h, err := p.readHeader()
	var nb errNoByline
	if errors.As(err, &nb) {
		if hint >= 2 {
			doc.Continuation = true
			p.skipContinuationHeader(&doc.Article)
			return nil
		}
		return nb.error
	}
	if err != nil {
		return err
	}
	doc.HeaderLine = h.bylineLine
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
	return nil
}

// skipContinuationHeader skips, on a later page without byline, the
// breadcrumb and the headline lines the page repeats under it (up to
// three lines that neither end like a sentence nor are a caption or note).
func (p *parser) skipContinuationHeader(a *article.Article) {
	crumb := p.findBreadcrumb()
	if crumb < 0 {
		return
	}
	a.Section = sectionOf(p.lines[crumb].text)
	p.pos = crumb + 1
	for taken := 0; p.pos < len(p.lines) && taken < 3; p.pos++ {
		t := p.lines[p.pos].text
		if t == "" || chromeRe.MatchString(t) {
			continue
		}
		if _, _, ok := splitCaption(t, true); ok || terminalRe.MatchString(t) || noteRe.MatchString(t) || parsePagination(t) != nil {
			return
		}
		taken++
	}
}

// splitPages cuts the lines after the header into pages at pagination
// lines, dropping chrome, the header a later page repeats, and the foot
// after a pagination line (related stories, "Top", language links…).
func (p *parser) splitPages(doc *Document) []*segment {
	var segs []*segment
	cur := &segment{}
	var after *pagination // the last pagination line while in its page foot
	related := false
	for ; p.pos < len(p.lines); p.pos++ {
		l := p.lines[p.pos]
		t := l.text
		switch {
		case t == "", chromeRe.MatchString(t), barLineRe.MatchString(t):
			continue
		case relatedRe.MatchString(t):
			related = true
			continue
		case related && strings.HasPrefix(t, "- "):
			continue
		case imageRe.MatchString(t):
			if doc.PhotoURL == "" {
				doc.PhotoURL = imageRe.FindStringSubmatch(t)[1]
			}
			continue
		}
		related = false
		if pg := parsePagination(t); pg != nil {
			cur.pag, cur.pagLine = pg, l.n
			segs = append(segs, cur)
			cur, after = &segment{}, pg
			continue
		}
		if breadcrumbRe.MatchString(t) && len(segs) > 0 {
			// A later page repeats breadcrumb, headline and byline.
			p.skipRepeatedHeader()
			after = nil
			continue
		}
		if after != nil && (!after.next || trailerRe.MatchString(t)) {
			// The foot of a page; after the last page, everything.
			continue
		}
		after = nil
		cur.paras = append(cur.paras, l)
	}
	if len(cur.paras) > 0 || len(segs) == 0 {
		segs = append(segs, cur)
	}
	return segs
}

// numberPages gives each segment its page number, from its pagination
// line and the file name's hint, and sets a.TotalPages.
func (p *parser) numberPages(segs []*segment, hint int, a *article.Article) ([]int, error) {
	numbers := make([]int, len(segs))
	prev := 0
	for i, s := range segs {
		n, err := p.pageNumber(s, i, prev, hint)
		if err != nil {
			return nil, err
		}
		if i == 0 && hint > 0 && n != hint {
			return nil, p.errf(s.pagLine, "pagination", "file name says page %d but the pagination says page %d", hint, n)
		}
		if n <= prev {
			return nil, p.errf(s.pagLine, "pagination", "page %d follows page %d", n, prev)
		}
		prev, numbers[i] = n, n
		if s.pag != nil {
			a.TotalPages = max(a.TotalPages, s.pag.total())
		}
		a.TotalPages = max(a.TotalPages, n)
	}
	return numbers, nil
}

func (p *parser) pageNumber(s *segment, i, prev, hint int) (int, error) {
	switch {
	case s.pag == nil:
		if i == 0 && hint > 0 {
			return hint, nil
		}
		return prev + 1, nil
	case !s.pag.prev:
		if len(s.pag.numbers) > 0 {
			return s.pag.numbers[0], nil
		}
		return 1, nil
	case !s.pag.next:
		return s.pag.total(), nil
	case i > 0:
		return prev + 1, nil
	case hint > 0:
		return hint, nil
	}
	return 0, p.errf(s.pagLine, "pagination", "cannot tell which page of %d this file holds; name it STEM.pN.txt", s.pag.total())
}

// addPage reads page n's lead (captions, editor's note, and on page 1 the
// deck) and body, and appends it when it has any body.
func (d *Document) addPage(n int, paras []line) {
	body := d.readLead(n, paras)
	pg := article.Page{Number: n}
	for i := 0; i < len(body); i++ {
		t := body[i].text
		if note, skip, ok := noteAt(body, i); ok {
			d.setNote(note)
			i += skip
			continue
		}
		if caption, credit, ok := splitCaption(t, false); ok {
			d.addCaption(n, caption, credit)
			continue
		}
		if isSubhead(t) && i+1 < len(body) {
			pg.Subheads = append(pg.Subheads, len(pg.Paragraphs))
		}
		pg.Paragraphs = append(pg.Paragraphs, t)
	}
	if len(pg.Paragraphs) == 0 {
		return
	}
	d.Article.Body = append(d.Article.Body, pg)
	d.Pages = append(d.Pages, n)
}

// readLead takes the caption, editor's note and (page 1 only) the deck off
// the front of a page's paragraphs, in any order, and returns the rest.
func (d *Document) readLead(n int, paras []line) []line {
	a := &d.Article
	var caption, note, deck bool
	i := 0
	for i < len(paras) {
		t := paras[i].text
		if c, cr, ok := splitCaption(t, true); ok && !caption {
			d.addCaption(n, c, cr)
			caption = true
			i++
			continue
		}
		if text, skip, ok := noteAt(paras, i); ok && !note {
			d.setNote(text)
			note = true
			i += skip + 1
			continue
		}
		if n == 1 && !deck && a.Deck == "" && i+1 < len(paras) && isDeck(t, paras[i+1].text, note || a.EditorsNote != "") {
			a.Deck = t
			deck = true
			i++
			continue
		}
		break
	}
	return paras[i:]
}

// isDeck: the deck is followed by the editor's note, or does not end like
// a sentence and is under 300 characters.
func isDeck(t, next string, haveNote bool) bool {
	if noteRe.MatchString(t) {
		return false
	}
	return (noteRe.MatchString(next) && !haveNote) || (!terminalRe.MatchString(t) && utf8.RuneCountInString(t) < 300)
}

// noteAt reads an editor's note at paras[i]; when the line holds only
// "Editor's note:", the note is the next line (skip is then 1).
func noteAt(paras []line, i int) (note string, skip int, ok bool) {
	m := noteRe.FindStringSubmatch(paras[i].text)
	if m == nil {
		return "", 0, false
	}
	note = strings.TrimSpace(m[1] + m[2])
	if note == "" && i+1 < len(paras) {
		return paras[i+1].text, 1, true
	}
	return note, 0, true
}

// setNote adds an editor's note to the article's.
func (d *Document) setNote(note string) {
	d.Article.EditorsNote = JoinNotes(d.Article.EditorsNote, note)
}

// JoinNotes adds editor's note b to note a: later pages repeat the note,
// which adds nothing; a different note (a correction, say) is appended.
func JoinNotes(a, b string) string {
	switch {
	case b == "" || strings.Contains(a, b):
		return a
	case a == "":
		return b
	}
	return a + " " + b
}

func (d *Document) addCaption(page int, caption, credit string) {
	if len(d.Captions) == 0 {
		d.Caption, d.Credit = caption, credit
	}
	d.Captions = append(d.Captions, Caption{Page: page, Caption: caption, Credit: credit})
}

// isSubhead: a short line (at most 10 words, 60 characters) that does not
// end like a sentence, inside the body.
func isSubhead(t string) bool {
	if terminalRe.MatchString(t) || strings.HasPrefix(t, "- ") || strings.ContainsAny(t, "@|") || strings.Contains(t, "://") {
		return false
	}
	letters := false
	for _, r := range t {
		if unicode.IsLetter(r) {
			letters = true
			break
		}
	}
	return letters && utf8.RuneCountInString(t) <= 60 && len(strings.Fields(t)) <= 10
}

// finish sets what follows from the whole document: the agency dateline,
// the photo, the language.
func (d *Document) finish() {
	a := &d.Article
	if a.Dateline == "" && len(a.Body) > 0 && !d.Continuation {
		// Agency copy opens with its dateline: "NANJING -- Passenger ferries…".
		if m := agencyDatelineRe.FindStringSubmatch(a.Body[0].Paragraphs[0]); m != nil {
			a.Dateline = source.TitleCase(m[1])
		}
	}
	if (d.PhotoURL != "" || d.Caption != "" || d.Credit != "") && !d.Continuation {
		a.Photo = &article.Photo{URL: d.PhotoURL, Caption: d.Caption, Credit: d.Credit}
	}
	text := []string{a.Headline, a.Deck}
	for _, pg := range a.Body {
		text = append(text, pg.Paragraphs...)
	}
	a.Language = source.DetectLanguage(text...)
}

// skipRepeatedHeader skips the headline and byline a later page repeats
// after its breadcrumb (p.pos is at the breadcrumb). When no byline
// follows within a few lines, nothing is skipped.
func (p *parser) skipRepeatedHeader() {
	seen := 0
	for i := p.pos + 1; i < len(p.lines) && seen < 5; i++ {
		t := p.lines[i].text
		if t == "" {
			continue
		}
		seen++
		if looksLikeByline(t) {
			_, end := p.bylineBlock(i)
			p.pos = end - 1
			return
		}
	}
}

// splitCaption recognises a photo caption with its credit: "Text [Photo by
// NAME/for China Daily]" (any case), "Text. Photo provided to CHINA DAILY",
// "Text. Photos by NAME for China Daily |", and, when lead is set (the
// first lines of a page), "Text. CREDIT IN CAPITALS".
func splitCaption(t string, lead bool) (caption, credit string, ok bool) {
	if m := bracketCapRe.FindStringSubmatch(t); m != nil {
		return strings.TrimSpace(m[1]), strings.TrimSpace(m[2]), true
	}
	if m := tailCreditRe.FindStringSubmatch(t); m != nil {
		return strings.TrimSpace(m[1]), strings.TrimSpace(m[2]), true
	}
	if !lead {
		return "", "", false
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
