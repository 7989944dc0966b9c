package feeds

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/storage/storagetest"
)

func TestHandler(t *testing.T) {
	st := storagetest.SQLite(t)
	seed(t, st, seedArticles())
	set := newTestSet(t, st, testSpecs(""), func() time.Time { return fixedNow })
	srv := httptest.NewServer(set)
	defer srv.Close()

	res := set.snap.Load().byPath["/feeds/society.rss"]
	etag, gzETag, lm := res.plain.etag, res.gz.etag, res.hdrLM[0]
	if etag == gzETag {
		t.Fatal("gzip representation shares the plain ETag")
	}
	if !strings.HasPrefix(etag, `"`) || strings.HasPrefix(etag, "W/") {
		t.Fatalf("ETag %s is not a strong quoted tag", etag)
	}
	before := lm
	after := res.lastMod.Add(time.Hour).Format(http.TimeFormat)
	earlier := res.lastMod.Add(-time.Hour).Format(http.TimeFormat)

	type tc struct {
		name     string
		method   string
		path     string
		hdr      map[string]string
		status   int
		wantHdr  map[string]string
		gzipBody bool
		noBody   bool
	}
	ct := map[string]string{"Content-Type": "application/rss+xml; charset=utf-8", "Vary": "Accept-Encoding",
		"Cache-Control": "public, max-age=300", "Last-Modified": lm}
	merge := func(m map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	cases := []tc{
		{name: "plain GET", method: "GET", path: "/feeds/society.rss", status: 200,
			wantHdr: merge(ct, "ETag", etag, "Content-Encoding", "")},
		{name: "atom type", method: "GET", path: "/feeds/society.atom", status: 200,
			wantHdr: map[string]string{"Content-Type": "application/atom+xml; charset=utf-8"}},
		{name: "json type", method: "GET", path: "/feeds/series/shanghai-70th.json", status: 200,
			wantHdr: map[string]string{"Content-Type": "application/feed+json; charset=utf-8"}},
		{name: "gzip", method: "GET", path: "/feeds/society.rss", hdr: map[string]string{"Accept-Encoding": "br, gzip;q=0.8"},
			status: 200, gzipBody: true, wantHdr: merge(ct, "ETag", gzETag, "Content-Encoding", "gzip")},
		{name: "gzip q=0", method: "GET", path: "/feeds/society.rss", hdr: map[string]string{"Accept-Encoding": "gzip;q=0, deflate"},
			status: 200, wantHdr: map[string]string{"ETag": etag, "Content-Encoding": ""}},
		{name: "star", method: "GET", path: "/feeds/society.rss", hdr: map[string]string{"Accept-Encoding": "*"},
			status: 200, gzipBody: true, wantHdr: map[string]string{"Content-Encoding": "gzip"}},
		{name: "star but gzip q=0", method: "GET", path: "/feeds/society.rss", hdr: map[string]string{"Accept-Encoding": "*;q=1, gzip;q=0.000"},
			status: 200, wantHdr: map[string]string{"Content-Encoding": ""}},
		{name: "HEAD", method: "HEAD", path: "/feeds/society.rss", status: 200, noBody: true,
			wantHdr: merge(ct, "ETag", etag, "Content-Length", itoa64(int64(len(res.plain.body))))},
		{name: "INM match", method: "GET", path: "/feeds/society.rss", hdr: map[string]string{"If-None-Match": etag},
			status: 304, noBody: true, wantHdr: map[string]string{"ETag": etag, "Vary": "Accept-Encoding", "Cache-Control": "public, max-age=300"}},
		{name: "INM weak list", method: "GET", path: "/feeds/society.rss", hdr: map[string]string{"If-None-Match": `"nope", W/` + etag},
			status: 304, noBody: true},
		{name: "INM star", method: "GET", path: "/feeds/society.rss", hdr: map[string]string{"If-None-Match": "*"}, status: 304},
		{name: "INM gzip tag on plain request", method: "GET", path: "/feeds/society.rss", hdr: map[string]string{"If-None-Match": gzETag}, status: 200},
		{name: "INM gzip", method: "GET", path: "/feeds/society.rss", hdr: map[string]string{"If-None-Match": gzETag, "Accept-Encoding": "gzip"},
			status: 304, wantHdr: map[string]string{"ETag": gzETag}},
		{name: "INM mismatch beats IMS", method: "GET", path: "/feeds/society.rss", hdr: map[string]string{"If-None-Match": `"other"`, "If-Modified-Since": after}, status: 200},
		{name: "IMS same", method: "GET", path: "/feeds/society.rss", hdr: map[string]string{"If-Modified-Since": before}, status: 304},
		{name: "IMS later", method: "HEAD", path: "/feeds/society.rss", hdr: map[string]string{"If-Modified-Since": after}, status: 304},
		{name: "IMS earlier", method: "GET", path: "/feeds/society.rss", hdr: map[string]string{"If-Modified-Since": earlier}, status: 200},
		{name: "IMS garbage", method: "GET", path: "/feeds/society.rss", hdr: map[string]string{"If-Modified-Since": "yesterday"}, status: 200},
		{name: "unknown feed", method: "GET", path: "/feeds/sport.rss", status: 404},
		{name: "unknown format", method: "GET", path: "/feeds/society.xml", status: 404},
		{name: "numbered page of a complete feed", method: "GET", path: "/feeds/series/shanghai-70th/archive/1.rss", status: 301,
			wantHdr: map[string]string{"Location": "/feeds/series/shanghai-70th.rss"}},
		{name: "archive page zero", method: "GET", path: "/feeds/series/shanghai-70th/archive/0.rss", status: 404},
		{name: "POST", method: "POST", path: "/feeds/society.rss", status: 405, wantHdr: map[string]string{"Allow": "GET, HEAD"}},
		{name: "DELETE", method: "DELETE", path: "/feeds/society.json", status: 405, wantHdr: map[string]string{"Allow": "GET, HEAD"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, srv.URL+c.path, nil)
			req.Header.Set("Accept-Encoding", "identity") // keep the transport from adding gzip
			for k, v := range c.hdr {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.status)
			}
			for k, v := range c.wantHdr {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if c.noBody || c.status == 304 {
				if len(body) != 0 {
					t.Errorf("body of %d bytes, want none", len(body))
				}
				return
			}
			if c.status != 200 {
				return
			}
			if c.gzipBody {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			want, _, _ := set.Get(context.Background(), c.path)
			if !bytes.Equal(body, want) {
				t.Errorf("body differs from the built bytes")
			}
		})
	}
}

// TestRebuildStable: rebuilding unchanged content keeps the very same
// resource (ETag, Last-Modified, gzip bytes) and reports no change; an edit
// changes exactly the feeds that hold the article.
func TestRebuildStable(t *testing.T) {
	st := storagetest.SQLite(t)
	arts := seedArticles()
	seed(t, st, arts)
	b, err := NewBuilder(st, testSpecs(""), Options{Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	set := NewSet(b, SetOptions{})
	ctx := context.Background()
	first, err := set.Rebuild(ctx)
	if err != nil || len(first) != 6 {
		t.Fatalf("first rebuild: %d changes, %v", len(first), err)
	}
	old := set.snap.Load().byPath
	// A second Set over the same store (a restart) yields the same headers.
	set2 := NewSet(b, SetOptions{})
	if _, err := set2.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	for p, r := range old {
		r2 := set2.snap.Load().byPath[p]
		if r.plain.etag != r2.plain.etag || r.gz.etag != r2.gz.etag || r.hdrLM[0] != r2.hdrLM[0] {
			t.Errorf("%s: validators differ across restarts", p)
		}
	}
	again, err := set.Rebuild(ctx)
	if err != nil || len(again) != 0 {
		t.Fatalf("unchanged rebuild: %v, %v", again, err)
	}
	for p, r := range set.snap.Load().byPath {
		if old[p] != r {
			t.Errorf("%s: resource replaced though bytes are equal", p)
		}
	}
	// Edit the agency report (society only).
	ed := *arts[2]
	ed.Body = []article.Page{{Number: 1, Paragraphs: []string{"Corrected agency text."}}}
	if _, err := st.PutArticle(ctx, &ed, fixedNow); err != nil {
		t.Fatal(err)
	}
	changed, err := set.Rebuild(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, c := range changed {
		paths = append(paths, c.Path)
		if c.URL != testBase+c.Path {
			t.Errorf("change URL %s", c.URL)
		}
	}
	if strings.Join(paths, " ") != "/feeds/society.rss /feeds/society.atom /feeds/society.json" {
		t.Errorf("changed %v", paths)
	}
	if r := set.snap.Load().byPath["/feeds/society.rss"]; r.plain.etag == old["/feeds/society.rss"].plain.etag {
		t.Errorf("ETag kept across a change")
	} else if !r.lastMod.After(old["/feeds/society.rss"].lastMod) {
		t.Errorf("Last-Modified did not move forward on an edit")
	}
}

// TestFutureArticleAppears: a future-dated article stays out until a build
// runs after its time.
func TestFutureArticleAppears(t *testing.T) {
	st := storagetest.SQLite(t)
	arts := conformanceArticles()
	seed(t, st, arts)
	now := fixedNow
	set := newTestSet(t, st, testSpecs(""), func() time.Time { return now })
	ctx := context.Background()
	body, _, _ := set.Get(ctx, "/feeds/society.json")
	if bytes.Contains(body, []byte("From the future")) || bytes.Contains(body, []byte("Withdrawn")) {
		t.Fatal("future or withdrawn article shown")
	}
	now = fixedNow.Add(2 * time.Hour)
	if _, err := set.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	body, _, _ = set.Get(ctx, "/feeds/society.json")
	if !bytes.Contains(body, []byte("From the future")) {
		t.Fatal("future article missing once due")
	}
	if bytes.Contains(body, []byte("Withdrawn")) {
		t.Fatal("withdrawn article shown")
	}
}
