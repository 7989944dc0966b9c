package digest

import (
	"fmt"
	"io"
	"time"
)

// The text the operator's commands show of a report (digest send, digest
// status).

// Word says what a failure's deliveries do: wait "to retry", or "failed".
func (f Failure) Word() string {
	if f.State == StatePending {
		return "to retry"
	}
	return "failed"
}

// WriteWaiting writes a line for each kind of delivery still to go, with
// why: waiting for its retry time, due now (left by a stopped run), or
// held by a worker's lease (another process, or one that died: the lease
// runs out). Times are in zone.
func (r *IssueReport) WriteWaiting(w io.Writer, zone *time.Location) {
	at := func(t time.Time) string { return t.In(zone).Format(time.DateTime + " MST") }
	id := r.Issue.ID
	if r.Waiting > 0 {
		fmt.Fprintf(w, "%s: %d wait for a retry (the next at %s); \"syndicated serve\" or another \"digest send\" resumes them\n", id, r.Waiting, at(r.NextRetry))
	}
	if r.Due > 0 {
		fmt.Fprintf(w, "%s: %d not tried yet, pending\n", id, r.Due)
	}
	if r.Leased > 0 {
		fmt.Fprintf(w, "%s: %d held by another worker's lease (until %s at the latest)\n", id, r.Leased, at(r.LeaseUntil))
	}
}

// WriteFailures writes the commonest failure reasons (the servers'
// replies), at most limit of them, each line naming the issue.
func (r *IssueReport) WriteFailures(w io.Writer, limit int) {
	for i, f := range r.Failures {
		if i == limit {
			fmt.Fprintf(w, "%s: … and %d more reasons (syndicated digest status)\n", r.Issue.ID, len(r.Failures)-limit)
			return
		}
		fmt.Fprintf(w, "%s: %d %s: %s\n", r.Issue.ID, f.Count, f.Word(), f.Error)
	}
}

// WriteStatus writes the whole report: the issue, its deliveries by
// state, what is still to go, and every failure reason.
func (r *IssueReport) WriteStatus(w io.Writer, zone *time.Location) {
	n := r.Counts
	fmt.Fprintf(w, "%s: %s, created %s\n", r.Issue.ID, r.Issue.Status, r.Issue.CreatedAt.In(zone).Format(time.DateTime))
	fmt.Fprintf(w, "  sent %d, pending %d, sending %d, failed %d, skipped %d\n",
		n[StateSent], n[StatePending], n[StateSending], n[StateFailed], n[StateSkipped])
	r.WriteWaiting(w, zone)
	for _, f := range r.Failures {
		fmt.Fprintf(w, "  %d %s: %s\n", f.Count, f.Word(), f.Error)
	}
}
