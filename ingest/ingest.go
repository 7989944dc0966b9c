// Package ingest brings articles into the store from the three sources the
// newsroom uses: files (plain-text article pages, Markdown with front
// matter, JSON) found in a content directory or named on the command line,
// the same files embedded in the binary (the shipped samples), and JSON
// pushed over the HTTP API.
//
// Every way in is idempotent: the id is stable (explicit, else the file
// stem, else the canonical URL's last segment), the GUID is minted once
// (tag:AUTHORITY,DATE:ID) and frozen by the store, and article.Merge
// decides created / edited / unchanged / reclassified. A broken file is
// reported with its name, line and reason and never stops the others nor
// touches what is stored.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/ingest/source"
	"github.com/syndicated/syndicated/ingest/structured"
	"github.com/syndicated/syndicated/ingest/textpage"
)

// Error is a rejected input, naming file, line and field where known. It
// matches errors.Is(err, article.ErrInvalid), and errors.As finds an
// *article.FieldError in it when one field is at fault.
type Error = source.Error

// Formats, as ImportBytes takes them and FormatOf returns them.
const (
	FormatText     = "text"     // plain-text article page (.txt)
	FormatMarkdown = "markdown" // Markdown with front matter (.md, .markdown)
	FormatJSON     = "json"     // JSON (.json)
)

// DefaultGUIDAuthority is the tag: URI authority used when Options gives none.
const DefaultGUIDAuthority = "syndicated.example"

// DefaultMaxFileBytes bounds one input file.
const DefaultMaxFileBytes = 8 << 20

// DefaultEarliest and DefaultMaxAhead bound articles' dates (see
// Options.Earliest).
var DefaultEarliest = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

const DefaultMaxAhead = 366 * 24 * time.Hour

// DefaultReadTimeout bounds opening and reading one input file.
const DefaultReadTimeout = 30 * time.Second

// Options configures an Importer.
type Options struct {
	// Rules classify articles into series; they come from the configured
	// series (config.Config.SeriesRules). None when nil.
	Rules []article.SeriesRule
	// Zone is the newsroom's zone: times a source gives without a zone
	// ("Updated: 2019-04-24 20:12") are read in it, and GUIDs are dated in
	// it. It comes from configuration; UTC when nil.
	Zone *time.Location
	// GUIDAuthority is the authority of minted tag: GUIDs (a domain the
	// publisher owns); DefaultGUIDAuthority when empty.
	GUIDAuthority string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Logger gets one line per stored change (Info), per unchanged article
	// (Debug) and per rejected file (Warn); discarded when nil.
	Logger *slog.Logger
	// MaxFileBytes bounds one input (the bytes actually read);
	// DefaultMaxFileBytes when 0.
	MaxFileBytes int64
	// ReadTimeout bounds opening and reading one file, so that a file on a
	// stalled mount costs a scan this long and no more;
	// DefaultReadTimeout when 0.
	ReadTimeout time.Duration
	// Earliest and MaxAhead bound an article's published and updated
	// times: none before Earliest (DefaultEarliest when zero), none more
	// than MaxAhead after now (DefaultMaxAhead when 0). An article dated
	// in year 2 would otherwise make every month since an archive page.
	Earliest time.Time
	MaxAhead time.Duration
	// PhotoProbe, when set, learns the size and type of lead photos that
	// the source gives without them.
	PhotoProbe PhotoProbe
	// Progress, when set, is told after each article how many of an
	// import's articles are done (the CLI draws it on a terminal).
	Progress func(done, total int)
	// Hooks are told what each call stored or refused (see Event).
	Hooks []Hook
	// Sections are the configured sections (config.Config.SectionRules):
	// an article's section (a breadcrumb "Home / China / Society", a
	// "section" field) is resolved through their slugs, titles and
	// aliases, and an article whose section none of them names is
	// refused, the same way for files and the API. None: any section,
	// taken as its slug.
	Sections []article.SectionRule
	// DefaultSection is the section of a file that names none (a text
	// page without breadcrumb, JSON without "section"): the import
	// command's --section, content_section for the content directory.
	// It applies to files (ImportPaths, ImportFS, DryRun), not to
	// ImportBytes and the API.
	DefaultSection string
}

// Importer stores parsed articles. It holds no state between calls and is
// safe for concurrent use when its store is.
type Importer struct {
	store article.Store
	opts  Options
}

// New returns an Importer writing to store.
func New(store article.Store, opts Options) *Importer {
	if opts.Zone == nil {
		opts.Zone = time.UTC
	}
	if opts.GUIDAuthority == "" {
		opts.GUIDAuthority = DefaultGUIDAuthority
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxFileBytes <= 0 {
		opts.MaxFileBytes = DefaultMaxFileBytes
	}
	if opts.ReadTimeout <= 0 {
		opts.ReadTimeout = DefaultReadTimeout
	}
	if opts.Earliest.IsZero() {
		opts.Earliest = DefaultEarliest
	}
	if opts.MaxAhead <= 0 {
		opts.MaxAhead = DefaultMaxAhead
	}
	return &Importer{store: store, opts: opts}
}

// FileResult is what happened to one article (one file, or the page files
// of one multi-page text article), or to one page file of a multi-page
// text article that was left out of it (Err says why; the article keeps
// the page it stored before, else records it as missing).
type FileResult struct {
	File   string   // the file (the first page's, for multi-page articles)
	Files  []string // every file read for this article, pages in order
	Format string
	ID     string // "" when the file failed before an id was known
	GUID   string
	// Outcome is meaningful when Err is nil.
	Outcome article.Outcome
	// Err is nil on success; input errors are *Error (file, line, reason).
	Err error
	// Warnings say what the import kept although it looks wrong, with
	// file and line: a copy that stops in the middle of a paragraph.
	Warnings []string
}

// Report lists every article an import touched, in file-name order.
type Report struct {
	Files []FileResult
}

// Err joins the errors of every failed file; nil when all succeeded.
func (r Report) Err() error {
	var errs []error
	for _, f := range r.Files {
		if f.Err != nil {
			errs = append(errs, f.Err)
		}
	}
	return errors.Join(errs...)
}

// Failed returns the results that failed.
func (r Report) Failed() []FileResult {
	var out []FileResult
	for _, f := range r.Files {
		if f.Err != nil {
			out = append(out, f)
		}
	}
	return out
}

// Count returns how many articles had outcome o (failures not counted).
func (r Report) Count(o article.Outcome) int {
	n := 0
	for _, f := range r.Files {
		if f.Err == nil && f.Outcome == o {
			n++
		}
	}
	return n
}

// Changed reports whether anything stored changed.
func (r Report) Changed() bool {
	return r.Count(article.Created)+r.Count(article.Edited)+r.Count(article.Reclassified) > 0
}

// FileCount is how many files the import read: a multi-page article
// counts each of its page files, a failed group too.
func (r Report) FileCount() int {
	seen := map[string]bool{}
	for _, f := range r.Files {
		for _, name := range f.Files {
			seen[name] = true
		}
		if len(f.Files) == 0 {
			seen[f.File] = true
		}
	}
	return len(seen)
}

// String summarises the report in one line.
func (r Report) String() string {
	warned := 0
	for _, f := range r.Files {
		if f.Err == nil && len(f.Warnings) > 0 {
			warned++
		}
	}
	w := ""
	if warned > 0 {
		w = fmt.Sprintf(" (%d with warnings)", warned)
	}
	return fmt.Sprintf("%d files: %d created, %d edited, %d reclassified, %d unchanged, %d failed%s",
		r.FileCount(), r.Count(article.Created), r.Count(article.Edited), r.Count(article.Reclassified),
		r.Count(article.Unchanged), len(r.Failed()), w)
}

// FormatOf returns the format a file name's extension names, or "".
func FormatOf(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".txt":
		return FormatText
	case ".md", ".markdown":
		return FormatMarkdown
	case ".json":
		return FormatJSON
	}
	return ""
}

// input is one file to read.
type input struct {
	name string // as reported
	fsys fs.FS
	path string // inside fsys
}

// ImportPaths imports files and directories (recursively; files named
// with a known extension, hidden entries skipped). Multi-page text
// articles are grouped: STEM.txt (or STEM.p1.txt), STEM.p2.txt, … in one
// directory make one article. The error is non-nil only when ctx ends;
// per-file failures are in the Report (see Report.Err).
func (im *Importer) ImportPaths(ctx context.Context, paths ...string) (Report, error) {
	rep, inputs := collect(paths)
	return im.importInputs(ctx, rep, inputs)
}

// collect lists the files paths name (directories recursively), and the
// paths it cannot read.
func collect(paths []string) (Report, []input) {
	var rep Report
	var inputs []input
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			rep.Files = append(rep.Files, FileResult{File: p, Files: []string{p}, Err: &Error{File: p, Err: unwrapPathError(err)}})
			continue
		}
		if !st.IsDir() {
			if FormatOf(p) == "" {
				rep.Files = append(rep.Files, FileResult{File: p, Files: []string{p}, Err: source.Errorf(p, 0, "", "unknown format: want .txt, .md, .markdown or .json")})
				continue
			}
			dir, base := filepath.Split(p)
			if dir == "" {
				dir = "."
			}
			inputs = append(inputs, input{name: p, fsys: os.DirFS(dir), path: base})
			continue
		}
		ins, errs := walk(os.DirFS(p), ".", func(rel string) string { return filepath.Join(p, filepath.FromSlash(rel)) })
		inputs = append(inputs, ins...)
		rep.Files = append(rep.Files, errs...)
	}
	return rep, inputs
}

// ImportFS imports every article file under root in fsys (the embedded
// samples, for instance), with the same rules as ImportPaths.
func (im *Importer) ImportFS(ctx context.Context, fsys fs.FS, root string) (Report, error) {
	if root == "" {
		root = "."
	}
	ins, errs := walk(fsys, root, func(rel string) string { return rel })
	return im.importInputs(ctx, Report{Files: errs}, ins)
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

func walk(fsys fs.FS, root string, display func(string) string) ([]input, []FileResult) {
	var ins []input
	var errs []FileResult
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		name := display(p)
		if err != nil {
			errs = append(errs, FileResult{File: name, Files: []string{name}, Err: &Error{File: name, Err: unwrapPathError(err)}})
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if p != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() || FormatOf(p) == "" {
			return nil
		}
		ins = append(ins, input{name: name, fsys: fsys, path: p})
		return nil
	})
	if err != nil {
		name := display(root)
		errs = append(errs, FileResult{File: name, Files: []string{name}, Err: &Error{File: name, Err: unwrapPathError(err)}})
	}
	return ins, errs
}

// group is the files of one article.
type group struct {
	format string
	files  []input
}

func groupInputs(ins []input) []group {
	sort.Slice(ins, func(i, j int) bool { return ins[i].name < ins[j].name })
	var out []group
	pages := map[string]int{} // dir/stem → index in out
	for i, in := range ins {
		if i > 0 && ins[i-1].name == in.name {
			continue // the same file named twice
		}
		f := FormatOf(in.name)
		if f == FormatText {
			stem, _ := textpage.PageOfName(in.name)
			key := path.Join(path.Dir(filepath.ToSlash(in.name)), stem)
			if i, ok := pages[key]; ok {
				out[i].files = append(out[i].files, in)
				continue
			}
			pages[key] = len(out)
		}
		out = append(out, group{format: f, files: []input{in}})
	}
	for _, g := range out {
		// Pages in order: STEM.txt (or STEM.p1.txt), STEM.p2.txt, …
		sort.SliceStable(g.files, func(i, j int) bool { return pageOf(g.files[i].name) < pageOf(g.files[j].name) })
	}
	return out
}

// pageOf is the page a text file's name claims, 1 when it claims none.
func pageOf(name string) int {
	_, n := textpage.PageOfName(name)
	return max(n, 1)
}

func (im *Importer) importInputs(ctx context.Context, rep Report, ins []input) (Report, error) {
	rep, err := im.importGroups(ctx, rep, ins)
	im.notify(ctx, SourceFiles, rep)
	return rep, err
}

func (im *Importer) importGroups(ctx context.Context, rep Report, ins []input) (Report, error) {
	seen := map[string]string{} // id → file that gave it
	groups := groupInputs(ins)
	for i, g := range groups {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("import: %w", err)
		}
		res := im.importGroup(ctx, g, seen)
		if res[0].Err != nil && ctx.Err() != nil {
			return rep, fmt.Errorf("import %s: %w", res[0].File, ctx.Err())
		}
		rep.Files = append(rep.Files, res...)
		if im.opts.Progress != nil {
			im.opts.Progress(i+1, len(groups))
		}
	}
	sort.SliceStable(rep.Files, func(i, j int) bool { return rep.Files[i].File < rep.Files[j].File })
	return rep, nil
}

// importGroup imports the files of one article. Its result comes first;
// page files left out of a multi-page text article follow, each with its
// error.
func (im *Importer) importGroup(ctx context.Context, g group, seen map[string]string) []FileResult {
	p, bad, err := im.parseGroup(ctx, g)
	for _, b := range bad {
		im.opts.Logger.Warn("import: page rejected", "file", b.File, "err", b.Err)
	}
	res := im.storeGroup(ctx, g, p, bad, err, seen)
	return append([]FileResult{res}, bad...)
}

func (im *Importer) storeGroup(ctx context.Context, g group, p *parsed, bad []FileResult, err error, seen map[string]string) FileResult {
	res := FileResult{File: g.files[0].name, Format: g.format}
	for _, f := range g.files {
		res.Files = append(res.Files, f.name)
	}
	fail := func(err error) FileResult {
		res.Err = err
		im.opts.Logger.Warn("import: rejected", "file", res.File, "err", err)
		return res
	}
	if err != nil {
		return fail(err)
	}
	if err := im.prepare(p, res.File, g.format, im.opts.DefaultSection); err != nil {
		return fail(err)
	}
	a := p.a
	res.Warnings = p.warnings
	for _, w := range p.warnings {
		im.opts.Logger.Warn("import: kept with a warning", "file", res.File, "warning", w)
	}
	if other, ok := seen[a.ID]; ok {
		return fail(source.Errorf(res.File, 0, "id", "%q is also the id of %s", a.ID, other))
	}
	seen[a.ID] = res.File
	res.ID = a.ID
	if err := im.keepStoredPages(ctx, a, bad); err != nil {
		return fail(fmt.Errorf("%s: %w", res.File, err))
	}
	if keep, err := im.stickyWithdrawal(ctx, a); err != nil {
		return fail(fmt.Errorf("%s: %w", res.File, err))
	} else if keep != nil {
		res.GUID, res.Outcome = keep.GUID, article.Unchanged
		im.opts.Logger.Debug("import: kept withdrawn", "file", res.File, "id", a.ID)
		return res
	}
	pr, err := im.put(ctx, a, res.File)
	if err != nil {
		return fail(err)
	}
	res.GUID, res.Outcome = pr.Article.GUID, pr.Outcome
	im.log(res.File, pr)
	return res
}

func (im *Importer) log(file string, pr article.PutResult) {
	if pr.Outcome == article.Unchanged {
		im.opts.Logger.Debug("import: unchanged", "file", file, "id", pr.Article.ID)
		return
	}
	im.opts.Logger.Info("import: "+pr.Outcome.String(), "file", file, "id", pr.Article.ID, "guid", pr.Article.GUID,
		"updated", pr.Article.Updated.Format(time.RFC3339))
}

// stickyWithdrawal keeps an article withdrawn (through the API) when its
// file, otherwise unchanged, is scanned again: only an edit of the file
// republishes it. It returns the stored article when nothing should be
// written.
func (im *Importer) stickyWithdrawal(ctx context.Context, a *article.Article) (*article.Article, error) {
	if a.Status != article.StatusPublished {
		return nil, nil
	}
	existing, err := im.store.GetArticle(ctx, a.ID)
	if errors.Is(err, article.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up %s: %w", a.ID, err)
	}
	if existing.Status != article.StatusWithdrawn {
		return nil, nil
	}
	probe := *a
	probe.Status = article.StatusWithdrawn
	probe.Series = existing.Series
	if probe.Published.IsZero() {
		probe.Published = existing.Published
	}
	if probe.ContentHash() == existing.ContentHash() {
		return existing, nil
	}
	return nil, nil
}

func (im *Importer) put(ctx context.Context, a *article.Article, file string) (article.PutResult, error) {
	im.learnPhotoSize(ctx, a)
	pr, err := im.store.PutArticle(ctx, a, im.opts.Now())
	if err != nil {
		var fe *article.FieldError
		if errors.As(err, &fe) {
			return pr, &Error{File: file, Field: fe.Field, Err: fe}
		}
		return pr, fmt.Errorf("%s: store %s: %w", file, a.ID, err)
	}
	return pr, nil
}

// parsed is one article read from its file(s), with what the importer
// needs besides it: the names its source gives its section, what a text
// page left out and what looks wrong in it.
type parsed struct {
	a       *article.Article
	section sectionNames
	// pages are the text page files read, in page order (none for other
	// formats).
	pages    []pageFile
	warnings []string
	// sectionFrom says where the section came from.
	sectionFrom string
	// settled are the lines taken out of the body once its pages were
	// put together (a headline or deck a later page repeats).
	settled []string
}

// pageFile is one text page file and what the parser read in it.
type pageFile struct {
	file string
	doc  *textpage.Document
}

// parseGroup reads the files of one article. For a text article in
// several files, a later page file that cannot be read or parsed is left
// out and returned in bad (the article records its page as missing, or
// keeps the stored copy: see keepStoredPages); only a failure of the file
// holding page 1 fails the article.
func (im *Importer) parseGroup(ctx context.Context, g group) (p *parsed, bad []FileResult, err error) {
	if g.format != FormatText {
		f := g.files[0]
		data, err := im.read(ctx, f)
		if err != nil {
			return nil, nil, err
		}
		p, err := parse(f.name, g.format, data, im.opts.Zone, im.opts.Logger)
		return p, nil, err
	}
	var docs []*textpage.Document
	var used []input
	for _, f := range g.files {
		d, err := im.parseText(ctx, f)
		if err != nil {
			if len(g.files) == 1 || pageOf(f.name) == 1 {
				return nil, nil, err
			}
			bad = append(bad, FileResult{File: f.name, Files: []string{f.name}, Format: FormatText, Err: err})
			continue
		}
		docs, used = append(docs, d), append(used, f)
	}
	if len(docs) == 0 {
		return nil, bad[1:], bad[0].Err
	}
	p, err = mergePages(used, docs)
	return p, bad, err
}

func (im *Importer) parseText(ctx context.Context, f input) (d *textpage.Document, err error) {
	data, err := im.read(ctx, f)
	if err != nil {
		return nil, err
	}
	defer recoverParse(f.name, &err)
	return textpage.Parse(f.name, data, im.opts.Zone)
}

// recoverParse turns a parser's panic on one file into that file's error:
// one file never stops the others, nor serve.
func recoverParse(name string, err *error) {
	if r := recover(); r != nil {
		*err = source.Errorf(name, 0, "", "could not be parsed (parser failure: %v)", r)
	}
}

// keepStoredPages puts back, from the stored version of a, the pages
// whose files failed this time: a broken page file never loses a page
// already accepted.
func (im *Importer) keepStoredPages(ctx context.Context, a *article.Article, bad []FileResult) error {
	if len(bad) == 0 {
		return nil
	}
	existing, err := im.store.GetArticle(ctx, a.ID)
	if errors.Is(err, article.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("look up %s: %w", a.ID, err)
	}
	have := map[int]bool{}
	for _, pg := range a.Body {
		have[pg.Number] = true
	}
	for _, b := range bad {
		n := pageOf(b.File)
		for _, pg := range existing.Body {
			if pg.Number == n && !have[n] {
				a.Body = append(a.Body, pg)
				have[n] = true
			}
		}
	}
	sort.Slice(a.Body, func(i, j int) bool { return a.Body[i].Number < a.Body[j].Number })
	return nil
}

// mergePages joins the page files of one text article: the header comes
// from the file holding page 1 (else the lowest page with a byline), the
// body from all. A later page without byline (a continuation) needs a
// file with a header beside it.
func mergePages(files []input, docs []*textpage.Document) (*parsed, error) {
	base := -1
	for i, d := range docs {
		if d.Continuation || len(d.Pages) == 0 {
			continue
		}
		if base < 0 || d.Pages[0] < docs[base].Pages[0] {
			base = i
		}
	}
	if base < 0 {
		for i, d := range docs {
			if !d.Continuation {
				base = i
				break
			}
		}
	}
	if base < 0 {
		return nil, needsFirstPage(files[0].name, docs[0])
	}
	a := docs[base].Article
	a.Body = nil
	p := &parsed{a: &a, section: textSection(files[base].name, docs[base])}
	from := map[int]string{}
	for i, d := range docs {
		p.pages = append(p.pages, pageFile{file: files[i].name, doc: d})
		for _, pg := range d.Article.Body {
			if other, ok := from[pg.Number]; ok {
				return nil, source.Errorf(files[i].name, 0, "pagination", "page %d is also in %s", pg.Number, other)
			}
			from[pg.Number] = files[i].name
			if i != base && d.Article.Photo != nil && pg.Number == d.LeadPage {
				// Another file's lead photo is a photo of its page here.
				pg.Photos = append([]article.PagePhoto{{Photo: *d.Article.Photo}}, pg.Photos...)
			}
			a.Body = append(a.Body, pg)
		}
		a.TotalPages = max(a.TotalPages, d.Article.TotalPages)
		a.EditorsNote = textpage.JoinNotes(a.EditorsNote, d.Article.EditorsNote)
		if d.TruncatedLine > 0 {
			p.warnings = append(p.warnings, fmt.Sprintf("%s:%d: the copy looks cut short: it stops in the middle of a paragraph", files[i].name, d.TruncatedLine))
		}
	}
	sort.Slice(a.Body, func(i, j int) bool { return a.Body[i].Number < a.Body[j].Number })
	p.settled = textpage.Settle(&a)
	if len(docs) > 1 {
		text := []string{a.Headline, a.Deck}
		a.Language = source.DetectLanguage(append(text, a.Paragraphs()...)...)
	}
	return p, nil
}

// textSection is what a text page says of its section.
func textSection(file string, d *textpage.Document) sectionNames {
	return sectionNames{file: file, crumb: d.Breadcrumb, line: d.BreadcrumbLine, label: d.Label, labelLine: d.LabelLine}
}

// needsFirstPage is the error for a later page without byline imported
// without the file holding page 1.
func needsFirstPage(name string, d *textpage.Document) error {
	_, page := textpage.PageOfName(name)
	if len(d.Pages) > 0 {
		page = d.Pages[0]
	}
	return source.Errorf(name, 0, "byline", "page %d has no byline of its own: import it together with page 1 of its article, %s, in the same directory",
		page, path.Base(filepath.ToSlash(textpage.FirstPageName(name))))
}

// read reads one input: a regular file only, within MaxFileBytes and
// ReadTimeout (see source.ReadFile).
func (im *Importer) read(ctx context.Context, f input) ([]byte, error) {
	return source.ReadFile(ctx, f.fsys, f.path, f.name, source.ReadOptions{Limit: im.opts.MaxFileBytes, Timeout: im.opts.ReadTimeout})
}

// ParseWarning is the message of the log records (warning level, the
// detail with file and line in attribute "warning") about what a parser
// changed without refusing the file, such as a Markdown link dropped.
const ParseWarning = "import: file changed on the way"

// parse reads one file of a known format; times without a zone are read
// in zone. What the parser changed without refusing the file is logged at
// warning level.
func parse(name, format string, data []byte, zone *time.Location, log *slog.Logger) (_ *parsed, err error) {
	defer recoverParse(name, &err)
	switch format {
	case FormatText:
		d, err := textpage.Parse(name, data, zone)
		if err != nil {
			return nil, err
		}
		if d.Continuation {
			return nil, needsFirstPage(name, d)
		}
		return mergePages([]input{{name: name}}, []*textpage.Document{d})
	case FormatMarkdown:
		d, err := structured.ParseMarkdown(name, data, zone)
		if err != nil {
			return nil, err
		}
		for _, w := range d.Warnings {
			log.Warn(ParseWarning, "warning", w.Error())
		}
		return &parsed{a: &d.Article, section: sectionNames{file: name, named: d.Section, line: d.SectionLine}}, nil
	case FormatJSON:
		d, err := structured.ParseJSON(name, data, zone)
		if err != nil {
			return nil, err
		}
		return &parsed{a: &d.Article, section: sectionNames{file: name, named: d.Section, line: d.SectionLine}}, nil
	}
	return nil, source.Errorf(name, 0, "", "unknown format %q: want text, markdown or json", format)
}

// Parse reads one file into an article as it would be stored (id, GUID,
// section and series set; Published still zero when the source gives
// none), without storing it. format "" means by extension. No default
// section applies: the file must name its own.
func (im *Importer) Parse(name, format string, data []byte) (*article.Article, error) {
	if format == "" {
		format = FormatOf(name)
	}
	format = normalFormat(format)
	p, err := parse(name, format, data, im.opts.Zone, im.opts.Logger)
	if err != nil {
		return nil, err
	}
	if err := im.prepare(p, name, format, ""); err != nil {
		return nil, err
	}
	return p.a, nil
}

func normalFormat(f string) string {
	switch strings.ToLower(f) {
	case "txt", "text", "text/plain":
		return FormatText
	case "md", "markdown", "text/markdown":
		return FormatMarkdown
	case "json", "application/json":
		return FormatJSON
	}
	return strings.ToLower(f)
}

// prepare sets id, section, GUID, series and source, and checks the
// result would be storable. dflt is the section of a file that names none.
func (im *Importer) prepare(p *parsed, name, format, dflt string) error {
	a := p.a
	from, err := im.resolveSection(a, p.section, dflt)
	if err != nil {
		return err
	}
	p.sectionFrom = from
	if a.ID == "" {
		a.ID = deriveID(name, format, a.CanonicalURL)
	}
	if a.ID == "" {
		return source.Errorf(name, 0, "id", "missing: give an id, a file name of a-z, 0-9 and '-', or a canonical_url")
	}
	now := im.opts.Now()
	a.GUID = MintGUID(im.opts.GUIDAuthority, a, now, im.opts.Zone)
	article.Classify(a, im.opts.Rules)
	if a.Source == "" {
		a.Source = name
	}
	if err := source.CheckArticle(a); err != nil {
		err.File = name
		return err
	}
	if err := source.CheckDates(a, im.opts.Earliest, now.Add(im.opts.MaxAhead)); err != nil {
		err.File = name
		return err
	}
	// Validate what the store would write for a new article.
	merged, _ := article.Merge(nil, a, now)
	if err := merged.Validate(); err != nil {
		var fe *article.FieldError
		if errors.As(err, &fe) {
			return &Error{File: name, Field: fe.Field, Err: fe}
		}
		return &Error{File: name, Err: err}
	}
	return nil
}

// deriveID returns the id from the file stem (multi-page suffix removed),
// else from the canonical URL's last path segment.
func deriveID(name, format, canonical string) string {
	if FormatOf(name) != "" {
		stem := strings.TrimSuffix(path.Base(filepath.ToSlash(name)), path.Ext(name))
		if format == FormatText {
			stem, _ = textpage.PageOfName(name)
		}
		if id := source.Slugify(stem); id != "" {
			return id
		}
	}
	if canonical != "" {
		if u, err := url.Parse(canonical); err == nil {
			seg := path.Base(strings.TrimSuffix(u.Path, "/"))
			switch strings.ToLower(path.Ext(seg)) {
			case ".html", ".htm", ".shtml", ".php", ".asp", ".aspx":
				seg = strings.TrimSuffix(seg, path.Ext(seg))
			}
			if seg != "/" && seg != "." {
				return source.Slugify(seg)
			}
		}
	}
	return ""
}

// MintGUID returns tag:AUTHORITY,YYYY-MM-DD:ID, dated by the article's
// Published time, else its Updated time, else now, in zone (the
// newsroom's). The store keeps the GUID of the first version for ever.
func MintGUID(authority string, a *article.Article, now time.Time, zone *time.Location) string {
	t := a.Published
	if t.IsZero() {
		t = a.Updated
	}
	if t.IsZero() {
		t = now
	}
	return "tag:" + authority + "," + t.In(zone).Format("2006-01-02") + ":" + a.ID
}

// ImportBytes imports one article given as bytes (an HTTP request body, for
// instance). format is text, markdown or json ("" means by name's
// extension); name is used in errors and, when it has a known extension,
// its stem can give the id.
func (im *Importer) ImportBytes(ctx context.Context, name, format string, data []byte) (article.PutResult, error) {
	if err := ctx.Err(); err != nil {
		return article.PutResult{}, fmt.Errorf("import %s: %w", name, err)
	}
	if int64(len(data)) > im.opts.MaxFileBytes {
		return article.PutResult{}, source.Errorf(name, 0, "", "%d bytes, more than the limit of %d", len(data), im.opts.MaxFileBytes)
	}
	a, err := im.Parse(name, format, data)
	if err != nil {
		return article.PutResult{}, err
	}
	pr, err := im.put(ctx, a, name)
	if err != nil {
		return pr, err
	}
	im.log(name, pr)
	return pr, nil
}

// PushArticle imports one JSON article pushed through the HTTP API
// (it satisfies server.ArticleAPI with Withdraw).
func (im *Importer) PushArticle(ctx context.Context, body []byte) (article.PutResult, error) {
	pr, err := im.ImportBytes(ctx, "request body", FormatJSON, body)
	im.notifyAPI(ctx, "request body", pr, err)
	return pr, err
}

// Withdraw marks article id withdrawn (it leaves every feed; Updated moves
// to now). Withdrawing a withdrawn article changes nothing. An unknown id
// gives an error matching article.ErrNotFound. A file in the content
// directory does not bring a withdrawn article back until the file is
// edited. It satisfies server.ArticleAPI with PushArticle.
func (im *Importer) Withdraw(ctx context.Context, id string) (article.PutResult, error) {
	pr, err := im.withdraw(ctx, id)
	im.notifyAPI(ctx, "withdraw", pr, err)
	return pr, err
}

func (im *Importer) withdraw(ctx context.Context, id string) (article.PutResult, error) {
	existing, err := im.store.GetArticle(ctx, id)
	if err != nil {
		return article.PutResult{}, fmt.Errorf("withdraw %s: %w", id, err)
	}
	if existing.Status == article.StatusWithdrawn {
		return article.PutResult{Article: existing, Outcome: article.Unchanged}, nil
	}
	w := *existing
	w.Status = article.StatusWithdrawn
	pr, err := im.store.PutArticle(ctx, &w, im.opts.Now())
	if err != nil {
		return pr, fmt.Errorf("withdraw %s: %w", id, err)
	}
	im.log("withdraw", pr)
	return pr, nil
}
