package metrics_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/syndicated/syndicated/digest"
	"github.com/syndicated/syndicated/digest/digesttest"
	"github.com/syndicated/syndicated/metrics"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
	"github.com/syndicated/syndicated/subscribers"
)

// gather scrapes reg as Prometheus would: series name{label="value",…}
// (labels sorted) → value.
func gather(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(ls)
			key := mf.GetName()
			if len(ls) > 0 {
				key += "{" + strings.Join(ls, ",") + "}"
			}
			switch {
			case m.Gauge != nil:
				out[key] = m.GetGauge().GetValue()
			case m.Counter != nil:
				out[key] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// want checks the series named in w against a scrape.
func want(t *testing.T, step string, got map[string]float64, w map[string]float64) {
	t.Helper()
	for k, v := range w {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: %s missing", step, k)
		} else if g != v {
			t.Errorf("%s: %s = %v, want %v", step, k, g, v)
		}
	}
}

func TestStoreCollectorCountsFromTheStore(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, s storage.Storage) {
		ctx := context.Background()
		now := time.Date(2019, 5, 27, 1, 0, 0, 0, time.UTC)
		add := func(email string, st subscribers.Status) {
			t.Helper()
			if _, err := s.UpdateSubscriber(ctx, email, func(sub *subscribers.Subscriber) error {
				sub.Status, sub.CreatedAt = st, now
				sub.Lists = []subscribers.Subscription{{List: "s1", Active: true, ChangedAt: now}}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		for _, e := range []string{"a@example.com", "b@example.com", "c@example.com"} {
			add(e, subscribers.StatusActive)
		}
		add("p@example.com", subscribers.StatusPending)
		add("u@example.com", subscribers.StatusUnsubscribed)
		add("x@example.com", subscribers.StatusBounced)

		reg := prometheus.NewRegistry()
		clock := now
		metrics.NewStoreCollector(reg, s, metrics.StoreOptions{TTL: 5 * time.Second, SubscriberStep: 1, Now: func() time.Time { return clock }})
		queue := func(pending, sending, sent, failed, due float64) map[string]float64 {
			return map[string]float64{
				`syndicated_digest_open_deliveries{state="pending"}`: pending,
				`syndicated_digest_open_deliveries{state="sending"}`: sending,
				`syndicated_digest_open_deliveries{state="sent"}`:    sent,
				`syndicated_digest_open_deliveries{state="failed"}`:  failed,
				`syndicated_digest_open_deliveries{state="skipped"}`: 0,
				`syndicated_digest_queue_depth`:                      pending + sending,
				`syndicated_digest_queue_due`:                        due,
			}
		}
		want(t, "start", gather(t, reg), map[string]float64{
			`syndicated_subscribers{status="active"}`:       3,
			`syndicated_subscribers{status="pending"}`:      1,
			`syndicated_subscribers{status="unsubscribed"}`: 1,
			`syndicated_subscribers{status="bounced"}`:      1,
			`syndicated_store_metrics_errors_total`:         0,
		})
		want(t, "start", gather(t, reg), queue(0, 0, 0, 0, 0))

		w := digest.Week{Year: 2019, Num: 22}
		iss := digest.Issue{ID: digest.IssueID("s1", w), Series: "s1", Week: w, Since: now.Add(-7 * 24 * time.Hour), Until: now}
		if _, _, err := s.CreateIssue(ctx, iss, now); err != nil {
			t.Fatal(err)
		}
		// Within the TTL the scrape answers from the last reading.
		clock = now.Add(4 * time.Second)
		want(t, "cached", gather(t, reg), queue(0, 0, 0, 0, 0))
		clock = now.Add(5 * time.Second)
		want(t, "issue created", gather(t, reg), queue(3, 0, 0, 0, 3))

		// claim leases up to limit deliveries to worker at at and expects n.
		claim := func(worker string, limit, n int, at time.Time) []digest.Delivery {
			t.Helper()
			ds, err := digesttest.Claim(ctx, s, iss.ID, worker, limit, at, time.Minute)
			if err != nil || len(ds) != n {
				t.Fatalf("claim by %s: %v, %d deliveries, want %d", worker, err, len(ds), n)
			}
			return ds
		}
		complete := func(worker string, d digest.Delivery, o digest.Outcome, at time.Time) {
			t.Helper()
			if ok, err := digesttest.Complete(ctx, s, iss.ID, d.SubscriberID, worker, o, at); !ok || err != nil {
				t.Fatalf("complete by %s: %v %v", worker, ok, err)
			}
		}
		sent := digest.Outcome{State: digest.StateSent, MessageID: "<m@example.com>"}
		complete("w1", claim("w1", 2, 2, clock)[0], sent, clock)
		clock = clock.Add(5 * time.Second)
		want(t, "one sent, one sending", gather(t, reg), queue(1, 1, 1, 0, 1))
		// The lease runs out: the sending one is due again.
		clock = clock.Add(2 * time.Minute)
		want(t, "lease expired", gather(t, reg), queue(1, 1, 1, 0, 2))

		for i, d := range claim("w2", 10, 2, clock) {
			o := digest.Outcome{State: digest.StateFailed, Error: "550 no such user"}
			if i == 0 {
				o = digest.Outcome{State: digest.StatePending, Error: "451 try later", NextAttemptAt: clock.Add(time.Hour)}
			}
			complete("w2", d, o, clock)
		}
		clock = clock.Add(5 * time.Second)
		want(t, "a retry waits", gather(t, reg), queue(1, 0, 1, 1, 0))

		// A finished issue leaves the queue.
		complete("w3", claim("w3", 10, 1, clock.Add(time.Hour))[0], sent, clock.Add(time.Hour))
		if done, err := s.FinishIssue(ctx, iss.ID, clock.Add(time.Hour)); !done || err != nil {
			t.Fatalf("finish: %v %v", done, err)
		}
		clock = clock.Add(time.Hour)
		want(t, "finished", gather(t, reg), queue(0, 0, 0, 0, 0))

		// A store that cannot answer exports no counts, only the error.
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(time.Minute)
		got := gather(t, reg)
		if _, ok := got[`syndicated_subscribers{status="active"}`]; ok {
			t.Errorf("closed store: subscribers still exported")
		}
		want(t, "closed store", got, map[string]float64{`syndicated_store_metrics_errors_total`: 1})
	})
}

// countsOnly is a store of fixed counts.
type countsOnly struct{ subs map[subscribers.Status]int }

func (c *countsOnly) SubscriberCounts(context.Context) (map[subscribers.Status]int, error) {
	out := map[subscribers.Status]int{}
	for k, v := range c.subs {
		out[k] = v
	}
	return out, nil
}

func (c *countsOnly) OpenDeliveryCounts(context.Context, time.Time) (map[digest.State]int, int, error) {
	return map[digest.State]int{}, 0, nil
}

// Subscriber counts are coarse by default: rounded down to a multiple of
// 10 and changing at most every 10 minutes, so that one sign-up (a new
// address makes a pending subscriber, a known one nothing) cannot be
// told apart by watching /metrics.
func TestSubscriberCountsAreCoarse(t *testing.T) {
	now := time.Date(2019, 5, 27, 1, 0, 0, 0, time.UTC)
	clock := now
	st := &countsOnly{subs: map[subscribers.Status]int{subscribers.StatusActive: 1234, subscribers.StatusPending: 3}}
	reg := prometheus.NewRegistry()
	metrics.NewStoreCollector(reg, st, metrics.StoreOptions{Now: func() time.Time { return clock }})
	counts := func(step string, active, pending float64) {
		t.Helper()
		want(t, step, gather(t, reg), map[string]float64{
			`syndicated_subscribers{status="active"}`:  active,
			`syndicated_subscribers{status="pending"}`: pending,
		})
	}
	counts("start", 1230, 0)
	// One sign-up of a new address, one of a known address: the same.
	st.subs[subscribers.StatusPending] = 4
	clock = now.Add(time.Minute)
	counts("a new address signed up", 1230, 0)
	// Even when it crosses a multiple of 10, not before the interval.
	st.subs[subscribers.StatusPending] = 10
	clock = now.Add(9 * time.Minute)
	counts("crossing 10 within the interval", 1230, 0)
	clock = now.Add(10 * time.Minute)
	counts("after the interval", 1230, 10)
	if got := metrics.Coarse(1239, 10); got != 1230 {
		t.Errorf("Coarse(1239, 10) = %d", got)
	}
}
