package samples_test

import (
	"testing"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/config"
	"github.com/syndicated/syndicated/ingest"
	"github.com/syndicated/syndicated/samples"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// An empty store gets every sample once (the default configuration has
// the section of each); a store with articles gets none.
func TestSeedFillsOnlyAnEmptyStore(t *testing.T) {
	st := storagetest.SQLite(t)
	cfg := config.Default()
	im := ingest.New(st, ingest.Options{Sections: cfg.SectionRules(), Rules: cfg.SeriesRules()})
	n, refused, err := samples.Seed(t.Context(), st, im)
	if err != nil || n < 8 || len(refused) != 0 {
		t.Fatalf("first seed: %d files, refused %v, %v", n, refused, err)
	}
	stored, err := st.CountArticles(t.Context(), article.Query{})
	if err != nil || stored == 0 {
		t.Fatalf("%d articles stored, %v", stored, err)
	}
	if n, _, err := samples.Seed(t.Context(), st, im); n != 0 || err != nil {
		t.Errorf("second seed: %d files, %v; want none", n, err)
	}
}
