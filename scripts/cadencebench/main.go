// Command cadencebench is the cadence benchmark's helper (see
// scripts/cadence-bench.sh): it seeds readers over two series and every
// cadence with a day of stories, makes the issues one day of schedules
// makes (as serve's jobs do, at their times), and counts what the outbox
// sent per cadence against what each cadence's readers should get.
//
//	cadencebench seed  -db URL -data DIR -n 100000 -day 2019-05-27
//	cadencebench day   -db URL -data DIR -config FILE -day 2019-05-27 -ids FILE
//	cadencebench count -db URL -data DIR -ids FILE
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/config"
	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/mail"
	"github.com/syndicated/syndicated/mail/hermes"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/subscribers"
)

// The two series and how their readers are split: the anniversary series
// offers every cadence (half weekly, 30 % daily, 20 % each story); every
// reader has it. Two readers in five also have City lights, weekly or
// daily (70/30). Every reader also has "baseline", a weekly-only series
// of the anniversary stories the script sends as the weekly digest to
// compare rates with.
const (
	series   = "shanghai-70th"
	second   = "city-lights"
	baseline = "baseline"
)

func cadenceOf(list string, i int) subscribers.Cadence {
	switch {
	case list == second && i/10%10 < 7, list == series && i%10 < 5:
		return subscribers.CadenceWeekly
	case list == second, i%10 < 8:
		return subscribers.CadenceDaily
	}
	return subscribers.CadenceStory
}

func onSecond(i int) bool { return i%5 < 2 }

// wantIssues are the issues the day's schedules make of each series.
var wantIssues = map[subscribers.Cadence]map[string]int{
	subscribers.CadenceWeekly: {series: 1, second: 1},
	subscribers.CadenceDaily:  {series: 1, second: 1},
	subscribers.CadenceStory:  {series: 4}, // 08:00 and 08:01 together, 11:30, 15:00, 19:00
}

// stories are the day's stories of each series (hours after midnight in
// the newsroom's zone), and a week of earlier ones for the weekly issue.
// The anniversary series' 08:00 and 08:01 stories go out in one story
// email; its 19:00 story comes after the daily issue (18:00) and goes in
// the next day's.
var stories = map[string][]time.Duration{
	series: {8 * time.Hour, 8*time.Hour + time.Minute, 11*time.Hour + 30*time.Minute, 15 * time.Hour, 19 * time.Hour},
	second: {2 * time.Hour, 13 * time.Hour},
}

func main() {
	if len(os.Args) < 2 {
		log.Fatal("usage: cadencebench seed|day|count [flags]")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "seed":
		err = seed(ctx, os.Args[2:])
	case "day":
		err = day(ctx, os.Args[2:])
	case "count":
		err = count(ctx, os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		log.Fatal(err)
	}
}

type common struct {
	db, data, day, ids, config string
	n                          int
}

func flags(name string, args []string) common {
	var c common
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	fs.StringVar(&c.db, "db", "", "database URL (empty: SQLite under -data)")
	fs.StringVar(&c.data, "data", "", "data directory")
	fs.StringVar(&c.day, "day", "2019-05-27", "the day of schedules (YYYY-MM-DD in newsroom.zone)")
	fs.StringVar(&c.ids, "ids", "", "file of the issues the day made, one id a line")
	fs.StringVar(&c.config, "config", "", "syndicated config file")
	fs.IntVar(&c.n, "n", 100000, "readers")
	_ = fs.Parse(args)
	return c
}

var zone = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

func seed(ctx context.Context, args []string) error {
	c := flags("seed", args)
	st, err := storage.Open(ctx, c.db, c.data)
	if err != nil {
		return err
	}
	defer st.Close()
	start := time.Now()
	now := time.Now().UTC().Truncate(time.Second)
	const chunk = 20000
	prefs := map[string]subscribers.Preferences{}
	for i := 0; i < c.n; i += chunk {
		batch := make([]*subscribers.Subscriber, 0, chunk)
		clear(prefs)
		for j := i; j < min(i+chunk, c.n); j++ {
			s := &subscribers.Subscriber{Email: fmt.Sprintf("reader%07d@example.com", j),
				Name: fmt.Sprintf("Reader %d", j), Status: subscribers.StatusActive, CreatedAt: now, ConfirmedAt: now,
				Lists: []subscribers.Subscription{{List: series, Active: true, ChangedAt: now}, {List: baseline, Active: true, ChangedAt: now}}}
			p := subscribers.Preferences{Cadences: map[string]subscribers.Cadence{series: cadenceOf(series, j)}}
			if onSecond(j) {
				s.Lists = append(s.Lists, subscribers.Subscription{List: second, Active: true, ChangedAt: now})
				p.Cadences[second] = cadenceOf(second, j)
			}
			batch = append(batch, s)
			prefs[s.Email] = p
		}
		if _, _, err := st.InsertSubscribers(ctx, batch); err != nil {
			return err
		}
		if err := st.SetImportedPreferences(ctx, prefs, now); err != nil {
			return err
		}
	}
	d, err := time.ParseInLocation(time.DateOnly, c.day, zone)
	if err != nil {
		return err
	}
	var arts []*article.Article
	add := func(list string, at time.Time, n int) {
		id := fmt.Sprintf("%s-%s-%d", list, at.Format("20060102-1504"), n)
		in := []string{list}
		if list == series {
			in = append(in, baseline)
		}
		arts = append(arts, &article.Article{ID: id, GUID: "urn:cadencebench:" + id, Section: "society", Series: in,
			Headline: "A story of " + list + " at " + at.Format("Mon 15:04"), Deck: "What happened, in a sentence.",
			Authors: []article.Author{{Name: "Wu Qiong", Place: "Shanghai"}}, Published: at, Updated: at,
			Body: []article.Page{{Number: 1, Paragraphs: []string{"Text."}}}, Status: article.StatusPublished})
	}
	for list, offsets := range stories {
		for k, off := range offsets {
			add(list, d.Add(off), k)
		}
		for k := range 3 { // the week before, for the weekly issue
			add(list, d.AddDate(0, 0, -6+2*k).Add(10*time.Hour), 10+k)
		}
	}
	if _, err := st.PutArticles(ctx, arts, now); err != nil {
		return err
	}
	fmt.Printf("seeded %d readers and %d stories in %.1fs\n", c.n, len(arts), time.Since(start).Seconds())
	return nil
}

// service builds the digest service as serve does, on a clock the day's
// runs move.
func service(ctx context.Context, c common, st storage.Storage, clock *time.Time) (*digest.Service, error) {
	cfg, err := config.Load(c.config, os.Environ())
	if err != nil {
		return nil, err
	}
	loc, err := cfg.Location()
	if err != nil {
		return nil, err
	}
	render := hermes.New(hermes.Brand{Name: cfg.Brand.Name, Link: cfg.Brand.Link})
	var lists []subscribers.List
	var all []digest.Series
	for _, s := range cfg.Series {
		names, def := cfg.SeriesCadences(s)
		var offered []subscribers.Cadence
		schedules := map[digest.Cadence]string{}
		for _, n := range names {
			offered = append(offered, subscribers.Cadence(n))
			schedules[subscribers.Cadence(n)] = cfg.CadenceSchedule(s, n)
		}
		lists = append(lists, subscribers.List{Slug: s.Slug, Title: s.Title, Cadences: offered, DefaultCadence: subscribers.Cadence(def)})
		all = append(all, digest.Series{Slug: s.Slug, Title: s.Title, Description: s.Description, Subject: s.DigestSubject,
			Cadences: offered, DefaultCadence: subscribers.Cadence(def), Schedules: schedules})
	}
	now := func() time.Time { return *clock }
	subs, err := subscribers.New(subscribers.Config{Store: st, Mailer: nowhere{}, Secret: []byte("cadencebench-secret-0123456789"),
		BaseURL: cfg.BaseURL, Confirmation: render, Lists: lists, Now: now})
	if err != nil {
		return nil, err
	}
	return digest.New(digest.Config{Store: st, Articles: st, Subscribers: subs, Series: all, BaseURL: cfg.BaseURL,
		Zone: loc, Renderer: render, From: cfg.SMTP.From, Now: now})
}

type nowhere struct{}

func (nowhere) Send(context.Context, *mail.Message) error {
	return errors.New("cadencebench sends nothing itself")
}

// day runs every job of every series at each minute of the day its
// schedule fires, as serve would, and writes the issues made to -ids.
func day(ctx context.Context, args []string) error {
	c := flags("day", args)
	st, err := storage.Open(ctx, c.db, c.data)
	if err != nil {
		return err
	}
	defer st.Close()
	d, err := time.ParseInLocation(time.DateOnly, c.day, zone)
	if err != nil {
		return err
	}
	clock := d
	dg, err := service(ctx, c, st, &clock)
	if err != nil {
		return err
	}
	jobs, err := dg.Jobs()
	if err != nil {
		return err
	}
	start := time.Now()
	var ids []string
	runs := 0
	for _, j := range jobs {
		sched, err := config.ParseSchedule(j.Spec)
		if err != nil {
			return err
		}
		for at := sched.Next(d.Add(-time.Second)); at.Before(d.AddDate(0, 0, 1)); at = sched.Next(at) {
			clock = at
			t0 := time.Now()
			r, err := dg.RunJob(ctx, j, at)
			if err != nil {
				return fmt.Errorf("%s at %s: %w", j.Name, at, err)
			}
			took := time.Since(t0)
			runs++
			if r.Created {
				n, err := st.DeliveryCounts(ctx, r.Issue.ID)
				if err != nil {
					return err
				}
				fmt.Printf("  %-7s %-52s at %s  %6d recipients, made in %s\n", j.Cadence, r.Issue.ID, at.Format("15:04"), n[digest.StatePending],
					took.Round(time.Millisecond))
				if j.Series != baseline { // sent apart, as the weekly digest to compare with
					ids = append(ids, r.Issue.ID)
				}
			}
		}
	}
	fmt.Printf("%d runs of %d jobs made %d issues in %.1fs\n", runs, len(jobs), len(ids), time.Since(start).Seconds())
	return os.WriteFile(c.ids, []byte(strings.Join(ids, "\n")+"\n"), 0o644)
}

// count compares what the outbox sent for the day's issues, per cadence,
// with what each cadence's readers should get: the weekly and the daily
// issue once each, a story email per story issue.
func count(ctx context.Context, args []string) error {
	c := flags("count", args)
	st, err := storage.Open(ctx, c.db, c.data)
	if err != nil {
		return err
	}
	defer st.Close()
	raw, err := os.ReadFile(c.ids)
	if err != nil {
		return err
	}
	sent := map[subscribers.Cadence]int{}
	issues := map[subscribers.Cadence]map[string]int{}
	unsent := 0
	for _, id := range strings.Fields(string(raw)) {
		n, err := st.DeliveryCounts(ctx, id)
		if err != nil {
			return err
		}
		cad := digest.CadenceOfID(id)
		sent[cad] += n[digest.StateSent]
		for s, k := range n {
			if s != digest.StateSent {
				unsent += k
			}
		}
		list, _, _ := strings.Cut(id, "/")
		if issues[cad] == nil {
			issues[cad] = map[string]int{}
		}
		issues[cad][list]++
	}
	readers := map[subscribers.Cadence]map[string]int{}
	for i := range c.n {
		for _, list := range []string{series, second} {
			if list == second && !onSecond(i) {
				continue
			}
			cad := cadenceOf(list, i)
			if readers[cad] == nil {
				readers[cad] = map[string]int{}
			}
			readers[cad][list]++
		}
	}
	ok := unsent == 0
	fmt.Printf("%-7s %10s %10s   issues\n", "cadence", "sent", "expected")
	for _, cad := range subscribers.Cadences {
		want := 0
		var what []string
		for _, list := range []string{series, second} {
			want += readers[cad][list] * issues[cad][list]
			if issues[cad][list] > 0 {
				what = append(what, fmt.Sprintf("%s: %d × %d readers", list, issues[cad][list], readers[cad][list]))
			}
		}
		mark := "ok"
		if sent[cad] != want {
			mark, ok = "WRONG", false
		}
		for _, list := range []string{series, second} {
			if issues[cad][list] != wantIssues[cad][list] {
				mark, ok = fmt.Sprintf("WRONG: %d %s issues of %s, want %d", issues[cad][list], cad, list, wantIssues[cad][list]), false
			}
		}
		slices.Sort(what)
		fmt.Printf("%-7s %10d %10d   %s  %s\n", cad, sent[cad], want, strings.Join(what, "; "), mark)
	}
	if !ok {
		return fmt.Errorf("the day's sends are not what the cadences say (%d deliveries not sent)", unsent)
	}
	return nil
}
