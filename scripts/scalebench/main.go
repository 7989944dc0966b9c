// Command scalebench measures the feeds at a newsroom's scale on a store
// it seeds itself: N articles over 20 years (the Society section at 150 a
// day for the last 15, quieter before), every tenth in the series, 5,000
// authors and 20,000 tags. It reports the build after one new story (wall
// and CPU time, median of rounds), what serving archive documents and
// author and tag feeds costs and holds in memory, that every story is on
// exactly one archive document (or, not archived yet, in the feed), and
// how soon the built-in hub pushes a change to a subscriber.
//
//	go run ./scripts/scalebench -db sqlite:/tmp/scale.db -n 1000000 -seed
//	go run ./scripts/scalebench -db postgres://… -n 1000000 -seed
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/feeds"
	"github.com/syndicated/syndicated/feeds/websub"
	"github.com/syndicated/syndicated/storage"
)

const base = "https://news.example"

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

func main() {
	dbURL := flag.String("db", "sqlite:scale.db", "database URL (sqlite:PATH or postgres://…)")
	n := flag.Int("n", 1_000_000, "articles")
	seed := flag.Bool("seed", false, "seed the store first (an empty one)")
	seedOnly := flag.Bool("seedonly", false, "seed the store and stop (measure in another run, without -seed)")
	rounds := flag.Int("rounds", 7, "builds after one new story")
	walk := flag.Bool("walk", true, "check every story is on exactly one archive document (renders them all)")
	heapProfile := flag.String("heapprofile", "", "write a heap profile after the serving phase")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the serving phase")
	hub := flag.Bool("hub", true, "time a push through the built-in hub")
	requests := flag.Int("requests", 3000, "requests of the serving phase")
	flag.Parse()
	ctx := context.Background()
	st, err := storage.Open(ctx, *dbURL, os.TempDir())
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	end := time.Date(2026, 12, 1, 0, 0, 0, 0, shanghai)
	if *seed || *seedOnly {
		seedStore(ctx, st, *n, end)
	}
	if *seedOnly {
		return
	}
	now := end.Add(15 * time.Hour) // 15:00 on the last day: a busy day under way
	clock := func() time.Time { return now }
	people := &feeds.Spec{BaseURL: base, Language: "en", Author: "Newsroom", HubURL: base + websub.HubPath}
	specs := []feeds.Spec{
		{Slug: "society", Kind: feeds.KindSection, Title: "Society", BaseURL: base, HubURL: base + websub.HubPath},
		{Slug: "shanghai-70th", Kind: feeds.KindSeries, Title: "Shanghai 70th anniversary series", BaseURL: base, HubURL: base + websub.HubPath},
	}
	b, err := feeds.NewBuilder(st, specs, feeds.Options{Now: clock, Location: shanghai, People: people, TTL: 5 * time.Minute})
	if err != nil {
		log.Fatal(err)
	}
	set := feeds.NewSet(b, feeds.SetOptions{State: st, CacheBytes: 64 << 20})
	t0, c0 := time.Now(), cpu()
	if _, err := set.Rebuild(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("first build: %s wall, %s CPU\n", time.Since(t0).Round(time.Millisecond), (cpu() - c0).Round(time.Millisecond))

	// Builds after one new story each.
	var walls, cpus []time.Duration
	for r := range *rounds {
		now = now.Add(time.Minute)
		a := benchArticle(*n+r, now.Add(-30*time.Second), 0)
		if _, err := st.PutArticle(ctx, a, now); err != nil {
			log.Fatal(err)
		}
		t0, c0 := time.Now(), cpu()
		set.Invalidate()
		ch, err := set.Rebuild(ctx)
		if err != nil {
			log.Fatal(err)
		}
		walls, cpus = append(walls, time.Since(t0)), append(cpus, cpu()-c0)
		if r == 0 {
			fmt.Printf("one new story: %d documents changed (sections, series, author and tag feeds named)\n", len(ch))
		}
	}
	fmt.Printf("build after one new story: median %s wall, %s CPU (%d rounds)\n", median(walls), median(cpus), *rounds)

	// Serving what crawlers and readers ask for: archive documents of
	// random periods and random author and tag feeds, within the cache.
	srv := httptest.NewServer(set)
	defer srv.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	var ms runtime.MemStats
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
	}
	t0, c0 = time.Now(), cpu()
	served := 0
	for i := range *requests {
		var p string
		switch i % 3 {
		case 0:
			d := end.AddDate(0, 0, -rng.IntN(365*20))
			p = fmt.Sprintf("/feeds/society/archive/%s.rss", d.Format(time.DateOnly))
		case 1:
			p = fmt.Sprintf("/feeds/authors/reporter-%d.atom", rng.IntN(5000))
		default:
			p = fmt.Sprintf("/feeds/tags/topic-%d.json", zipf(rng, 20000))
		}
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			log.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			served++
		}
	}
	if *cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	if *heapProfile != "" {
		f, err := os.Create(*heapProfile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.WriteHeapProfile(f)
		f.Close()
	}
	docs, bytes := set.CacheStats()
	fmt.Printf("%d requests (archive days, author and tag feeds; 301s followed): %d answered 200 in %s wall, %s CPU; cache %d documents, %.1f MiB; heap in use %.1f MiB\n",
		*requests, served, time.Since(t0).Round(time.Millisecond), (cpu() - c0).Round(time.Millisecond), docs, float64(bytes)/(1<<20), float64(ms.HeapInuse)/(1<<20))

	if *hub {
		hubPush(ctx, st, set, b, &now)
	}

	if *walk {
		walkArchive(ctx, st, set, now)
	}
}

// hubPush subscribes a local subscriber through the built-in hub, adds a
// story and times the push.
func hubPush(ctx context.Context, st storage.Storage, set *feeds.Set, b *feeds.Builder, now *time.Time) {
	got := make(chan time.Time, 10)
	sub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			io.WriteString(w, r.URL.Query().Get("hub.challenge"))
			return
		}
		io.Copy(io.Discard, r.Body)
		got <- time.Now()
	}))
	defer sub.Close()
	hub, err := websub.NewHub(websub.HubOptions{Store: st, URL: base + websub.HubPath, BaseURL: base,
		Content: func(ctx context.Context, path string) ([]byte, string, error) {
			body, f, err := set.Get(ctx, path)
			return body, f.ContentType(), err
		}, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, Poll: 200 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	hs := httptest.NewServer(hub)
	defer hs.Close()
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go hub.Run(hctx)
	topic := base + "/feeds/society.atom"
	resp, err := http.PostForm(hs.URL, url.Values{"hub.mode": {"subscribe"}, "hub.topic": {topic}, "hub.callback": {sub.URL + "/cb"}})
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	for range 100 {
		if n, _ := st.LiveSubscriptions(ctx, topic, time.Now()); n > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	*now = now.Add(time.Minute)
	a := benchArticle(99_999_999, now.Add(-10*time.Second), 0)
	start := time.Now()
	if _, err := st.PutArticle(ctx, a, *now); err != nil {
		log.Fatal(err)
	}
	changes, err := set.Rebuild(ctx)
	if err != nil {
		log.Fatal(err)
	}
	var topics []string
	for _, c := range changes {
		topics = append(topics, c.URL)
	}
	if err := hub.Publish(ctx, topics...); err != nil {
		log.Fatal(err)
	}
	select {
	case at := <-got:
		fmt.Printf("built-in hub: a new story reached the subscriber %s after it was stored (rebuild included)\n", at.Sub(start).Round(time.Millisecond))
	case <-time.After(30 * time.Second):
		fmt.Println("built-in hub: no push within 30 s")
	}
}

// walkArchive checks, for the section and the series, that every visible
// story is on exactly one archive document or, not archived yet, in the
// subscription feed.
func walkArchive(ctx context.Context, st storage.Storage, set *feeds.Set, now time.Time) {
	t0 := time.Now()
	paths, err := set.ArchivePaths(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, feed := range []struct{ name, path string }{{"society", "/feeds/society"}, {"series", "/feeds/series/shanghai-70th"}} {
		seen := map[string]int{}
		docs, biggest := 0, 0
		for _, p := range paths {
			if len(p) < len(feed.path)+9 || p[:len(feed.path)+9] != feed.path+"/archive/" || p[len(p)-4:] != ".rss" {
				continue
			}
			body, _, err := set.Get(ctx, p)
			if err != nil {
				log.Fatalf("%s: %v", p, err)
			}
			docs++
			items := 0
			for _, g := range guids(body) {
				seen[g]++
				items++
			}
			biggest = max(biggest, items)
		}
		body, _, err := set.Get(ctx, feed.path+".rss")
		if err != nil {
			log.Fatal(err)
		}
		inFeed := guids(body)
		q := article.Query{Status: article.StatusPublished, PublishedBefore: now}
		if feed.name == "society" {
			q.Section = "society"
		} else {
			q.Series = "shanghai-70th"
		}
		total, _ := st.CountArticles(ctx, q)
		once, twice, missing := 0, 0, 0
		for _, c := range seen {
			if c == 1 {
				once++
			} else {
				twice++
			}
		}
		for _, g := range inFeed {
			if seen[g] == 0 {
				missing-- // in the feed only: not archived yet
			}
		}
		missing += total - once - twice
		fmt.Printf("%s: %d stories; %d archive documents (largest %d items) hold %d once, %d more than once; %d more only in the feed (%d items); unaccounted %d\n",
			feed.name, total, docs, biggest, once, twice, total-once-twice, len(inFeed), missing)
	}
	fmt.Printf("archive walk: %s\n", time.Since(t0).Round(time.Second))
}

// guids lists the <guid> values of an RSS document.
func guids(body []byte) []string {
	var out []string
	for {
		i := bytes.Index(body, []byte("<guid"))
		if i < 0 {
			return out
		}
		body = body[i:]
		j := bytes.IndexByte(body, '>')
		k := bytes.Index(body, []byte("</guid>"))
		out = append(out, string(body[j+1:k]))
		body = body[k:]
	}
}

func seedStore(ctx context.Context, st storage.Storage, n int, end time.Time) {
	// The last 15 years at 150 a day; what is left spread over the 5 before.
	busy := min(n, 150*365*15)
	quiet := n - busy
	t0 := time.Now()
	batch := make([]*article.Article, 0, 2000)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range n {
		var at time.Time
		// Steps first, then multiples: i × 24 h overflows a Duration
		// (292 years) from i = 106,752 on.
		if i < busy {
			at = end.Add(-time.Duration(i) * (24 * time.Hour / 150))
		} else {
			at = end.AddDate(-15, 0, 0).Add(-time.Duration(i-busy+1) * (5 * 365 * 24 * time.Hour / time.Duration(max(quiet, 1))))
		}
		batch = append(batch, benchArticle(i, at, rng.Uint64()))
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := st.PutArticles(ctx, batch, end); err != nil {
				log.Fatal(err)
			}
			batch = batch[:0]
			if i%20_000 < cap(batch) {
				fmt.Fprintf(os.Stderr, "seeded %d in %s\n", i+1, time.Since(t0).Round(time.Second))
			}
		}
	}
	fmt.Printf("seeded %d articles in %s\n", n, time.Since(t0).Round(time.Second))
}

// zipf picks one of n, the first ones most often (tags are used unevenly).
func zipf(rng *rand.Rand, n int) int {
	return min(n-1, int(float64(n)*rng.Float64()*rng.Float64()*rng.Float64()))
}

func benchArticle(i int, at time.Time, r uint64) *article.Article {
	id := "s" + strconv.Itoa(i)
	rng := rand.New(rand.NewPCG(uint64(i), r))
	a := &article.Article{ID: id, GUID: "tag:news.example,2026:" + id, Section: "society",
		Headline:  "Story " + strconv.Itoa(i) + " from the city desk",
		Deck:      "A deck that sums up the story in one sentence.",
		Authors:   []article.Author{{Name: "Reporter " + strconv.Itoa(rng.IntN(5000))}},
		Published: at, Updated: at, Language: "en", Status: article.StatusPublished,
		Body: []article.Page{{Number: 1, Paragraphs: []string{
			"First paragraph of story " + strconv.Itoa(i) + ", quoting officials and residents of the district.",
			"A second paragraph giving the figures a reader needs to follow the plans."}}},
	}
	if i%4 == 0 {
		a.Authors = append(a.Authors, article.Author{Name: "Reporter " + strconv.Itoa(rng.IntN(5000))})
	}
	for range 3 {
		t := "Topic " + strconv.Itoa(zipf(rng, 20000))
		if !slices.Contains(a.Tags, t) {
			a.Tags = append(a.Tags, t)
		}
	}
	if i%10 == 0 {
		a.Series = []string{"shanghai-70th"}
	}
	return a
}

func cpu() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2].Round(100 * time.Microsecond)
}
