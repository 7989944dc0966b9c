package feeds

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/config"
	"github.com/syndicated/syndicated/feeds/feedstate"
	"github.com/syndicated/syndicated/internal/testkit"
)

// seed stores articles with PutArticle, as ingest does.
func seed(tb testing.TB, s article.Store, arts []*article.Article) {
	tb.Helper()
	ctx := context.Background()
	for _, a := range arts {
		if _, err := s.PutArticle(ctx, a, a.Updated); err != nil {
			tb.Fatalf("PutArticle %s: %v", a.ID, err)
		}
	}
}

// fixedNow is the test clock: after every seed article, before the
// future-dated one.
var fixedNow = time.Date(2019, 5, 1, 12, 0, 0, 0, time.UTC)

func newTestSet(tb testing.TB, s article.Store, specs []Spec, now func() time.Time) *Set {
	tb.Helper()
	cfg := config.Default()
	zone, err := cfg.Location()
	if err != nil {
		tb.Fatal(err)
	}
	b, err := NewBuilder(s, specs, Options{Now: now, Generator: "syndicated", Version: "test", Location: zone})
	if err != nil {
		tb.Fatal(err)
	}
	state, _ := s.(feedstate.Store) // the test stores keep feed state
	set := NewSet(b, SetOptions{MaxAge: 5 * time.Minute, State: state})
	if _, err := set.Rebuild(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return set
}

// visible returns the articles a feed of spec must hold at now, newest
// first, ties by ID as the store orders them.
func visible(arts []*article.Article, s Spec, now time.Time) []*article.Article {
	var out []*article.Article
	for _, a := range arts {
		in := a.Section == s.Slug
		if s.Kind == KindSeries {
			in = a.InSeries(s.Slug)
		}
		if in && a.Visible(now) {
			out = append(out, a)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Published.Equal(out[j].Published) {
			return out[i].Published.After(out[j].Published)
		}
		return out[i].ID > out[j].ID
	})
	return out
}

// jsonFeedSchema compiles the JSON Feed 1.1 schema from the shared
// conformance directory, skipping when it is absent outside CI.
func jsonFeedSchema(tb testing.TB) *jsonschema.Schema {
	tb.Helper()
	dir := testkit.Shared(tb, "conformance/jsonfeed-1.1")
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	for name, id := range map[string]string{
		"feed-1.json": "https://json.schemastore.org/feed-1",
		"feed.json":   "https://json.schemastore.org/feed.json",
	} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			tb.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		if err := c.AddResource(id, doc); err != nil {
			tb.Fatal(err)
		}
	}
	sch, err := c.Compile("https://json.schemastore.org/feed.json")
	if err != nil {
		tb.Fatal(err)
	}
	return sch
}

func validateJSONFeed(tb testing.TB, sch *jsonschema.Schema, body []byte) {
	tb.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		tb.Fatalf("JSON feed is not JSON: %v", err)
	}
	if err := sch.Validate(inst); err != nil {
		tb.Errorf("JSON feed fails the JSON Feed 1.1 schema: %v", err)
	}
}

// node is a generic XML element, namespaces resolved.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Kids    []*node    `xml:",any"`
}

func parseXML(tb testing.TB, body []byte) *node {
	tb.Helper()
	var n node
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	if err := d.Decode(&n); err != nil {
		tb.Fatalf("not well-formed XML: %v", err)
	}
	return &n
}

func (n *node) attr(local string) (string, bool) {
	for _, a := range n.Attrs {
		if a.Name.Local == local {
			return a.Value, true
		}
	}
	return "", false
}

func (n *node) attrNS(space, local string) string {
	for _, a := range n.Attrs {
		if a.Name.Space == space && a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

func (n *node) all(space, local string) []*node {
	var out []*node
	for _, k := range n.Kids {
		if k.XMLName.Space == space && k.XMLName.Local == local {
			out = append(out, k)
		}
	}
	return out
}

func (n *node) one(space, local string) *node {
	if k := n.all(space, local); len(k) > 0 {
		return k[0]
	}
	return nil
}

func (n *node) walk(fn func(*node)) {
	fn(n)
	for _, k := range n.Kids {
		k.walk(fn)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
