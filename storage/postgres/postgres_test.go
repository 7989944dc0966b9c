package postgres_test

import (
	"testing"

	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/conformance"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// TestConformance runs against a fresh schema per subtest; it skips without
// SYNDICATED_TEST_POSTGRES_URL and fails without it under CI.
func TestConformance(t *testing.T) {
	storagetest.Postgres(t) // skip or fail once, up front
	conformance.RunTests(t, func(t *testing.T) storage.Storage { return storagetest.Postgres(t) })
}
