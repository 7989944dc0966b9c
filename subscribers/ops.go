package subscribers

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// Add puts an address on lists for an operator. With confirmed the
// subscriber is active at once, with this name and an operator's consent
// record (the operator vouches for the consent); otherwise it goes through
// double opt-in like a web sign-up (without the rate limits), and an
// existing subscriber changes only when the link is followed. A suppressed
// (removed) address gives ErrSuppressed.
func (s *Service) Add(ctx context.Context, email, name string, lists []string, confirmed bool) (*Subscriber, error) {
	e, err := Normalize(email)
	if err != nil {
		return nil, err
	}
	n, err := ValidateName(name)
	if err != nil {
		return nil, err
	}
	ls, err := s.cleanLists(lists)
	if err != nil {
		return nil, err
	}
	if sup, err := s.isSuppressed(ctx, e); err != nil {
		return nil, fmt.Errorf("add: %w", err)
	} else if sup {
		return nil, ErrSuppressed
	}
	now := s.now().UTC()
	consent := Consent{At: now, Source: "cli"}
	if !confirmed {
		queued, err := s.request(ctx, e, Confirmation{Lists: ls, Name: n, Consent: consent, IssuedAt: now}, false)
		if err != nil {
			return nil, fmt.Errorf("add: %w", err)
		}
		sub, err := s.store.GetSubscriber(ctx, e)
		if err != nil {
			return nil, fmt.Errorf("add: %w", err)
		}
		if queued {
			round, err := s.sendDue(ctx)
			if err == nil {
				err = round.failed[sub.ID]
			}
			if err != nil {
				return sub, fmt.Errorf("add: the request is saved and its confirmation email queued (serve retries it), but sending failed: %w", err)
			}
		}
		return sub, nil
	}
	sub, err := s.store.UpdateSubscriber(ctx, e, func(sub *Subscriber) error {
		if sub.ID == 0 {
			sub.CreatedAt = now
		}
		if n != "" {
			sub.Name = n
		}
		sub.Consent = consent
		for _, l := range ls {
			setList(sub, l, true, now, true)
		}
		if sub.Status != StatusActive {
			sub.Status = StatusActive
			sub.ConfirmedAt = now
		}
		sub.EventSeq++
		sub.ConfirmedSeq = sub.EventSeq
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("add: %w", err)
	}
	return sub, nil
}

// Remove erases a subscriber's personal data and keeps a keyed hash of the
// address on the suppression list, so no import can add it again.
// ErrNotFound when the address is not stored.
func (s *Service) Remove(ctx context.Context, email string) error {
	e, err := Normalize(email)
	if err != nil {
		return err
	}
	h, err := s.SuppressionHash(ctx, e)
	if err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	if err := s.store.DeleteSubscriber(ctx, e, h); err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	return nil
}

// Suppress puts an address on the suppression list, with why (a complaint,
// say): no sign-up, import or operator's add brings it back. When it is a
// subscriber, it is unsubscribed from every list (its record is kept; see
// Remove to erase it) and its confirmation links stop working. An address
// that is no subscriber is suppressed all the same.
func (s *Service) Suppress(ctx context.Context, email, reason string) error {
	e, err := Normalize(email)
	if err != nil {
		return err
	}
	h, err := s.SuppressionHash(ctx, e)
	if err != nil {
		return fmt.Errorf("suppress: %w", err)
	}
	now := s.now().UTC()
	if err := s.store.Suppress(ctx, h, reason, now); err != nil {
		return fmt.Errorf("suppress: %w", err)
	}
	_, err = s.store.UpdateSubscriber(ctx, e, func(sub *Subscriber) error {
		if sub.ID == 0 {
			return nil // not a subscriber: nothing written
		}
		for i := range sub.Lists {
			if sub.Lists[i].Active {
				sub.Lists[i].Active = false
				sub.Lists[i].ChangedAt = now
			}
		}
		if sub.Status == StatusActive || sub.Status == StatusPending {
			sub.Status = StatusUnsubscribed
			sub.UnsubscribedAt = now
		}
		sub.EventSeq++
		sub.UnsubscribedSeq = sub.EventSeq
		return nil
	})
	if err != nil {
		return fmt.Errorf("suppress: %w", err)
	}
	return nil
}

// Merges lists the subscriber records the migration to one record per
// address folded into another (addresses that differed only in case).
func (s *Service) Merges(ctx context.Context) ([]Merge, error) {
	m, err := s.store.SubscriberMerges(ctx)
	if err != nil {
		return nil, fmt.Errorf("merges: %w", err)
	}
	return m, nil
}

// List returns subscribers matching f.
func (s *Service) List(ctx context.Context, f Filter) ([]*Subscriber, error) {
	if f.Status != "" && !f.Status.Valid() {
		return nil, fmt.Errorf("list: unknown status %q", f.Status)
	}
	subs, err := s.store.ListSubscribers(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	return subs, nil
}

// ImportBatch is how many rows ImportCSV hands the store at once.
const ImportBatch = 2000

// ImportReport is what ImportCSV did.
type ImportReport struct {
	Rows       int         // data rows read (good and bad, blank ones not counted)
	Inserted   int         // new subscribers
	Existing   int         // already stored (or repeated in the file): left as they were
	Suppressed int         // removed earlier: not added
	Bad        []*RowError // rows with their line numbers and what is wrong
}

// ImportCSV adds subscribers from CSV (see CSVReader for the columns). A
// blank status means active (the operator vouches for consent), a blank
// lists cell the default list. Addresses already stored are left as they
// are; suppressed addresses are skipped. Bad rows are reported and do not
// stop the rest. progress, when not nil, is called with the rows done so far
// after each batch.
func (s *Service) ImportCSV(ctx context.Context, r io.Reader, progress func(done int)) (*ImportReport, error) {
	rep := &ImportReport{}
	cr := NewCSVReader(r)
	now := s.now().UTC()
	batch := make([]*Subscriber, 0, ImportBatch)
	prefs := map[string]Preferences{} // of the batch's rows that have any
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		keep, err := s.dropSuppressed(ctx, batch)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		rep.Suppressed += len(batch) - len(keep)
		ins, skip, err := s.store.InsertSubscribers(ctx, keep)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		rep.Inserted += ins
		rep.Existing += skip
		if len(prefs) > 0 && s.readers.prefs != nil {
			// Only the rows just inserted (created now) take theirs.
			if err := s.readers.prefs.SetImportedPreferences(ctx, prefs, now); err != nil {
				return fmt.Errorf("import: %w", err)
			}
			clear(prefs)
		}
		batch = batch[:0]
		if progress != nil {
			progress(rep.Rows)
		}
		return nil
	}
	for {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("import: %w", err)
		}
		row, err := cr.Next()
		if err == io.EOF {
			break
		}
		var re *RowError
		if errors.As(err, &re) {
			rep.Rows++
			rep.Bad = append(rep.Bad, re)
			continue
		}
		if err != nil {
			return rep, fmt.Errorf("import: %w", err)
		}
		rep.Rows++
		lists, err := s.cleanLists(row.Lists)
		if err != nil {
			rep.Bad = append(rep.Bad, &RowError{Line: row.Line, Err: err})
			continue
		}
		p, err := s.importPreferences(lists, row)
		if err != nil {
			rep.Bad = append(rep.Bad, &RowError{Line: row.Line, Err: err})
			continue
		}
		// An address repeated in the file keeps its first row, as the
		// insert does.
		if _, seen := prefs[Key(row.Email)]; !seen && (len(p.Cadences) > 0 || !p.PausedUntil.IsZero()) {
			prefs[Key(row.Email)] = p
		}
		status := row.Status
		if status == "" {
			status = StatusActive
		}
		sub := &Subscriber{
			Email: row.Email, Name: row.Name, Status: status,
			Consent:   Consent{At: now, Source: "import"},
			CreatedAt: now,
		}
		for _, l := range lists {
			sub.Lists = append(sub.Lists, Subscription{List: l, Active: status == StatusActive, ChangedAt: now})
		}
		switch status {
		case StatusActive:
			sub.ConfirmedAt = now
		case StatusUnsubscribed:
			sub.UnsubscribedAt = now
		case StatusBounced:
			sub.BounceCount = 1
		}
		batch = append(batch, sub)
		if len(batch) == ImportBatch {
			if err := flush(); err != nil {
				return rep, err
			}
		}
	}
	if err := flush(); err != nil {
		return rep, err
	}
	if progress != nil {
		progress(rep.Rows)
	}
	return rep, nil
}

// dropSuppressed returns the subscribers of batch whose address is not
// suppressed, asking the store from a few goroutines at once (one query per
// address; on PostgreSQL the round trips dominate an import otherwise).
func (s *Service) dropSuppressed(ctx context.Context, batch []*Subscriber) ([]*Subscriber, error) {
	key, err := s.suppressionKey(ctx)
	if err != nil {
		return nil, err
	}
	const workers = 8
	suppressed := make([]bool, len(batch))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(batch); i += workers {
				sup, err := s.store.IsSuppressed(ctx, SuppressionHash(key, batch[i].Email))
				if err != nil {
					errs[w] = err
					return
				}
				suppressed[i] = sup
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	keep := batch[:0:0]
	for i, sub := range batch {
		if !suppressed[i] {
			keep = append(keep, sub)
		}
	}
	return keep, nil
}

// ExportHeader is the header row ExportCSV writes; ImportCSV reads it back.
func ExportHeader() []string {
	return []string{"email", "name", "status", "lists", "created_at", "confirmed_at", "unsubscribed_at", "consent_source", "consent_at", "bounce_count",
		"cadences", "paused_until"}
}

// ExportCSV writes every subscriber as CSV, paging through the store. Cells
// a spreadsheet would run as a formula get a leading quote (ImportCSV takes
// it off again).
func (s *Service) ExportCSV(ctx context.Context, w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(ExportHeader()); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	var after int64
	for {
		subs, err := s.store.ListSubscribers(ctx, Filter{AfterID: after, Limit: 1000})
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		prefs, err := s.Preferences(ctx, subs)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		for _, sub := range subs {
			var lists []string
			for _, l := range sub.Lists {
				if l.Active || sub.Status != StatusActive {
					lists = append(lists, l.List)
				}
			}
			rec := []string{escapeFormula(sub.Email), escapeFormula(sub.Name), string(sub.Status), strings.Join(lists, ";"),
				ts(sub.CreatedAt), ts(sub.ConfirmedAt), ts(sub.UnsubscribedAt), sub.Consent.Source, ts(sub.Consent.At),
				fmt.Sprint(sub.BounceCount), FormatCadences(prefs[sub.ID].Cadences), ts(prefs[sub.ID].PausedUntil)}
			if err := cw.Write(rec); err != nil {
				return fmt.Errorf("export: %w", err)
			}
			after = sub.ID
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if len(subs) < 1000 {
			return nil
		}
	}
}

// importPreferences checks a CSV row's cadences against its lists (a
// cadence without a list applies to each) and what each list offers.
func (s *Service) importPreferences(lists []string, row CSVRow) (Preferences, error) {
	p := Preferences{PausedUntil: row.PausedUntil}
	// A cadence for every list first, then those of one list.
	slugs := slices.Sorted(maps.Keys(row.Cadences))
	for _, slug := range slugs {
		c := row.Cadences[slug]
		targets := []string{slug}
		if slug == "" {
			targets = lists
		} else if !slices.Contains(lists, slug) {
			return p, fmt.Errorf("cadences: %s:%s names a list the row does not have", slug, c)
		}
		for _, t := range targets {
			l, _ := s.list(t)
			if !slices.Contains(l.Offer().Cadences, c) {
				return p, fmt.Errorf("cadences: %s does not offer %s (it offers %v)", t, c, l.Offer().Cadences)
			}
			if p.Cadences == nil {
				p.Cadences = map[string]Cadence{}
			}
			p.Cadences[t] = c
		}
	}
	return p, nil
}
