package audience

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
)

// WriteText prints one line per feed: aggregators' subscribers (each
// named), distinct clients of each day, hub and email subscribers (the
// audience command's table).
func WriteText(w io.Writer, all []FeedAudience) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "feed\taggregator subscribers\tclients a day (newest first)\twebsub\temail\n")
	for _, fa := range all {
		var aggs []string
		for _, ag := range fa.Aggregators {
			aggs = append(aggs, fmt.Sprintf("%s %d", ag.Name, ag.Subscribers))
		}
		agg := fmt.Sprint(fa.Subscribers)
		if len(aggs) > 0 {
			agg += " (" + strings.Join(aggs, ", ") + ")"
		}
		var days []string
		for _, d := range fa.Clients {
			days = append(days, fmt.Sprintf("%s %d", d.Day[5:], d.Clients))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", fa.Feed, agg, strings.Join(days, ", "), fa.WebSub, fa.Email)
	}
	return tw.Flush()
}

// Handler serves the operator's view of the audience that load reads: the
// command's table, or JSON when asked (?format=json or an Accept naming
// application/json).
func Handler(load func(ctx context.Context) ([]FeedAudience, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		all, err := load(r.Context())
		if err != nil {
			http.Error(w, "audience: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if r.URL.Query().Get("format") == "json" || strings.Contains(r.Header.Get("Accept"), "application/json") {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(all)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_ = WriteText(w, all)
	})
}
