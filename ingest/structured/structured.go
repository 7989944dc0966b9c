// Package structured parses the two structured article formats: Markdown
// with front matter (YAML between "---" lines, or TOML between "+++"
// lines) and JSON. Both share one schema, documented in docs/formats.md.
// Unknown fields are errors; every error names the file and, where it can,
// the line.
package structured

import (
	"bytes"
	"fmt"
	"mime"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/ingest/source"
)

// Document is one parsed file. Article.ID is the id the file gives ("" when
// it gives none: the importer derives one); GUID is never set here.
type Document struct {
	Article article.Article
	// Line is where the metadata starts, for errors about the whole article.
	Line int
	// Section is the section as the source names it ("Society", "社会",
	// "China / Society"), and SectionLine its line: the importer resolves
	// it through the configured sections. Article.Section holds its slug.
	Section     string
	SectionLine int
	// Warnings are what the import changed on the way without refusing the
	// file (a Markdown link of an unsafe scheme dropped, an image left out),
	// with file and line; the importer logs them.
	Warnings []*source.Error
}

// ParseMarkdown reads Markdown with front matter. Times without a zone are
// read in zone (the newsroom's, from configuration; UTC when nil).
func ParseMarkdown(name string, data []byte, zone *time.Location) (*Document, error) {
	text, err := cleanText(name, data)
	if err != nil {
		return nil, err
	}
	lines := strings.SplitAfter(text, "\n")
	if len(lines) == 0 {
		return nil, source.Errorf(name, 1, "", "empty file: want front matter between --- lines")
	}
	fence := strings.TrimSpace(lines[0])
	if fence != "---" && fence != "+++" {
		return nil, source.Errorf(name, 1, "", "no front matter: the file must start with a '---' (YAML) or '+++' (TOML) line")
	}
	end := -1
	for i := 1; i < len(lines); i++ {
		t := strings.TrimSpace(lines[i])
		if t == fence || (fence == "---" && t == "...") {
			end = i
			break
		}
	}
	if end < 0 {
		return nil, source.Errorf(name, 1, "", "front matter opened with %q is never closed", fence)
	}
	meta := strings.Join(lines[1:end], "")
	var root *node
	var line int
	if fence == "---" {
		root, line, err = parseYAML(meta, 2)
	} else {
		root, line, err = parseTOML(meta, 2)
	}
	if err != nil {
		return nil, &source.Error{File: name, Line: line, Err: err}
	}
	if root.kind != kMap {
		return nil, source.Errorf(name, root.line, "", "front matter must be a mapping of fields, not a %s", root.kind)
	}
	doc, err := build(name, root, false, zone)
	if err != nil {
		return nil, err
	}
	body := strings.Join(lines[end+1:], "")
	doc.Article.Body, doc.Warnings = markdownBody(name, []byte(body), end+2)
	finish(&doc.Article)
	return doc, nil
}

// ParseJSON reads one article as a JSON object. Times without a zone are
// read in zone (the newsroom's, from configuration; UTC when nil).
func ParseJSON(name string, data []byte, zone *time.Location) (*Document, error) {
	text, err := cleanText(name, data)
	if err != nil {
		return nil, err
	}
	root, line, err := parseJSON([]byte(text))
	if err != nil {
		return nil, &source.Error{File: name, Line: line, Err: err}
	}
	if root.kind != kMap {
		return nil, source.Errorf(name, root.line, "", "want a JSON object, not a %s", root.kind)
	}
	doc, err := build(name, root, true, zone)
	if err != nil {
		return nil, err
	}
	finish(&doc.Article)
	return doc, nil
}

// cleanText drops a BOM, turns CRLF into LF and rejects what no article
// may hold, naming the line.
func cleanText(name string, data []byte) (string, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	for i, l := range strings.Split(text, "\n") {
		if err := source.CheckText(l); err != nil {
			return "", source.Errorf(name, i+1, "", "%v", err)
		}
	}
	return text, nil
}

func finish(a *article.Article) {
	if a.Status == "" {
		a.Status = article.StatusPublished
	}
	if a.Dateline == "" {
		for _, au := range a.Authors {
			if au.Place != "" {
				a.Dateline = au.Place
				break
			}
		}
	}
	if a.Language == "" {
		t := []string{a.Headline, a.Deck}
		a.Language = source.DetectLanguage(append(t, a.Paragraphs()...)...)
	}
	n := 0
	for _, p := range a.Body {
		n = max(n, p.Number)
	}
	a.TotalPages = max(a.TotalPages, n)
}

var (
	langRe      = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)
	blankLineRe = regexp.MustCompile(`\n\s*\n`)
)

// build reads the schema's fields from root, one field setter per key.
func build(name string, root *node, allowBody bool, zone *time.Location) (*Document, error) {
	b := &builder{name: name, zone: zone, allowBody: allowBody, json: allowBody, doc: &Document{Line: root.line}}
	for i, key := range root.keys {
		v := root.vals[i]
		set, ok := fieldSetters[key]
		if !ok {
			return nil, b.ferr(v, key, "unknown field")
		}
		if err := set(b, v, key); err != nil {
			return nil, err
		}
	}
	if err := b.checkTimes(); err != nil {
		return nil, err
	}
	return b.doc, nil
}

// builder holds what build's field setters share.
type builder struct {
	name      string
	zone      *time.Location
	allowBody bool
	// json: the document is JSON, whose values are typed.
	json bool
	doc  *Document
	// publishedNode and updatedNode locate the times for errors.
	publishedNode, updatedNode *node
}

// fieldSetters maps each schema field to the step that reads it; a
// read-only table.
var fieldSetters = map[string]func(b *builder, v *node, key string) error{
	"id":            (*builder).setID,
	"section":       (*builder).setSection,
	"series":        (*builder).setSeries,
	"headline":      (*builder).setHeadline,
	"deck":          func(b *builder, v *node, key string) error { return b.setString(&b.doc.Article.Deck, v, key) },
	"authors":       (*builder).setAuthors,
	"author":        (*builder).setAuthors,
	"dateline":      func(b *builder, v *node, key string) error { return b.setString(&b.doc.Article.Dateline, v, key) },
	"publication":   func(b *builder, v *node, key string) error { return b.setString(&b.doc.Article.Publication, v, key) },
	"published":     (*builder).setPublished,
	"updated":       (*builder).setUpdated,
	"editors_note":  func(b *builder, v *node, key string) error { return b.setString(&b.doc.Article.EditorsNote, v, key) },
	"photo":         (*builder).setPhoto,
	"tags":          (*builder).setTags,
	"language":      (*builder).setLanguage,
	"canonical_url": (*builder).setCanonicalURL,
	"status":        (*builder).setStatus,
	"total_pages":   (*builder).setTotalPages,
	"body":          (*builder).setBody,
}

func (b *builder) ferr(n *node, field, format string, args ...any) error {
	return source.Errorf(b.name, n.line, field, format, args...)
}

// str reads a string; null is "". In JSON, which types its values, a
// number is refused (write it in quotes); in front matter, where a bare
// 2019 is text to whoever wrote it, it is taken as written.
func (b *builder) str(n *node, field string) (string, error) {
	switch {
	case n.kind == kString, n.kind == kNumber && !b.json:
		return strings.TrimSpace(n.str), nil
	case n.kind == kNull:
		return "", nil
	case n.kind == kNumber:
		return "", b.ferr(n, field, "want a string, not a number (write %q in quotes)", n.str)
	}
	return "", b.ferr(n, field, "want a string, not a %s", n.kind)
}

// scalar reads a string or a number as written (a count given either
// way); null is "".
func (b *builder) scalar(n *node, field string) (string, error) {
	if n.kind == kNumber {
		return strings.TrimSpace(n.str), nil
	}
	return b.str(n, field)
}

// listItems is a value that may be one item or a list: null gives none,
// a list its items, anything else itself.
func listItems(n *node) []*node {
	switch n.kind {
	case kNull:
		return nil
	case kSeq:
		return n.items
	}
	return []*node{n}
}

// strList reads a string or a list of strings, dropping empty ones.
func (b *builder) strList(n *node, field string) ([]string, error) {
	items := listItems(n)
	var out []string
	for _, it := range items {
		s, err := b.str(it, field)
		if err != nil {
			return nil, err
		}
		if s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// timeOf reads a time; one without a zone is read in the builder's zone.
func (b *builder) timeOf(n *node, field string) (time.Time, error) {
	s, err := b.str(n, field)
	if err != nil || s == "" {
		return time.Time{}, err
	}
	t, err := source.ParseTime(s, b.zone)
	if err != nil {
		return time.Time{}, b.ferr(n, field, "%v", err)
	}
	return t, nil
}

func (b *builder) setString(dst *string, v *node, key string) error {
	s, err := b.str(v, key)
	*dst = s
	return err
}

func (b *builder) setID(v *node, key string) error {
	a := &b.doc.Article
	if err := b.setString(&a.ID, v, key); err != nil {
		return err
	}
	if a.ID != "" && source.Slugify(a.ID) != a.ID {
		return b.ferr(v, key, "%q must be lower-case a-z, 0-9, '.', '_' or '-' (at most 200), starting with a letter or digit", a.ID)
	}
	return nil
}

func (b *builder) setSection(v *node, key string) error {
	s, err := b.str(v, key)
	if err != nil {
		return err
	}
	// A name without a usable slug ("社会") may still be a configured
	// section's alias: the importer decides.
	b.doc.Article.Section = source.Slugify(s)
	b.doc.Section, b.doc.SectionLine = s, v.line
	return nil
}

func (b *builder) setSeries(v *node, key string) error {
	ss, err := b.strList(v, key)
	for _, s := range ss {
		if slug := source.Slugify(s); slug != "" {
			b.doc.Article.Series = append(b.doc.Article.Series, slug)
		}
	}
	return err
}

func (b *builder) setHeadline(v *node, key string) error {
	s, err := b.str(v, key)
	b.doc.Article.Headline = source.CleanSpace(s)
	return err
}

func (b *builder) setAuthors(v *node, key string) error {
	var err error
	b.doc.Article.Authors, err = authors(b.name, v, key)
	return err
}

func (b *builder) setPublished(v *node, key string) error {
	b.publishedNode = v
	var err error
	b.doc.Article.Published, err = b.timeOf(v, key)
	return err
}

func (b *builder) setUpdated(v *node, key string) error {
	b.updatedNode = v
	var err error
	b.doc.Article.Updated, err = b.timeOf(v, key)
	return err
}

func (b *builder) setPhoto(v *node, _ string) error {
	var err error
	b.doc.Article.Photo, err = photo(b.name, v)
	return err
}

// setTags keeps the first of tags that differ only in case.
func (b *builder) setTags(v *node, key string) error {
	ts, err := b.strList(v, key)
	seen := map[string]bool{}
	for _, t := range ts {
		if k := strings.ToLower(t); !seen[k] {
			seen[k] = true
			b.doc.Article.Tags = append(b.doc.Article.Tags, t)
		}
	}
	return err
}

func (b *builder) setLanguage(v *node, key string) error {
	a := &b.doc.Article
	if err := b.setString(&a.Language, v, key); err != nil {
		return err
	}
	if a.Language != "" && !langRe.MatchString(a.Language) {
		return b.ferr(v, key, "%q is not a language tag such as \"en\" or \"zh\"", a.Language)
	}
	return nil
}

func (b *builder) setCanonicalURL(v *node, key string) error {
	s, err := b.str(v, key)
	if err != nil || s == "" {
		return err
	}
	if !absHTTPURL(s) {
		return b.ferr(v, key, "%q is not an absolute http(s) URL", s)
	}
	b.doc.Article.CanonicalURL = s
	return nil
}

// absHTTPURL reports whether s is an absolute http or https URL.
func absHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func (b *builder) setStatus(v *node, key string) error {
	s, err := b.str(v, key)
	if err != nil {
		return err
	}
	b.doc.Article.Status = article.Status(strings.ToLower(s))
	if s != "" && !b.doc.Article.Status.Valid() {
		return b.ferr(v, key, "%q: want \"published\" or \"withdrawn\"", s)
	}
	return nil
}

func (b *builder) setTotalPages(v *node, key string) error {
	s, err := b.scalar(v, key)
	if err != nil || s == "" {
		return err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 999 {
		return b.ferr(v, key, "%q: want a whole number of pages", s)
	}
	b.doc.Article.TotalPages = n
	return nil
}

func (b *builder) setBody(v *node, key string) error {
	if !b.allowBody {
		return b.ferr(v, key, "unknown field: the body is the Markdown after the front matter")
	}
	var err error
	b.doc.Article.Body, err = jsonBody(b.name, v)
	return err
}

// checkTimes rejects an updated time before the published time.
func (b *builder) checkTimes() error {
	a := &b.doc.Article
	if !a.Published.IsZero() && !a.Updated.IsZero() && a.Updated.Before(a.Published) {
		return b.ferr(b.updatedNode, "updated", "%s is before published %s (line %d)",
			a.Updated.Format(time.RFC3339), a.Published.Format(time.RFC3339), b.publishedNode.line)
	}
	return nil
}

func authors(name string, n *node, field string) ([]article.Author, error) {
	items := listItems(n)
	var out []article.Author
	for _, it := range items {
		var au article.Author
		switch it.kind {
		case kString:
			au.Name = source.CleanSpace(it.str)
		case kMap:
			for i, k := range it.keys {
				v := it.vals[i]
				if v.kind != kString && v.kind != kNull {
					return nil, source.Errorf(name, v.line, field+"."+k, "want a string, not a %s", v.kind)
				}
				switch k {
				case "name":
					au.Name = source.CleanSpace(v.str)
				case "place":
					au.Place = source.CleanSpace(v.str)
				default:
					return nil, source.Errorf(name, v.line, field+"."+k, "unknown field (want name, place)")
				}
			}
			if au.Name == "" {
				return nil, source.Errorf(name, it.line, field+".name", "is empty")
			}
		default:
			return nil, source.Errorf(name, it.line, field, "want a name or {name, place}, not a %s", it.kind)
		}
		if au.Name != "" {
			out = append(out, au)
		}
	}
	return out, nil
}

func photo(name string, n *node) (*article.Photo, error) {
	if n.kind == kNull {
		return nil, nil
	}
	if n.kind != kMap {
		return nil, source.Errorf(name, n.line, "photo", "want an object {url, caption, credit, type, length}, not a %s", n.kind)
	}
	p := &article.Photo{}
	for i, k := range n.keys {
		if err := photoField(name, p, k, n.vals[i]); err != nil {
			return nil, err
		}
	}
	if p.URL == "" {
		return nil, source.Errorf(name, n.line, "photo.url", "is missing")
	}
	if p.Type == "" {
		if u, err := url.Parse(p.URL); err == nil {
			p.Type = mime.TypeByExtension(strings.ToLower(path.Ext(u.Path)))
			if i := strings.IndexByte(p.Type, ';'); i >= 0 {
				p.Type = p.Type[:i]
			}
		}
	}
	return p, nil
}

// photoField reads one field k of the photo object into p.
func photoField(name string, p *article.Photo, k string, v *node) error {
	field := "photo." + k
	if k == "length" {
		if v.kind != kNumber && v.kind != kString && v.kind != kNull {
			return source.Errorf(name, v.line, field, "want a number of bytes, not a %s", v.kind)
		}
		if v.kind != kNull {
			l, err := strconv.ParseInt(strings.TrimSpace(v.str), 10, 64)
			if err != nil || l < 0 {
				return source.Errorf(name, v.line, field, "%q: want a whole number of bytes", v.str)
			}
			p.Length = l
		}
		return nil
	}
	if v.kind != kString && v.kind != kNull {
		return source.Errorf(name, v.line, field, "want a string, not a %s", v.kind)
	}
	s := strings.TrimSpace(v.str)
	switch k {
	case "url":
		if !absHTTPURL(s) {
			return source.Errorf(name, v.line, field, "%q is not an absolute http(s) URL", s)
		}
		p.URL = s
	case "caption":
		p.Caption = s
	case "credit":
		p.Credit = s
	case "type":
		if s != "" && !strings.Contains(s, "/") {
			return source.Errorf(name, v.line, field, "%q is not a media type such as image/jpeg", s)
		}
		p.Type = s
	default:
		return source.Errorf(name, v.line, field, "unknown field (want url, caption, credit, type, length)")
	}
	return nil
}

// jsonBody reads "body": a string (paragraphs split at blank lines), an
// array of paragraphs (one page), an array of arrays of paragraphs (pages
// 1, 2, …), or an array of {number, paragraphs} pages.
func jsonBody(name string, n *node) ([]article.Page, error) {
	switch {
	case n.kind == kNull:
		return nil, nil
	case n.kind == kString, n.kind == kSeq && (len(n.items) == 0 || n.items[0].kind == kString):
		ps, err := jsonParas(name, n)
		if err != nil || len(ps) == 0 {
			return nil, err
		}
		return []article.Page{{Number: 1, Paragraphs: ps}}, nil
	case n.kind != kSeq:
		return nil, source.Errorf(name, n.line, "body", "want a list of paragraphs or of pages, not a %s", n.kind)
	}
	var pages []article.Page
	prev := 0
	for i, it := range n.items {
		pg, err := jsonPage(name, it, i+1)
		if err != nil {
			return nil, err
		}
		if pg.Number <= prev {
			return nil, source.Errorf(name, it.line, "body.number", "page %d follows page %d", pg.Number, prev)
		}
		prev = pg.Number
		if len(pg.Paragraphs) > 0 {
			pages = append(pages, pg)
		}
	}
	return pages, nil
}

// jsonParas reads the paragraphs of one page: a string split at blank
// lines, or a list of strings.
func jsonParas(name string, n *node) ([]string, error) {
	var out []string
	switch n.kind {
	case kString:
		for _, p := range blankLineRe.Split(n.str, -1) {
			if p = source.CleanSpace(p); p != "" {
				out = append(out, p)
			}
		}
	case kSeq:
		for _, it := range n.items {
			if it.kind != kString {
				return nil, source.Errorf(name, it.line, "body", "want a paragraph string, not a %s", it.kind)
			}
			if p := source.CleanSpace(it.str); p != "" {
				out = append(out, p)
			}
		}
	default:
		return nil, source.Errorf(name, n.line, "body", "want paragraphs, not a %s", n.kind)
	}
	return out, nil
}

// jsonPage reads one page of a body given as pages: a list of paragraphs
// (page number the position, from 1) or a {number, paragraphs} object.
func jsonPage(name string, it *node, number int) (article.Page, error) {
	pg := article.Page{Number: number}
	var err error
	switch it.kind {
	case kSeq:
		pg.Paragraphs, err = jsonParas(name, it)
		return pg, err
	case kMap:
	default:
		return pg, source.Errorf(name, it.line, "body", "mixes pages and paragraphs: want all strings or all pages")
	}
	for j, k := range it.keys {
		v := it.vals[j]
		switch k {
		case "number":
			num, err := strconv.Atoi(v.str)
			if v.kind != kNumber || err != nil || num < 1 || num > 999 {
				return pg, source.Errorf(name, v.line, "body.number", "want a page number from 1, not %q", v.str)
			}
			pg.Number = num
		case "paragraphs":
			if pg.Paragraphs, err = jsonParas(name, v); err != nil {
				return pg, err
			}
		default:
			return pg, source.Errorf(name, v.line, "body."+k, "unknown field (want number, paragraphs)")
		}
	}
	return pg, nil
}

var pageBreakRe = regexp.MustCompile(`(?i)^\s*<!--\s*page(\s*break)?\s*-->\s*$`)

// markdownBody turns Markdown into pages of plain paragraphs: inline
// markup is flattened to its text, each block (paragraph, heading, list
// item, quote, code block) becomes a paragraph, a heading marked as a
// sub-head, raw HTML is dropped, and an HTML comment "<!-- page -->" on its
// own starts a new page. A link to an http(s) or mailto: address is kept as
// its text followed by the address in parentheses (the body is plain text
// everywhere it goes); any other link keeps its text only, and images are
// left out, each with a warning. firstLine is the file's line of src's
// first line, for the warnings.
func markdownBody(name string, src []byte, firstLine int) ([]article.Page, []*source.Error) {
	doc := goldmark.New().Parser().Parse(text.NewReader(src))
	pages := []article.Page{{Number: 1}}
	var warnings []*source.Error
	add := func(s string, subhead bool) {
		if s = source.CleanSpace(s); s != "" {
			pg := &pages[len(pages)-1]
			if subhead {
				pg.Subheads = append(pg.Subheads, len(pg.Paragraphs))
			}
			pg.Paragraphs = append(pg.Paragraphs, s)
		}
	}
	flat := func(c ast.Node) string {
		line := firstLine
		if ls := c.Lines(); ls.Len() > 0 {
			line += bytes.Count(src[:ls.At(0).Start], []byte("\n"))
		}
		return inline(c, src, func(format string, args ...any) {
			warnings = append(warnings, source.Errorf(name, line, "", format, args...))
		})
	}
	var blocks func(n ast.Node)
	blocks = func(n ast.Node) {
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			switch c := c.(type) {
			case *ast.Heading:
				add(flat(c), true)
			case *ast.Paragraph, *ast.TextBlock:
				add(flat(c), false)
			case *ast.List, *ast.ListItem, *ast.Blockquote:
				blocks(c)
			case *ast.FencedCodeBlock, *ast.CodeBlock:
				add(string(c.Lines().Value(src)), false)
			case *ast.HTMLBlock:
				if pageBreakRe.Match(c.Lines().Value(src)) {
					if len(pages[len(pages)-1].Paragraphs) > 0 {
						pages = append(pages, article.Page{Number: len(pages) + 1})
					}
				}
			default:
				if c.Type() == ast.TypeBlock {
					blocks(c)
				}
			}
		}
	}
	blocks(doc)
	if len(pages[len(pages)-1].Paragraphs) == 0 {
		pages = pages[:len(pages)-1]
	}
	if len(pages) == 0 {
		return nil, warnings
	}
	return pages, warnings
}

// keptLink reports whether a link's destination is kept in the text: an
// absolute http(s) URL or a mailto: address. Everything else (javascript:,
// data:, vbscript:, file:, relative paths that mean nothing outside the
// CMS) is dropped.
func keptLink(dest string) bool {
	u, err := url.Parse(strings.TrimSpace(dest))
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return u.Host != ""
	case "mailto":
		return u.Opaque != ""
	}
	return false
}

func inline(n ast.Node, src []byte, warn func(format string, args ...any)) string {
	var b strings.Builder
	var walk func(n ast.Node)
	walk = func(n ast.Node) {
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			switch c := c.(type) {
			case *ast.Text:
				v := c.Value(src)
				if !c.IsRaw() {
					v = util.ResolveEntityNames(util.ResolveNumericReferences(util.UnescapePunctuations(v)))
				}
				b.Write(v)
				if c.SoftLineBreak() || c.HardLineBreak() {
					b.WriteByte('\n')
				}
			case *ast.String:
				b.Write(c.Value)
			case *ast.AutoLink:
				if c.AutoLinkType == ast.AutoLinkURL && !keptLink(string(c.URL(src))) {
					warn("link %q dropped: only http(s) and mailto: links are kept", c.URL(src))
					continue
				}
				b.Write(c.Label(src))
			case *ast.Link:
				start := b.Len()
				walk(c)
				dest := strings.TrimSpace(string(c.Destination))
				if !keptLink(dest) {
					warn("link %q dropped (its text kept): only http(s) and mailto: links are kept", dest)
					continue
				}
				label := strings.TrimSpace(b.String()[start:])
				switch {
				case label == "":
					b.WriteString(dest)
				case label != dest && label != strings.TrimPrefix(dest, "mailto:"):
					b.WriteString(" (" + dest + ")")
				}
			case *ast.Image:
				warn("image %q left out: the body is text; give the article's photo in the photo field", c.Destination)
			case *ast.RawHTML:
				// dropped
			default:
				walk(c)
			}
		}
	}
	walk(n)
	return joinLines(b.String())
}

// joinLines joins wrapped lines with a space, or with nothing between two
// Han characters (Chinese text is written without spaces).
func joinLines(s string) string {
	parts := strings.Split(s, "\n")
	var b strings.Builder
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if i > 0 && b.Len() > 0 && p != "" {
			last, _ := utf8.DecodeLastRuneInString(b.String())
			first, _ := utf8.DecodeRuneInString(p)
			if !(unicode.Is(unicode.Han, last) || unicode.Is(unicode.Han, first) || unicode.In(last, unicode.P) && last > 0x2fff) {
				b.WriteByte(' ')
			}
		}
		b.WriteString(p)
	}
	return b.String()
}

// String summarises a document for debugging.
func (d *Document) String() string {
	return fmt.Sprintf("%s [%s] %d pages", d.Article.Headline, d.Article.Section, len(d.Article.Body))
}
