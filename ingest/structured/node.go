package structured

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"gopkg.in/yaml.v3"
)

// node is a decoded value with the line it starts on, whatever the syntax
// (YAML, TOML or JSON) it came from.
type node struct {
	kind  kind
	str   string // scalar text (kind scalar, number or bool)
	line  int
	items []*node // kind seq
	keys  []string
	vals  []*node // kind mapping, in source order
}

type kind int

const (
	kNull kind = iota
	kString
	kNumber
	kBool
	kSeq
	kMap
)

func (k kind) String() string {
	return [...]string{"null", "string", "number", "boolean", "list", "object"}[k]
}

// MaxFrontMatterValues bounds the values front matter may produce. YAML
// aliases repeat what their anchor holds, so a few hundred bytes of
// aliases of aliases can stand for billions of values (an "alias bomb");
// no article has more than a few hundred.
const MaxFrontMatterValues = 10000

var errTooManyValues = fmt.Errorf("the front matter expands to more than %d values (YAML aliases repeat what they point to): refused", MaxFrontMatterValues)

// yamlConverter turns yaml.Nodes into nodes within MaxFrontMatterValues.
type yamlConverter struct {
	lineOffset int
	produced   int
}

// convert converts y; lineOffset is added to every line.
func (c *yamlConverter) convert(y *yaml.Node, depth int) (*node, error) {
	if depth > 64 {
		return nil, &lineError{y.Line + c.lineOffset, errors.New("nested too deeply")}
	}
	n := &node{line: y.Line + c.lineOffset}
	c.produced++
	if c.produced > MaxFrontMatterValues {
		return nil, &lineError{n.line, errTooManyValues}
	}
	switch y.Kind {
	case yaml.DocumentNode:
		if len(y.Content) == 0 {
			return &node{kind: kMap, line: n.line}, nil
		}
		return c.convert(y.Content[0], depth+1)
	case yaml.AliasNode:
		if y.Alias == nil {
			return nil, &lineError{n.line, errors.New("broken alias")}
		}
		an, err := c.convert(y.Alias, depth+1)
		if le := (*lineError)(nil); errors.As(err, &le) && le.err == errTooManyValues {
			// Name the outermost alias that went past the bound, not a
			// line of what it repeats.
			le.line = n.line
		}
		return an, err
	case yaml.ScalarNode:
		n.str = y.Value
		switch y.ShortTag() {
		case "!!null":
			n.kind = kNull
		case "!!int", "!!float":
			n.kind = kNumber
		case "!!bool":
			n.kind = kBool
		default:
			n.kind = kString
		}
	case yaml.SequenceNode:
		n.kind = kSeq
		for _, ch := range y.Content {
			cn, err := c.convert(ch, depth+1)
			if err != nil {
				return nil, err
			}
			n.items = append(n.items, cn)
		}
	case yaml.MappingNode:
		n.kind = kMap
		for i := 0; i+1 < len(y.Content); i += 2 {
			k, v := y.Content[i], y.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return nil, &lineError{k.Line + c.lineOffset, errors.New("a key must be a plain name")}
			}
			if k.Value == "<<" {
				return nil, &lineError{k.Line + c.lineOffset, errors.New("merge keys (<<) are not supported")}
			}
			vn, err := c.convert(v, depth+1)
			if err != nil {
				return nil, err
			}
			vn.line = k.Line + c.lineOffset
			n.keys = append(n.keys, k.Value)
			n.vals = append(n.vals, vn)
		}
	default:
		return nil, &lineError{n.line, errors.New("unsupported YAML node")}
	}
	return n, nil
}

var yamlLineRe = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML decodes front matter text that starts on line firstLine.
func parseYAML(text string, firstLine int) (*node, int, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(strings.NewReader(text))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &node{kind: kMap, line: firstLine}, 0, nil
		}
		msg := err.Error()
		if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
			n, _ := strconv.Atoi(m[1])
			return nil, n + firstLine - 1, fmt.Errorf("YAML: %s", m[2])
		}
		return nil, firstLine, fmt.Errorf("YAML: %s", strings.TrimPrefix(msg, "yaml: "))
	}
	c := &yamlConverter{lineOffset: firstLine - 1}
	n, err := c.convert(&doc, 0)
	if le := (*lineError)(nil); errors.As(err, &le) {
		return nil, le.line, le.err
	} else if err != nil {
		return nil, firstLine, err
	}
	return n, 0, nil
}

// parseTOML decodes TOML front matter starting on line firstLine. TOML
// reports no positions for keys, so each key's line is found by searching
// the text for "key =".
func parseTOML(text string, firstLine int) (*node, int, error) {
	var m map[string]any
	if _, err := toml.Decode(text, &m); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, pe.Position.Line + firstLine - 1, fmt.Errorf("TOML: %s", pe.Message)
		}
		return nil, firstLine, fmt.Errorf("TOML: %v", err)
	}
	lines := strings.Split(text, "\n")
	lineOf := func(key string, from int) int {
		re := regexp.MustCompile(`^\s*(?:\[\s*)?"?` + regexp.QuoteMeta(key) + `"?\s*(?:=|\])`)
		for i := from; i < len(lines); i++ {
			if re.MatchString(lines[i]) {
				return i
			}
		}
		return from
	}
	var conv func(v any, line int) *node
	conv = func(v any, line int) *node {
		n := &node{line: line + firstLine}
		switch v := v.(type) {
		case string:
			n.kind, n.str = kString, v
		case int64:
			n.kind, n.str = kNumber, strconv.FormatInt(v, 10)
		case float64:
			n.kind, n.str = kNumber, strconv.FormatFloat(v, 'f', -1, 64)
		case bool:
			n.kind, n.str = kBool, strconv.FormatBool(v)
		case time.Time:
			n.kind = kString
			// BurntSushi/toml gives local date-times (no offset) a zone
			// named "datetime-local", "date-local"…: read them in the
			// newsroom zone like every zoneless time.
			if strings.Contains(strings.ToLower(v.Location().String()), "local") {
				n.str = v.Format("2006-01-02T15:04:05.999999999")
			} else {
				n.str = v.Format(time.RFC3339Nano)
			}
		case []any:
			n.kind = kSeq
			for _, it := range v {
				n.items = append(n.items, conv(it, line))
			}
		case []map[string]any:
			n.kind = kSeq
			for _, it := range v {
				n.items = append(n.items, conv(it, line))
			}
		case map[string]any:
			n.kind = kMap
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			sort.Slice(keys, func(i, j int) bool { return lineOf(keys[i], line) < lineOf(keys[j], line) })
			for _, k := range keys {
				n.keys = append(n.keys, k)
				n.vals = append(n.vals, conv(v[k], lineOf(k, line)))
			}
		default:
			n.kind, n.str = kString, fmt.Sprint(v)
		}
		return n
	}
	return conv(m, 0), 0, nil
}

// parseJSON decodes a JSON document into nodes, tracking each value's line
// through the decoder's input offset.
func parseJSON(data []byte) (*node, int, error) {
	lineAt := func(off int64) int {
		if off > int64(len(data)) {
			off = int64(len(data))
		}
		return bytes.Count(data[:off], []byte("\n")) + 1
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var value func(depth int) (*node, error)
	value = func(depth int) (*node, error) {
		if depth > 64 {
			return nil, errors.New("nested too deeply")
		}
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		// InputOffset before Token may sit before white space: skip it.
		for start < int64(len(data)) && strings.ContainsRune(" \t\r\n,:", rune(data[start])) {
			start++
		}
		n := &node{line: lineAt(start)}
		switch t := tok.(type) {
		case nil:
			n.kind = kNull
		case bool:
			n.kind, n.str = kBool, strconv.FormatBool(t)
		case json.Number:
			n.kind, n.str = kNumber, t.String()
		case string:
			n.kind, n.str = kString, t
		case json.Delim:
			switch t {
			case '[':
				n.kind = kSeq
				for dec.More() {
					c, err := value(depth + 1)
					if err != nil {
						return nil, err
					}
					n.items = append(n.items, c)
				}
			case '{':
				n.kind = kMap
				seen := map[string]bool{}
				for dec.More() {
					kstart := dec.InputOffset()
					kt, err := dec.Token()
					if err != nil {
						return nil, err
					}
					k, _ := kt.(string)
					for kstart < int64(len(data)) && strings.ContainsRune(" \t\r\n,", rune(data[kstart])) {
						kstart++
					}
					if seen[k] {
						return nil, &lineError{lineAt(kstart), fmt.Errorf("%q: given twice", k)}
					}
					seen[k] = true
					v, err := value(depth + 1)
					if err != nil {
						return nil, err
					}
					v.line = lineAt(kstart)
					n.keys = append(n.keys, k)
					n.vals = append(n.vals, v)
				}
			}
			if _, err := dec.Token(); err != nil { // closing delimiter
				return nil, err
			}
		}
		return n, nil
	}
	n, err := value(0)
	if err == nil {
		if _, e := dec.Token(); !errors.Is(e, io.EOF) {
			err = fmt.Errorf("JSON: data after the top-level value")
			return nil, lineAt(dec.InputOffset()), err
		}
		return n, 0, nil
	}
	var le *lineError
	if errors.As(err, &le) {
		return nil, le.line, le.err
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return nil, lineAt(se.Offset), fmt.Errorf("JSON: %v", se)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, lineAt(int64(len(data))), fmt.Errorf("JSON: unexpected end of input")
	}
	return nil, lineAt(dec.InputOffset()), fmt.Errorf("JSON: %v", err)
}

type lineError struct {
	line int
	err  error
}

func (e *lineError) Error() string { return e.err.Error() }
