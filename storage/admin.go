package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // database/sql driver "sqlite"

	"github.com/syndicated/syndicated/subscribers"
)

// ErrUsePgDump is Backup's answer for a PostgreSQL database.
var ErrUsePgDump = errors.New("the database is PostgreSQL: back it up with pg_dump (pg_dump --format=custom --file FILE \"$SYNDICATED_DATABASE_URL\"), see docs/operations.md")

// SQLiteFile is the SQLite file dbURL names, resolved against dataDir as
// Open resolves it, or "" for PostgreSQL.
func SQLiteFile(dbURL, dataDir string) (string, error) {
	if dataDir == "" {
		dataDir = DefaultDataDir
	}
	scheme, rest, hasScheme := strings.Cut(dbURL, ":")
	path := ""
	switch {
	case dbURL == "":
	case !hasScheme:
		return "", fmt.Errorf("%w %q: want sqlite:PATH or postgres://…", ErrUnsupportedURL, Redact(dbURL))
	case strings.EqualFold(scheme, "postgres"), strings.EqualFold(scheme, "postgresql"):
		return "", nil
	case strings.EqualFold(scheme, "sqlite"), strings.EqualFold(scheme, "file"):
		path = sqlitePath(rest)
	default:
		return "", fmt.Errorf("%w: scheme %q in %q (want sqlite: or postgres://)", ErrUnsupportedURL, scheme, Redact(dbURL))
	}
	if path == "" {
		path = DefaultSQLiteFile
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(dataDir, path)
	}
	return path, nil
}

// Describe names the database dbURL opens, without its password.
func Describe(dbURL, dataDir string) string {
	if dbURL == "" {
		if dataDir == "" {
			dataDir = DefaultDataDir
		}
		return "SQLite " + filepath.Join(dataDir, DefaultSQLiteFile)
	}
	return Redact(dbURL)
}

// BackupResult is what Backup wrote.
type BackupResult struct {
	From, To      string // the database file and its copy
	Bytes         int64
	SchemaVersion int64
}

// String says what was copied where, as "syndicated backup" reports it.
func (r BackupResult) String() string {
	return fmt.Sprintf("backed up %s to %s (%d bytes, schema version %d, integrity ok)", r.From, r.To, r.Bytes, r.SchemaVersion)
}

// Backup writes a consistent copy of the SQLite database dbURL names to
// out with VACUUM INTO, which reads one snapshot (WAL) while a daemon
// keeps writing, checks the copy's integrity, and only then moves it into
// place (atomically; a copy that fails the check is removed). For
// PostgreSQL it returns ErrUsePgDump.
func Backup(ctx context.Context, dbURL, dataDir, out string) (BackupResult, error) {
	src, err := SQLiteFile(dbURL, dataDir)
	if err != nil {
		return BackupResult{}, err
	}
	if src == "" {
		return BackupResult{}, ErrUsePgDump
	}
	db, err := OpenSQLiteFile(src)
	if err != nil {
		return BackupResult{}, fmt.Errorf("database: %w", err)
	}
	defer db.Close()
	if out, err = filepath.Abs(out); err != nil {
		return BackupResult{}, err
	}
	tmp := out + ".tmp"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return BackupResult{}, err
	}
	res := BackupResult{From: src, To: out}
	if err := func() error {
		if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
			return fmt.Errorf("copy %s: %w", src, err)
		}
		if res.SchemaVersion, err = checkSQLiteCopy(ctx, tmp); err != nil {
			return err
		}
		if err := syncFile(tmp); err != nil {
			return err
		}
		return os.Rename(tmp, out)
	}(); err != nil {
		os.Remove(tmp)
		return BackupResult{}, err
	}
	fi, err := os.Stat(out)
	if err != nil {
		return BackupResult{}, err
	}
	res.Bytes = fi.Size()
	return res, nil
}

// OpenSQLiteFile opens an existing SQLite file with database/sql, without
// migrating it, waiting for a daemon's write locks rather than failing on
// them.
func OpenSQLiteFile(path string) (*sql.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	return sql.Open("sqlite", "file:"+path+"?"+q.Encode())
}

// checkSQLiteCopy runs SQLite's integrity check on a copy and returns its
// schema version.
func checkSQLiteCopy(ctx context.Context, path string) (int64, error) {
	db, err := OpenSQLiteFile(path)
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
	return scanVersion(db.QueryRowContext(ctx, schemaVersionQuery))
}

const schemaVersionQuery = `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`

func scanVersion(row interface{ Scan(...any) error }) (int64, error) {
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

// SchemaVersion reads the highest migration applied to the database dbURL
// names, without applying any; an error when there is no database yet.
func SchemaVersion(ctx context.Context, dbURL, dataDir string) (int64, error) {
	file, err := SQLiteFile(dbURL, dataDir)
	if err != nil {
		return 0, err
	}
	if file != "" {
		db, err := OpenSQLiteFile(file)
		if err != nil {
			return 0, err
		}
		defer db.Close()
		return scanVersion(db.QueryRowContext(ctx, schemaVersionQuery))
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0, fmt.Errorf("connect %s: %w", Redact(dbURL), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return scanVersion(conn.QueryRow(ctx, schemaVersionQuery))
}

// MigrateResult is what Migrate did.
type MigrateResult struct {
	Database      string // Describe's
	Before, After int64  // schema versions; Before is 0 for a new database
	// Merges are the subscriber records folded into another with the same
	// address in another letter case (by migration 0011, on this run or
	// an earlier one).
	Merges []subscribers.Merge
}

// String says what changed, as "syndicated migrate" reports it, and the
// subscriber records merged.
func (r MigrateResult) String() string {
	var b strings.Builder
	if r.After == r.Before {
		fmt.Fprintf(&b, "%s: schema version %d, up to date", r.Database, r.After)
	} else {
		fmt.Fprintf(&b, "%s: migrated from schema version %d to %d", r.Database, r.Before, r.After)
	}
	if len(r.Merges) > 0 {
		fmt.Fprintf(&b, "\n%d subscriber record(s) merged into another with the same address in another letter case (earliest consent, every list kept):", len(r.Merges))
		for _, m := range r.Merges {
			fmt.Fprintf(&b, "\n  %s (id %d) into %s (id %d), %s", m.MergedEmail, m.MergedID, m.KeptEmail, m.KeptID, m.At.UTC().Format(time.DateOnly))
		}
	}
	return b.String()
}

// Migrate opens the database dbURL names, which applies every pending
// migration (creating a SQLite database under dataDir when there is none),
// and returns the schema version before and after.
func Migrate(ctx context.Context, dbURL, dataDir string) (MigrateResult, error) {
	res := MigrateResult{Database: Describe(dbURL, dataDir)}
	if _, err := SQLiteFile(dbURL, dataDir); err != nil {
		return res, err
	}
	res.Before, _ = SchemaVersion(ctx, dbURL, dataDir) // none yet on a new database
	st, err := Open(ctx, dbURL, dataDir)
	if err != nil {
		return res, err
	}
	merges, err := st.SubscriberMerges(ctx)
	if err := errors.Join(err, st.Close()); err != nil {
		return res, err
	}
	res.Merges = merges
	res.After, err = SchemaVersion(ctx, dbURL, dataDir)
	return res, err
}
