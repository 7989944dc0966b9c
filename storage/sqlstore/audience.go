package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/syndicated/syndicated/feeds/audience"
)

// AudienceKey implements audience.Store: the first replica to ask stores
// the day's key, every other reads it.
func (s *Store) AudienceKey(ctx context.Context, day string, generate func() (string, error)) (string, error) {
	var key string
	err := s.read().row(ctx, `SELECT key FROM audience_keys WHERE day = ?`, day).Scan(&key)
	if err == nil {
		return key, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("audience key: %w", err)
	}
	gen, err := generate()
	if err != nil {
		return "", err
	}
	err = s.tx(ctx, func(q db) error {
		if _, err := q.exec(ctx, `INSERT INTO audience_keys (day, key) VALUES (?, ?) ON CONFLICT (day) DO NOTHING`, day, gen); err != nil {
			return err
		}
		return q.row(ctx, `SELECT key FROM audience_keys WHERE day = ?`, day).Scan(&key)
	})
	if err != nil {
		return "", fmt.Errorf("audience key: %w", err)
	}
	return key, nil
}

// PutAudienceReports implements audience.Store.
func (s *Store) PutAudienceReports(ctx context.Context, rs []audience.StoredReport) error {
	if len(rs) == 0 {
		return nil
	}
	err := s.tx(ctx, func(q db) error {
		for start := 0; start < len(rs); start += q.d.Batch {
			chunk := rs[start:min(start+q.d.Batch, len(rs))]
			args := make([]any, 0, 5*len(chunk))
			for _, r := range chunk {
				args = append(args, r.Feed, r.Aggregator, r.Ident, r.Subscribers, q.t(r.Reported))
			}
			if _, err := q.exec(ctx, `INSERT INTO audience_reports (feed, aggregator, ident, subscribers, reported_at) VALUES `+
				values(len(chunk), 5)+` ON CONFLICT (feed, aggregator, ident) DO UPDATE SET subscribers = excluded.subscribers,
				reported_at = excluded.reported_at WHERE audience_reports.reported_at <= excluded.reported_at`, args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("put audience reports: %w", err)
	}
	return nil
}

// MergeAudienceSketch implements audience.Store, the row read with the
// dialect's lock so that replicas take turns.
func (s *Store) MergeAudienceSketch(ctx context.Context, feed, day string, merge func(old []byte) ([]byte, error)) error {
	for attempt := 0; ; attempt++ {
		err := s.tx(ctx, func(q db) error {
			var enc string
			var old []byte
			err := q.row(ctx, `SELECT sketch FROM audience_days WHERE feed = ? AND day = ?`+q.d.ForUpdate, feed, day).Scan(&enc)
			switch {
			case err == nil:
				if old, err = base64.StdEncoding.DecodeString(enc); err != nil {
					return fmt.Errorf("stored sketch: %w", err)
				}
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
			merged, err := merge(old)
			if err != nil {
				return err
			}
			enc = base64.StdEncoding.EncodeToString(merged)
			if old != nil {
				_, err = q.exec(ctx, `UPDATE audience_days SET sketch = ? WHERE feed = ? AND day = ?`, enc, feed, day)
				return err
			}
			n, err := q.execN(ctx, `INSERT INTO audience_days (feed, day, sketch) VALUES (?, ?, ?) ON CONFLICT (feed, day) DO NOTHING`, feed, day, enc)
			if err == nil && n == 0 {
				err = errRace
			}
			return err
		})
		if errors.Is(err, errRace) && attempt < 3 {
			continue
		}
		if err != nil {
			return fmt.Errorf("merge audience sketch of %s on %s: %w", feed, day, err)
		}
		return nil
	}
}

// AudienceReports implements audience.Store.
func (s *Store) AudienceReports(ctx context.Context) ([]audience.StoredReport, error) {
	out, err := collect(func(r *sql.Rows) (audience.StoredReport, error) {
		var x audience.StoredReport
		return x, r.Scan(&x.Feed, &x.Aggregator, &x.Ident, &x.Subscribers, tm{&x.Reported})
	})(s.read().query(ctx, `SELECT feed, aggregator, ident, subscribers, reported_at FROM audience_reports ORDER BY feed, aggregator, ident`))
	if err != nil {
		return nil, fmt.Errorf("audience reports: %w", err)
	}
	return out, nil
}

// AudienceSketches implements audience.Store.
func (s *Store) AudienceSketches(ctx context.Context, fromDay string) (map[string]map[string][]byte, error) {
	type row struct{ feed, day, sketch string }
	rows, err := collect(func(r *sql.Rows) (row, error) {
		var x row
		return x, r.Scan(&x.feed, &x.day, &x.sketch)
	})(s.read().query(ctx, `SELECT feed, day, sketch FROM audience_days WHERE day >= ?`, fromDay))
	if err != nil {
		return nil, fmt.Errorf("audience sketches: %w", err)
	}
	out := map[string]map[string][]byte{}
	for _, r := range rows {
		b, err := base64.StdEncoding.DecodeString(r.sketch)
		if err != nil {
			return nil, fmt.Errorf("audience sketch of %s on %s: %w", r.feed, r.day, err)
		}
		if out[r.feed] == nil {
			out[r.feed] = map[string][]byte{}
		}
		out[r.feed][r.day] = b
	}
	return out, nil
}

// PruneAudience implements audience.Store.
func (s *Store) PruneAudience(ctx context.Context, beforeDay, keyDay string, reportsBefore time.Time) error {
	err := s.tx(ctx, func(q db) error {
		if _, err := q.exec(ctx, `DELETE FROM audience_days WHERE day < ?`, beforeDay); err != nil {
			return err
		}
		if _, err := q.exec(ctx, `DELETE FROM audience_keys WHERE day < ?`, keyDay); err != nil {
			return err
		}
		_, err := q.exec(ctx, `DELETE FROM audience_reports WHERE reported_at < ?`, q.t(reportsBefore))
		return err
	})
	if err != nil {
		return fmt.Errorf("prune audience: %w", err)
	}
	return nil
}
