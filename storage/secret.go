package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// secretName is the store setting that holds the generated HMAC key.
const secretName = "hmac"

// HMACKey returns the key that signs tokens, and where it came from, first
// of:
//
//   - the configured secret (at least 16 characters);
//   - DATA/secret, when an earlier version generated one there, so that
//     links already sent by a single-box install keep working;
//   - the key kept in the store under "hmac", generated (32 random bytes,
//     hex) and stored on first use. Every replica sharing the database
//     reads the same one, so a link signed by one verifies on all.
func HMACKey(ctx context.Context, configured, dataDir string, st Storage) (key []byte, source string, err error) {
	if configured != "" {
		if len(configured) < 16 {
			return nil, "", errors.New("secret: must be at least 16 characters")
		}
		return []byte(configured), "config", nil
	}
	path := filepath.Join(dataDir, "secret")
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return []byte(strings.TrimSpace(string(b))), "file " + path, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("secret: %w", err)
	}
	s, err := st.Secret(ctx, secretName, func() (string, error) {
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return "", err
		}
		return hex.EncodeToString(raw), nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("secret: %w", err)
	}
	if len(s) < 16 {
		return nil, "", fmt.Errorf("secret: the %q setting in the database is shorter than 16 characters", secretName)
	}
	return []byte(s), "database", nil
}

// CheckDataDir reports why dir cannot hold the data: it exists but is not
// a writable directory, or it cannot be created.
func CheckDataDir(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		parent := filepath.Dir(filepath.Clean(dir))
		if pfi, perr := os.Stat(parent); perr != nil || !pfi.IsDir() {
			return fmt.Errorf("%s does not exist and %s is not a directory to create it in", dir, parent)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	f, err := os.CreateTemp(dir, ".syndicated-check-*")
	if err != nil {
		return fmt.Errorf("%s is not writable: %w", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}
