package subscribers

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/syndicated/syndicated/internal/cmdline"
)

// Console runs the operator's subscriber commands (subscribers add, list,
// remove, unbounce, import, export) and writes what they show: results on
// Stdout, problems on Stderr.
type Console struct {
	Service        *Service
	Stdout, Stderr io.Writer
	// Terminal says that Stderr is a terminal: counts and how far an
	// import is are shown there.
	Terminal bool
}

// Add adds one subscriber (Service.Add) and says its status, and that a
// confirmation email went out when it is pending.
func (c *Console) Add(ctx context.Context, email, name string, lists []string, confirmed bool) error {
	sub, err := c.Service.Add(ctx, email, name, lists, confirmed)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.Stdout, "%s %s\n", sub.Email, sub.Status)
	if sub.Status == StatusPending {
		fmt.Fprintln(c.Stdout, "a confirmation email was sent; the address becomes active when its link is followed")
	}
	return nil
}

// List writes the subscribers f selects, one a line: address, status, the
// lists they are active on (with the cadence they get a list at where it
// offers several: "shanghai-70th:daily"), name, tab-separated, and a
// last column "paused until TIME" for a paused reader.
func (c *Console) List(ctx context.Context, f Filter) error {
	if f.Status != "" && !f.Status.Valid() {
		return fmt.Errorf("%w: --status %q is not pending, active, unsubscribed or bounced", cmdline.ErrUsage, f.Status)
	}
	subs, err := c.Service.List(ctx, f)
	if err != nil {
		return err
	}
	prefs, err := c.Service.Preferences(ctx, subs)
	if err != nil {
		return err
	}
	now := c.Service.Now()
	for _, s := range subs {
		lists, paused := c.listCadences(s, prefs[s.ID], now)
		fmt.Fprintf(c.Stdout, "%s\t%s\t%s\t%s%s\n", s.Email, s.Status, lists, s.Name, paused)
	}
	if c.Terminal {
		fmt.Fprintf(c.Stderr, "%d subscribers\n", len(subs))
	}
	return nil
}

// Remove erases a subscriber's personal data and suppresses the address
// (Service.Remove).
func (c *Console) Remove(ctx context.Context, email string) error {
	if err := c.Service.Remove(ctx, email); err != nil {
		return err
	}
	fmt.Fprintln(c.Stdout, "removed; the address is suppressed and will not be re-imported")
	return nil
}

// Unbounce makes bounced subscribers active again (Service.Unbounce): the
// addresses named, or with none every bounce since. It lists those it
// changed, and names on Stderr each address that was not bounced.
func (c *Console) Unbounce(ctx context.Context, emails []string, since time.Time) error {
	done, err := c.Service.Unbounce(ctx, emails, since)
	if err != nil {
		return err
	}
	for _, e := range done {
		fmt.Fprintf(c.Stdout, "%s active\n", e)
	}
	fmt.Fprintf(c.Stdout, "%d unbounced\n", len(done))
	for _, e := range emails {
		if n, err := Normalize(e); err == nil && !slices.Contains(done, n) {
			fmt.Fprintf(c.Stderr, "%s: not bounced (or no such subscriber): unchanged\n", n)
		}
	}
	if len(emails) > len(done) {
		return fmt.Errorf("%d of %d addresses were not bounced: %w", len(emails)-len(done), len(emails), cmdline.ErrReported)
	}
	return nil
}

// Import adds the subscribers of the CSV file name read from r
// (Service.ImportCSV): each bad row on Stderr as name:line, then the
// counts.
func (c *Console) Import(ctx context.Context, name string, r io.Reader) error {
	p := cmdline.NewProgress(c.Stderr, c.Terminal, "importing rows", 0)
	rep, err := c.Service.ImportCSV(ctx, r, p.Set)
	p.Done()
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	for _, b := range rep.Bad {
		fmt.Fprintf(c.Stderr, "%s:%d: %v\n", name, b.Line, b.Err)
	}
	fmt.Fprintf(c.Stdout, "%d rows: %d added, %d already present, %d suppressed, %d bad\n",
		rep.Rows, rep.Inserted, rep.Existing, rep.Suppressed, len(rep.Bad))
	if len(rep.Bad) > 0 {
		return fmt.Errorf("%d bad rows: %w", len(rep.Bad), cmdline.ErrReported)
	}
	return nil
}

// Export writes every subscriber as CSV (Service.ExportCSV) to Stdout, or
// to the file path: readable by its owner only, and replaced whole, never
// left half written.
func (c *Console) Export(ctx context.Context, path string) error {
	if path == "" {
		return c.Service.ExportCSV(ctx, c.Stdout)
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if err := c.Service.ExportCSV(ctx, f); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// listCadences is the lists column of List: each active list, with the
// cadence the reader gets it at where the series offers several, and the
// last column when they are paused.
func (c *Console) listCadences(s *Subscriber, p Preferences, now time.Time) (lists, paused string) {
	var out []string
	for _, l := range s.Lists {
		if !l.Active {
			continue
		}
		if cl, ok := c.Service.list(l.List); ok && len(cl.Offer().Cadences) > 1 {
			out = append(out, l.List+":"+string(cl.Offer().Effective(p.Cadences[l.List])))
			continue
		}
		out = append(out, l.List)
	}
	if p.Paused(now) {
		paused = "\tpaused until " + p.PausedUntil.UTC().Format(time.RFC3339)
	}
	return strings.Join(out, ","), paused
}
