// Package testkit is what tests of several packages share about their
// surroundings: a part that is missing (a tool, a service, a shared
// file) skips the test on a developer's machine and fails it under CI,
// where every part must be there.
package testkit

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Missing ends the test because a part it needs is not there, format
// saying which and how to get it: a skip, or under CI (CI set) a failure.
func Missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") != "" {
		tb.Fatalf("%s (CI is set: this test must run there)", msg)
	}
	tb.Skip(msg)
}

// Shared returns the path of rel under the shared/ directory beside the
// repository (../shared, which holds copyrighted or large material never
// copied into it), calling Missing when it is not there.
func Shared(tb testing.TB, rel string) string {
	tb.Helper()
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		Missing(tb, "shared/%s not available: %v", rel, err)
	}
	return p
}

// Step runs one named step of a scenario as a subtest of t, so that a
// failure names its step, unless an earlier step failed: each step builds
// on the ones before. It reports whether the step passed.
func Step(t *testing.T, name string, fn func(t *testing.T)) bool {
	t.Helper()
	if t.Failed() {
		return false
	}
	return t.Run(name, fn)
}
