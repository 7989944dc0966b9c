package bounce

import "testing"

// BenchmarkReturnPath is what VERP adds to each digest copy: its envelope
// sender and its mailto: unsubscribe address (two HMACs). Compare with
// go test ./digest -bench Personalise, the rest of a copy's cost.
func BenchmarkReturnPath(b *testing.B) {
	v, err := NewVERP("bounces@bounce.example.org", []byte("bench-secret-0123456789"), true)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	id := int64(1)
	for b.Loop() {
		_ = v.ReturnPath("shanghai-70th/2019-W22", id)
		_ = v.UnsubscribeAddress("shanghai-70th/2019-W22", id)
		id++
	}
}

// BenchmarkParseVERP is the check of one notification's token.
func BenchmarkParseVERP(b *testing.B) {
	v, _ := NewVERP("bounces@bounce.example.org", []byte("bench-secret-0123456789"), true)
	addr := v.ReturnPath("shanghai-70th/2019-W22", 123456)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Parse(addr); err != nil {
			b.Fatal(err)
		}
	}
}
