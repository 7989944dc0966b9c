package parse

import (
	"os"
	"testing"
)

// BenchmarkMessage reads a Postfix DSN and a Gmail bounce (the heuristic
// path) as they arrive.
func BenchmarkMessage(b *testing.B) {
	for _, f := range []string{"postfix-dsn-hard.eml", "gmail-nouser.eml", "arf-abuse.eml"} {
		raw, err := os.ReadFile("testdata/" + f)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(f, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if p, _ := Message(raw); len(p.Reports) != 1 {
					b.Fatal("no report")
				}
			}
		})
	}
}
