package storagetest_test

import (
	"context"
	"testing"
	"time"

	"github.com/syndicated/syndicated/article"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
)

// TestForEach checks the helper hands out working, empty stores.
func TestForEach(t *testing.T) {
	storagetest.ForEach(t, func(t *testing.T, s storage.Storage) {
		ctx := context.Background()
		if n, err := s.CountArticles(ctx, article.Query{}); err != nil || n != 0 {
			t.Fatalf("fresh store: count = %d, %v", n, err)
		}
		now := time.Date(2019, 4, 24, 20, 12, 0, 0, time.FixedZone("CST", 8*3600))
		a := &article.Article{ID: "a1", GUID: "urn:a1", Section: "society", Headline: "H",
			Published: now, Updated: now, Status: article.StatusPublished}
		res, err := s.PutArticle(ctx, a, now)
		if err != nil || res.Outcome != article.Created {
			t.Fatalf("put: %v %v", res.Outcome, err)
		}
		got, err := s.GetArticle(ctx, "a1")
		if err != nil || got.Headline != "H" {
			t.Fatalf("get: %+v %v", got, err)
		}
	})
}
