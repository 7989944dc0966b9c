package audience_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/syndicated/syndicated/feeds/audience"
	"github.com/syndicated/syndicated/storage"
	"github.com/syndicated/syndicated/storage/storagetest"
)

type httpRequest = http.Request

// runOnce runs the counter's loop long enough to fetch its keys.
func runOnce(t *testing.T, c *audience.Counter) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := c.Run(ctx); err != nil {
		t.Fatal(err)
	}
}

func dumpTables(t *testing.T, st storage.Storage, tables ...string) string {
	t.Helper()
	db := storagetest.DB(t, st)
	var b strings.Builder
	for _, table := range tables {
		rows, err := db.Query(`SELECT * FROM ` + table)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				switch v := v.(type) {
				case []byte:
					b.Write(v)
				case string:
					b.WriteString(v)
				}
				b.WriteByte(' ')
			}
		}
		rows.Close()
	}
	return b.String()
}

func containsStr(s, sub string) bool { return strings.Contains(s, sub) }
