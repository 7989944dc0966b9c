package sqlite_test

import (
	"testing"

	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/conformance"
	"github.com/syndicated/syndicated/storage/storagetest"
)

func TestConformance(t *testing.T) {
	conformance.RunTests(t, func(t *testing.T) storage.Storage { return storagetest.SQLite(t) })
}
