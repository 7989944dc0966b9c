package samples_test

import (
	"testing"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/ingest"
	"github.com/syndicated/syndicated/samples"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// An empty store gets every sample once; a store with articles gets none.
func TestSeedFillsOnlyAnEmptyStore(t *testing.T) {
	st := storagetest.SQLite(t)
	im := ingest.New(st, ingest.Options{})
	n, err := samples.Seed(t.Context(), st, im)
	if err != nil || n < 8 {
		t.Fatalf("first seed: %d files, %v", n, err)
	}
	stored, err := st.CountArticles(t.Context(), article.Query{})
	if err != nil || stored == 0 {
		t.Fatalf("%d articles stored, %v", stored, err)
	}
	if n, err := samples.Seed(t.Context(), st, im); n != 0 || err != nil {
		t.Errorf("second seed: %d files, %v; want none", n, err)
	}
}
