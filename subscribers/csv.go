package subscribers

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// headerScanLimit is how many records ImportCSV looks through for the header
// row (a spreadsheet export often starts with a title and blank lines).
const headerScanLimit = 50

// RowError is a bad CSV row: its line number (1-based, where the record
// starts) and what is wrong with it.
type RowError struct {
	Line int
	Err  error
}

func (e *RowError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *RowError) Unwrap() error { return e.Err }

// CSVRow is one good row of a subscriber CSV file.
type CSVRow struct {
	Line   int
	Email  string // normalised
	Name   string
	Lists  []string // as written; empty when the file has no lists column or the cell is blank
	Status Status   // empty when the file has no status column or the cell is blank
	// Cadences by list ("" for a cadence given for every list of the
	// row), from a cadences column: "daily", or "slug:daily;slug2:story".
	Cadences map[string]Cadence
	// PausedUntil from a paused_until column (RFC 3339 or YYYY-MM-DD,
	// UTC); zero when blank.
	PausedUntil time.Time
}

// CSVReader reads subscriber rows from CSV. It finds the header row among the
// first lines (a row with a cell named email, e-mail, email address or
// mail), recognises the columns name, lists/list and status in any order and
// case, ignores other columns, and detects a comma, semicolon or tab
// separator from the header line.
//
// A row the CSV parser cannot frame (a quote opened and never closed, which
// would otherwise swallow every line after it) is reported with the line
// it starts on, and reading goes on at the next line.
type CSVReader struct {
	src   io.Reader // what the csv.Reader reads: lines given back after a resync, then the file
	r     *csv.Reader
	comma rune
	// taken holds what r has taken from src since takenAt, an offset in
	// r's input: the bytes of the record being read and r's read-ahead.
	taken   []byte
	takenAt int64
	// lineBase is how many lines of the file come before r's first line.
	lineBase int
	header   bool
	col      map[string]int
}

// NewCSVReader prepares to read r.
func NewCSVReader(r io.Reader) *CSVReader {
	br := bufio.NewReaderSize(r, 64<<10)
	c := &CSVReader{src: br, comma: sniffComma(br)}
	c.reset()
	return c
}

// reset starts a csv.Reader on what is left of src.
func (c *CSVReader) reset() {
	c.r = csv.NewReader(takeRecorder{c})
	c.r.Comma = c.comma
	c.r.FieldsPerRecord = -1
	c.r.ReuseRecord = true
	c.taken, c.takenAt = c.taken[:0], 0
}

// takeRecorder keeps what the csv.Reader takes from src.
type takeRecorder struct{ c *CSVReader }

func (t takeRecorder) Read(p []byte) (int, error) {
	n, err := t.c.src.Read(p)
	t.c.taken = append(t.c.taken, p[:n]...)
	return n, err
}

// read reads the next record; a record that cannot be framed gives a
// *csv.ParseError whose lines count from the file's start, and the next
// read starts on the line after the one the bad record started on.
func (c *CSVReader) read() ([]string, error) {
	start := c.r.InputOffset()
	c.taken = c.taken[start-c.takenAt:]
	c.takenAt = start
	rec, err := c.r.Read()
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		// Give back every line after the record's first: the record may
		// have run to the end of the file looking for a closing quote.
		first := bytes.IndexByte(c.taken, '\n')
		rest := []byte{}
		if first >= 0 {
			rest = bytes.Clone(c.taken[first+1:])
		}
		c.src = io.MultiReader(bytes.NewReader(rest), c.src)
		pe.StartLine += c.lineBase
		pe.Line += c.lineBase
		c.lineBase = pe.StartLine
		c.reset()
		return nil, pe
	}
	return rec, err
}

// line is the file's line of field i of the record just read.
func (c *CSVReader) line(i int) int {
	l, _ := c.r.FieldPos(i)
	return l + c.lineBase
}

// sniffComma looks at the first line mentioning "mail" and picks the most
// frequent of comma, semicolon and tab in it.
func sniffComma(br *bufio.Reader) rune {
	buf, _ := br.Peek(64 << 10)
	for line := range bytes.Lines(buf) {
		if !bytes.Contains(bytes.ToLower(line), []byte("mail")) {
			continue
		}
		best, n := ',', bytes.Count(line, []byte{','})
		for _, c := range []rune{';', '\t'} {
			if k := bytes.Count(line, []byte(string(c))); k > n {
				best, n = c, k
			}
		}
		return best
	}
	return ','
}

func columnName(cell string) string {
	c := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(cell, "\ufeff")))
	c = strings.NewReplacer("_", " ", "-", " ").Replace(c)
	switch c {
	case "email", "e mail", "email address", "e mail address", "mail", "address":
		return "email"
	case "name", "full name", "display name":
		return "name"
	case "lists", "list", "series":
		return "lists"
	case "status", "state":
		return "status"
	case "cadences", "cadence", "frequency":
		return "cadences"
	case "paused until", "paused":
		return "paused_until"
	}
	return ""
}

func (c *CSVReader) findHeader() error {
	for i := 0; i < headerScanLimit; i++ {
		rec, err := c.read()
		if err == io.EOF {
			return errors.New("no header row with an email column")
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				continue
			}
			return err
		}
		col := map[string]int{}
		for j, cell := range rec {
			if n := columnName(cell); n != "" {
				if _, dup := col[n]; !dup {
					col[n] = j
				}
			}
		}
		if _, ok := col["email"]; ok {
			c.col = col
			c.header = true
			return nil
		}
	}
	return fmt.Errorf("no header row with an email column in the first %d lines", headerScanLimit)
}

// framingError says why a row could not be framed, in an operator's words.
func framingError(pe *csv.ParseError) error {
	if errors.Is(pe.Err, csv.ErrQuote) && pe.Line > pe.StartLine {
		return fmt.Errorf("a quoted cell opened on this line is not closed where the row ends (%v); the row is skipped and reading goes on at the next line", pe.Err)
	}
	return fmt.Errorf("%v; the row is skipped", pe.Err)
}

// ParseStatus reads a status cell: a Status name or one of the aliases
// subscribed/confirmed (active) and unconfirmed (pending). Blank gives "".
func ParseStatus(s string) (Status, error) {
	switch st := Status(strings.ToLower(strings.TrimSpace(s))); st {
	case "":
		return "", nil
	case "subscribed", "confirmed":
		return StatusActive, nil
	case "unconfirmed":
		return StatusPending, nil
	default:
		if st.Valid() {
			return st, nil
		}
		return "", fmt.Errorf("unknown status %q (want pending, active, unsubscribed or bounced)", s)
	}
}

// SplitLists splits a lists cell on commas, semicolons, bars and spaces.
func SplitLists(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ';' || r == '|' || r == ' ' || r == '\t'
	})
}

// unescapeFormula undoes the quote ExportCSV puts before a cell that a
// spreadsheet would take for a formula.
func unescapeFormula(s string) string {
	if len(s) >= 2 && s[0] == '\'' && strings.ContainsRune("=+-@\t\r", rune(s[1])) {
		return s[1:]
	}
	return s
}

// escapeFormula prefixes a quote to a cell a spreadsheet would run as a
// formula (CSV injection).
func escapeFormula(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) || unescapeFormula(s) != s {
		return "'" + s
	}
	return s
}

// Next returns the next good row. A bad row gives a *RowError, after which
// Next may be called again; io.EOF ends the file; any other error is fatal
// (no header row, a read error). Blank rows are skipped.
func (c *CSVReader) Next() (CSVRow, error) {
	if !c.header {
		if err := c.findHeader(); err != nil {
			return CSVRow{}, err
		}
	}
	for {
		rec, err := c.read()
		if err == io.EOF {
			return CSVRow{}, io.EOF
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return CSVRow{}, &RowError{Line: pe.StartLine, Err: framingError(pe)}
			}
			return CSVRow{}, err
		}
		line := c.line(0)
		blank := true
		for _, cell := range rec {
			if strings.TrimSpace(cell) != "" {
				blank = false
				break
			}
		}
		if blank {
			continue
		}
		cell := func(name string) string {
			if j, ok := c.col[name]; ok && j < len(rec) {
				return rec[j]
			}
			return ""
		}
		row := CSVRow{Line: line}
		if row.Email, err = Normalize(unescapeFormula(cell("email"))); err != nil {
			return CSVRow{}, &RowError{Line: line, Err: err}
		}
		if row.Name, err = ValidateName(unescapeFormula(cell("name"))); err != nil {
			return CSVRow{}, &RowError{Line: line, Err: err}
		}
		if row.Status, err = ParseStatus(cell("status")); err != nil {
			return CSVRow{}, &RowError{Line: line, Err: err}
		}
		row.Lists = SplitLists(cell("lists"))
		if row.Cadences, err = ParseCadences(cell("cadences")); err != nil {
			return CSVRow{}, &RowError{Line: line, Err: err}
		}
		if row.PausedUntil, err = parsePausedUntil(cell("paused_until")); err != nil {
			return CSVRow{}, &RowError{Line: line, Err: err}
		}
		return row, nil
	}
}

// ParseCadences reads a cadences cell: blank, a cadence for every list of
// the row ("daily", key ""), or "slug:cadence" entries split like lists.
func ParseCadences(cell string) (map[string]Cadence, error) {
	out := map[string]Cadence{}
	for _, f := range SplitLists(cell) {
		slug, name, ok := strings.Cut(f, ":")
		if !ok {
			slug, name = "", f
		}
		c, err := ParseCadence(name)
		if err != nil {
			return nil, fmt.Errorf("cadences: %w", err)
		}
		out[slug] = c
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// FormatCadences writes cadences as ParseCadences reads them, by slug.
func FormatCadences(cadences map[string]Cadence) string {
	var parts []string
	for slug, c := range cadences {
		parts = append(parts, listChoice(slug, c))
	}
	slices.Sort(parts)
	return strings.Join(parts, ";")
}

// parsePausedUntil reads a paused_until cell.
func parsePausedUntil(cell string) (time.Time, error) {
	cell = strings.TrimSpace(cell)
	if cell == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, cell); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, cell); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("paused_until %q: want RFC 3339 or YYYY-MM-DD", cell)
}
