// Package textpage parses the publisher's plain-text article page: the text
// a browser gives when one copies a whole article page, site chrome and all,
// or a copy of it made by a reader mode, a text extractor or a mirror site
// (no menu, no breadcrumb, a line of the mirror's own, cut short).
//
//	Global Edition ASIA 中文 …                    ← chrome, dropped
//	Home / China / Society                         ← breadcrumb: section path
//	Powerhouse in the making                       ← headline
//	By HE WEI in Shanghai | China Daily | Updated: 2019-04-24 20:12
//	Share                                          ← chrome
//	Caption text. PROVIDED TO CHINA DAILY          ← caption + credit
//	Deck without a final full stop                 ← deck
//	Editor's note: …                               ← editor's note
//	Body paragraph, one a line …                   ← (a short line without a
//	                                                  full stop: a sub-head)
//	1 2 Next >>|                                   ← pagination: page 1 of 2
//	Copyright 1995 - … / Related Stories / - …      ← chrome, dropped
//
// The header is found from the byline, not from the top (see header.go).
// docs/formats.md describes the layouts from 2007 to today and the
// multi-page conventions in full. The parser knows no configuration: the
// importer resolves the breadcrumb to a configured section.
package textpage

import (
	"bytes"
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
	// Article holds everything the page gives. ID, GUID, Section and
	// Published are left empty: the importer sets the ID and GUID, resolves
	// the section from Breadcrumb (or Label), and article.Merge sets
	// Published to Updated when the article is first stored. For a
	// Continuation only Body, TotalPages and the editor's note are set.
	Article article.Article
	// Caption and Credit are the lead photo's caption and credit (the
	// first caption of the file's first page) as the page shows them, even
	// when the page gives no photo URL. Article.Photo carries them, with
	// the URL of an "Image: URL" line when there is one.
	Caption, Credit string
	// Captions lists every photo caption the file holds, page by page;
	// none of them is body text. The first is the lead photo
	// (Article.Photo); the others are in their page's Photos.
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
	// Breadcrumb is the section path the page prints, without "Home"
	// ("Home / China / Society" → China, Society), on line BreadcrumbLine;
	// nil when the copy has none.
	Breadcrumb     []string
	BreadcrumbLine int
	// Label is, when there is no breadcrumb, a short line above the
	// headline that may name the section ("From the Readers"), on line
	// LabelLine. It names one only when configured so.
	Label     string
	LabelLine int
	// Dropped lists every non-blank line left out as chrome (menus,
	// toolbars, side columns, page feet, a headline repeated as a photo's
	// alternative text, a mirror's own lines), with the reason.
	Dropped []Dropped
	// TruncatedLine, when not 0, is the line of the last paragraph of a
	// copy that stops in the middle of it: the copy looks cut short.
	TruncatedLine int
	// LeadPage is the page the lead photo stands on (0: none).
	LeadPage int
}

// Dropped is a line the parser left out, and why.
type Dropped struct {
	Line int    `json:"line"`
	Text string `json:"text"`
	Why  string `json:"why"`
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

func (d *Document) drop(l line, why string) {
	d.Dropped = append(d.Dropped, Dropped{Line: l.n, Text: l.text, Why: why})
}

type segment struct {
	paras   []line
	pag     *pagination
	pagLine int
}

type pagination struct {
	numbers    []int
	prev, next bool
	// bare: the line shows neither Previous nor Next ("1 2 3 4 5 6 7",
	// "1234"), so it does not say which page this is.
	bare bool
}

func parsePagination(t string) *pagination {
	if m := arrowsPageRe.FindStringSubmatch(t); m != nil {
		return numbersPagination(m[1])
	}
	if m := paginationRe.FindStringSubmatch(t); m != nil {
		if m[1] == "" && m[3] == "" {
			return numbersPagination(m[2])
		}
		pg := &pagination{prev: m[1] != "", next: m[3] != ""}
		// The older site printed "Previous Page … Next Page" on every
		// page, first and last too: it does not say which page this is.
		pg.bare = pg.prev && pg.next && strings.Contains(strings.ToLower(t), "next page")
		for _, f := range strings.Fields(m[2]) {
			n, err := strconv.Atoi(f)
			if err != nil || n <= 0 || n > 999 {
				return nil
			}
			pg.numbers = append(pg.numbers, n)
		}
		return pg
	}
	return nil
}

// numbersPagination reads the pagination of the older and regional pages,
// numbers only: "1 2 3 4 5 6 7", or run together, "1234". They must count
// up from 1, so that no paragraph of digits passes for one.
func numbersPagination(s string) *pagination {
	f := strings.Fields(s)
	if len(f) == 1 && len(f[0]) >= 2 && len(f[0]) <= 9 {
		f = strings.Split(f[0], "")
	}
	if len(f) < 2 {
		return nil
	}
	pg := &pagination{bare: true}
	for i, x := range f {
		n, err := strconv.Atoi(x)
		if err != nil || n != i+1 {
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
	segs, last := p.splitPages(doc)
	numbers, err := p.numberPages(segs, hint, &doc.Article)
	if err != nil {
		return nil, err
	}
	for i, s := range segs {
		doc.addPage(numbers[i], s.paras)
	}
	if hint > 0 && len(doc.Pages) > 0 && doc.Pages[0] != hint {
		return nil, p.errf(segs[0].pagLine, "pagination", "file name says page %d but the file holds no text of it (its text starts on page %d)", hint, doc.Pages[0])
	}
	if !doc.Continuation && doc.Article.TotalPages <= 1 && len(doc.Article.Body) <= 1 {
		doc.Article.TotalPages = 1
	}
	doc.cutShort(segs, last)
	doc.finish()
	return doc, nil
}

// header reads the page header into doc. A file named as a later page
// (STEM.pN.txt, N ≥ 2) without a byline is a continuation: its breadcrumb
// and repeated headline, if any, are skipped.
func (p *parser) header(doc *Document, hint int) error {
	k := p.findByline(0)
	if k < 0 {
		if hint >= 2 {
			doc.Continuation = true
			p.skipContinuationHeader(doc)
			return nil
		}
		first := 1
		for _, l := range p.lines {
			if l.text != "" {
				first = l.n
				break
			}
		}
		return p.errf(first, "byline", "no byline and no 'Updated:' time on the page: want 'By NAME | Publication | Updated: YYYY-MM-DD HH:MM' (or 'Updated: …' alone) under the headline")
	}
	h, err := p.readHeader(doc, k)
	if err != nil {
		return err
	}
	doc.HeaderLine = h.bylineLine
	a := &doc.Article
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

// splitPages cuts the lines after the header into pages at pagination
// lines, dropping chrome wherever it stands: toolbars, side columns (a
// heading such as "Today's Top News", its list, a teaser right under it),
// the headline repeated as a photo's alternative text, the header a later
// page repeats, and a page's foot (after a pagination line, the print
// edition's source line or a share counter). last is the index of the
// last line that is a paragraph, -1 when there is none.
func (p *parser) splitPages(doc *Document) (segs []*segment, last int) {
	cur := &segment{}
	var after *pagination // the last pagination line while in its page foot
	side, underHeading, foot := false, false, false
	headline := doc.Article.Headline
	last = -1
	for ; p.pos < len(p.lines); p.pos++ {
		l := p.lines[p.pos]
		t := l.text
		if t == "" {
			underHeading = false
			continue
		}
		if pg := parsePagination(t); pg != nil {
			cur.pag, cur.pagLine = pg, l.n
			segs = append(segs, cur)
			cur, after, side, foot = &segment{}, pg, false, false
			continue
		}
		if _, ok := isBreadcrumb(t); ok && homeCrumbRe.MatchString(t) && (len(segs) > 0 || foot) {
			// A later page repeats breadcrumb, headline and byline.
			doc.drop(l, "header repeated on a later page")
			p.skipRepeatedHeader(doc)
			after, side, foot = nil, false, false
			continue
		}
		if foot {
			if sameText(t, headline) || headline != "" && p.isAnchor(p.pos) {
				// A later page copied after this one's foot.
				foot = false
			} else {
				doc.drop(l, "page foot")
				continue
			}
		}
		if copyrightRe.MatchString(t) {
			doc.drop(l, "site footer")
			foot = true
			continue
		}
		if why, chrome := isChrome(t); chrome {
			doc.drop(l, why)
			continue
		}
		switch {
		case footRe.MatchString(t):
			doc.drop(l, "end of the article's text (print source or share counter)")
			foot = true
			continue
		case sideRe.MatchString(t):
			doc.drop(l, "side column or related links")
			side, underHeading = true, true
			continue
		case side && listItemRe.MatchString(t):
			doc.drop(l, "side column or related links")
			underHeading = false
			continue
		case underHeading:
			doc.drop(l, "side column teaser")
			underHeading = false
			continue
		case sameText(t, headline):
			doc.drop(l, "headline repeated (a photo's alternative text)")
			if after != nil && after.bare {
				// An older page copied after one whose pagination did
				// not say whether more follow: its header starts a page.
				after = nil
			}
			continue
		case imageRe.MatchString(t):
			if doc.PhotoURL == "" {
				doc.PhotoURL = imageRe.FindStringSubmatch(t)[1]
			}
			continue
		}
		side = false
		if headline != "" && (len(segs) > 0 || len(cur.paras) > 0) && p.isAnchor(p.pos) {
			// A later page run together without its breadcrumb repeats
			// the byline.
			_, end, _ := p.bylineBlock(p.pos)
			for i := p.pos; i < end; i++ {
				if p.lines[i].text != "" {
					doc.drop(p.lines[i], "byline repeated on a later page")
				}
			}
			p.pos, after = end-1, nil
			continue
		}
		if after != nil && (!after.next || after.bare || trailerRe.MatchString(t)) {
			// The foot of a page; after the last page (or a pagination
			// line that does not say), everything up to a repeated header.
			doc.drop(l, "page foot")
			continue
		}
		after = nil
		cur.paras = append(cur.paras, l)
		last = p.pos
	}
	if len(cur.paras) > 0 || len(segs) == 0 {
		segs = append(segs, cur)
	}
	for _, s := range segs {
		s.paras = dropTrailingLinks(doc, s.paras)
	}
	return segs, last
}

// dropTrailingLinks drops a run of three or more "- " lines ending a page:
// the related links a mirror copies without their heading.
func dropTrailingLinks(doc *Document, paras []line) []line {
	i := len(paras)
	for i > 0 && strings.HasPrefix(paras[i-1].text, "- ") {
		i--
	}
	if len(paras)-i < 3 {
		return paras
	}
	for _, l := range paras[i:] {
		doc.drop(l, "related links")
	}
	return paras[:i]
}

// skipRepeatedHeader skips the headline and byline a later page repeats
// after its breadcrumb (p.pos is at the breadcrumb). When no byline
// follows within a few lines, nothing is skipped.
func (p *parser) skipRepeatedHeader(doc *Document) {
	seen := 0
	for i := p.pos + 1; i < len(p.lines) && seen < 5; i++ {
		if p.lines[i].text == "" {
			continue
		}
		seen++
		if p.isAnchor(i) {
			_, end, _ := p.bylineBlock(i)
			for j := p.pos + 1; j < end; j++ {
				if p.lines[j].text != "" {
					doc.drop(p.lines[j], "header repeated on a later page")
				}
			}
			p.pos = end - 1
			return
		}
	}
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
	case s.pag == nil, s.pag.bare:
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
// deck) and body, and appends it when it has a paragraph or a photo.
func (d *Document) addPage(n int, paras []line) {
	pg := article.Page{Number: n}
	body := d.readLead(n, paras, &pg)
	for i := 0; i < len(body); i++ {
		t := body[i].text
		if note, skip, ok := noteAt(body, i); ok {
			d.setNote(note)
			i += skip
			continue
		}
		if caption, credit, ok := splitCaption(t, false); ok {
			d.addCaption(&pg, caption, credit)
			continue
		}
		if isSubhead(t) && i+1 < len(body) {
			pg.Subheads = append(pg.Subheads, len(pg.Paragraphs))
		}
		pg.Paragraphs = append(pg.Paragraphs, t)
	}
	if len(pg.Paragraphs) == 0 && len(pg.Photos) == 0 {
		return
	}
	d.Article.Body = append(d.Article.Body, pg)
	d.Pages = append(d.Pages, n)
}

// readLead takes the captions, editor's note and (page 1 only) the deck
// off the front of a page's paragraphs, in any order, and returns the
// rest. A later page repeating the deck repeats nothing.
func (d *Document) readLead(n int, paras []line, pg *article.Page) []line {
	a := &d.Article
	var note, deck bool
	i := 0
	for i < len(paras) {
		t := paras[i].text
		if c, cr, ok := splitCaption(t, true); ok {
			d.addCaption(pg, c, cr)
			i++
			continue
		}
		if text, skip, ok := noteAt(paras, i); ok && !note {
			d.setNote(text)
			note = true
			i += skip + 1
			continue
		}
		if n > 1 && a.Deck != "" && sameText(t, a.Deck) {
			d.drop(paras[i], "deck repeated on a later page")
			i++
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

// isDeck: the deck is followed by the editor's note, or is under 300
// characters and either does not end like a sentence (nor with a comma:
// "Dear readers,") or ends like a reporter's deck ("… Wang Qian
// reports.").
func isDeck(t, next string, haveNote bool) bool {
	if noteRe.MatchString(t) || strings.HasSuffix(t, ",") || strings.HasSuffix(t, "，") {
		return false
	}
	if noteRe.MatchString(next) && !haveNote {
		return true
	}
	// A short line (fewer than six words: "Ready for the rains") opening
	// the body is a sub-head, not a deck.
	short := utf8.RuneCountInString(t) < 300 && words(t) >= 6
	return short && (!terminalRe.MatchString(t) || reportsDeckRe.MatchString(t))
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

// addCaption adds a photo to page pg, standing before the paragraph that
// comes next.
func (d *Document) addCaption(pg *article.Page, caption, credit string) {
	if len(d.Captions) == 0 {
		d.Caption, d.Credit = caption, credit
	}
	d.Captions = append(d.Captions, Caption{Page: pg.Number, Caption: caption, Credit: credit})
	pg.Photos = append(pg.Photos, article.PagePhoto{Photo: article.Photo{Caption: caption, Credit: credit}, At: len(pg.Paragraphs)})
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

// cutShort flags a copy that ends inside a paragraph: the last line of the
// file with text is a paragraph of eight words or more of the last page,
// and does not end like a sentence.
func (d *Document) cutShort(segs []*segment, last int) {
	if last < 0 || len(segs) == 0 {
		return
	}
	s := segs[len(segs)-1]
	if s.pag != nil || len(s.paras) == 0 {
		return
	}
	l := s.paras[len(s.paras)-1]
	if l.text == "" || terminalRe.MatchString(l.text) || words(l.text) < 8 {
		return
	}
	if _, _, ok := splitCaption(l.text, false); ok {
		return
	}
	for _, dr := range d.Dropped {
		if dr.Line > l.n {
			return // chrome after it: the copy goes on past the text
		}
	}
	d.TruncatedLine = l.n
}

// finish sets what follows from the whole document: the agency dateline,
// the lead photo (the first caption, taken off its page), the language.
func (d *Document) finish() {
	a := &d.Article
	if a.Dateline == "" && len(a.Body) > 0 && len(a.Body[0].Paragraphs) > 0 && !d.Continuation {
		// Agency copy opens with its dateline: "NANJING -- Passenger ferries…".
		if m := agencyDatelineRe.FindStringSubmatch(a.Body[0].Paragraphs[0]); m != nil {
			a.Dateline = source.TitleCase(m[1])
		}
	}
	if !d.Continuation {
		for i := range a.Body {
			if len(a.Body[i].Photos) > 0 {
				lead := a.Body[i].Photos[0].Photo
				a.Body[i].Photos = a.Body[i].Photos[1:]
				if len(a.Body[i].Photos) == 0 {
					a.Body[i].Photos = nil
				}
				lead.URL = d.PhotoURL
				a.Photo = &lead
				d.LeadPage = a.Body[i].Number
				break
			}
		}
		if a.Photo == nil && d.PhotoURL != "" {
			a.Photo = &article.Photo{URL: d.PhotoURL}
		}
	}
	text := []string{a.Headline, a.Deck}
	for _, pg := range a.Body {
		text = append(text, pg.Paragraphs...)
	}
	a.Language = source.DetectLanguage(text...)
}

// splitCaption recognises a photo caption with its credit: "Text [Photo by
// NAME/for China Daily]" (any case), "Text.[Huang Zhiling / China Daily]",
// "Text [Xinhua]", "Text. Photo provided to CHINA DAILY", "Text. Photos by
// NAME for China Daily |", "Text. May Zhou / China Daily", and, when lead
// is set (the first lines of a page), "Text. CREDIT IN CAPITALS".
func splitCaption(t string, lead bool) (caption, credit string, ok bool) {
	if m := bracketCapRe.FindStringSubmatch(t); m != nil && creditWordRe.MatchString(strings.TrimSpace(m[2])) {
		if c := strings.TrimSpace(m[1]); c != "" && terminalRe.MatchString(c) || c == "" && lead {
			return c, strings.TrimSpace(m[2]), true
		}
		if c := strings.TrimSpace(m[1]); c != "" && strings.HasPrefix(strings.ToLower(strings.TrimSpace(m[2])), "photo") {
			return c, strings.TrimSpace(m[2]), true
		}
	}
	if m := tailCreditRe.FindStringSubmatch(t); m != nil {
		return strings.TrimSpace(m[1]), strings.TrimSpace(m[2]), true
	}
	if m := parenCreditRe.FindStringSubmatch(t); m != nil {
		return strings.TrimSpace(m[1]), strings.TrimSpace(m[2]), true
	}
	if m := slashCapRe.FindStringSubmatch(t); m != nil {
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
	return fmt.Sprintf("%s %v pages %v of %d", d.Article.Headline, d.Breadcrumb, d.Pages, d.Article.TotalPages)
}
