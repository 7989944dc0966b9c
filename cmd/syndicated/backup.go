package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // database/sql driver "sqlite"

	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/subscribers"
)

// errUsePgDump is the answer of backup for a PostgreSQL database.
var errUsePgDump = errors.New("the database is PostgreSQL: back it up with pg_dump (pg_dump --format=custom --file FILE \"$SYNDICATED_DATABASE_URL\"), see docs/operations.md")

// sqliteFile is the SQLite file a database URL names, as storage.Open
// resolves it, or "" for PostgreSQL.
func sqliteFile(dbURL, dataDir string) (string, error) {
	scheme, rest, hasScheme := strings.Cut(dbURL, ":")
	var path string
	switch {
	case dbURL == "":
	case !hasScheme:
		return "", fmt.Errorf("database.url %q: want sqlite:PATH or postgres://…", storage.Redact(dbURL))
	case strings.EqualFold(scheme, "postgres"), strings.EqualFold(scheme, "postgresql"):
		return "", nil
	case strings.EqualFold(scheme, "sqlite"), strings.EqualFold(scheme, "file"):
		rest, _, _ = strings.Cut(rest, "?")
		if p, ok := strings.CutPrefix(rest, "//"); ok {
			rest = p
		}
		path = rest
	default:
		return "", fmt.Errorf("database.url: scheme %q: want sqlite: or postgres://", scheme)
	}
	if path == "" {
		path = storage.DefaultSQLiteFile
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(dataDir, path)
	}
	return path, nil
}

// openSQLiteFile opens an existing SQLite file with database/sql, waiting
// for the daemon's write locks rather than failing on them.
func openSQLiteFile(path string) (*sql.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	return sql.Open("sqlite", "file:"+path+"?"+q.Encode())
}

// runBackup writes a consistent copy of the SQLite database with VACUUM
// INTO, which reads one snapshot (WAL) while serve keeps writing, then
// checks the copy's integrity before moving it into place.
func runBackup(ctx context.Context, c *cli, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: backup takes no arguments", errUsage)
	}
	if c.opts.out == "" {
		return fmt.Errorf("%w: --out FILE is required", errUsage)
	}
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	src, err := sqliteFile(cfg.Database.URL, c.opts.dataDir)
	if err != nil {
		return err
	}
	if src == "" {
		return errUsePgDump
	}
	db, err := openSQLiteFile(src)
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	defer db.Close()

	out, err := filepath.Abs(c.opts.out)
	if err != nil {
		return err
	}
	tmp := out + ".tmp"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("copy %s: %w", src, err)
	}
	version, err := checkSQLiteCopy(ctx, tmp)
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if err := syncFile(tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		os.Remove(tmp)
		return err
	}
	fi, err := os.Stat(out)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "backed up %s to %s (%d bytes, schema version %d, integrity ok)\n", src, out, fi.Size(), version)
	return nil
}

// checkSQLiteCopy runs SQLite's integrity check on a copy and returns its
// schema version.
func checkSQLiteCopy(ctx context.Context, path string) (int64, error) {
	db, err := openSQLiteFile(path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&res); err != nil {
		return 0, fmt.Errorf("check the copy: %w", err)
	}
	if res != "ok" {
		return 0, fmt.Errorf("the copy fails SQLite's integrity check: %s", res)
	}
	return schemaVersion(ctx, db.QueryRowContext(ctx, schemaVersionQuery))
}

const schemaVersionQuery = `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`

func schemaVersion(_ context.Context, row interface{ Scan(...any) error }) (int64, error) {
	var v int64
	if err := row.Scan(&v); err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return v, nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// runMigrate opens the store, which applies any pending migration, and
// reports the schema version the database is at.
func runMigrate(ctx context.Context, c *cli, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("%w: migrate takes no arguments", errUsage)
	}
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	file, err := sqliteFile(cfg.Database.URL, c.opts.dataDir)
	if err != nil {
		return err
	}
	before, _ := c.storeVersion(ctx, cfg.Database.URL, file) // none yet on a new database
	if file != "" {
		if err := os.MkdirAll(c.opts.dataDir, 0o750); err != nil {
			return fmt.Errorf("data dir: %w", err)
		}
	}
	st, err := storage.Open(ctx, cfg.Database.URL, c.opts.dataDir)
	if err != nil {
		return err
	}
	merges, err := st.SubscriberMerges(ctx)
	if err := errors.Join(err, st.Close()); err != nil {
		return err
	}
	after, err := c.storeVersion(ctx, cfg.Database.URL, file)
	if err != nil {
		return err
	}
	if after == before {
		fmt.Fprintf(c.stdout, "%s: schema version %d, up to date\n", describeDB(cfg.Database.URL, c.opts.dataDir), after)
	} else {
		fmt.Fprintf(c.stdout, "%s: migrated from schema version %d to %d\n", describeDB(cfg.Database.URL, c.opts.dataDir), before, after)
	}
	printMerges(c.stdout, merges)
	return nil
}

// storeVersion reads the highest applied migration.
func (c *cli) storeVersion(ctx context.Context, dbURL, file string) (int64, error) {
	if file != "" {
		db, err := openSQLiteFile(file)
		if err != nil {
			return 0, err
		}
		defer db.Close()
		return schemaVersion(ctx, db.QueryRowContext(ctx, schemaVersionQuery))
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0, fmt.Errorf("connect %s: %w", storage.Redact(dbURL), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return schemaVersion(ctx, conn.QueryRow(ctx, schemaVersionQuery))
}

// printMerges reports the subscriber records the migration to one record
// per address folded into another.
func printMerges(w io.Writer, merges []subscribers.Merge) {
	if len(merges) == 0 {
		return
	}
	fmt.Fprintf(w, "%d subscriber record(s) merged into another with the same address in another letter case (earliest consent, every list kept):\n", len(merges))
	for _, m := range merges {
		fmt.Fprintf(w, "  %s (id %d) into %s (id %d), %s\n", m.MergedEmail, m.MergedID, m.KeptEmail, m.KeptID, m.At.UTC().Format(time.DateOnly))
	}
}
