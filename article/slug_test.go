package article

import "testing"

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"He Wei":            "he-wei",
		"  he   wei ":       "he-wei",
		"Émile Zola":        "emile-zola",
		"Urban planning":    "urban-planning",
		"R&D / budgets":     "r-d-budgets",
		"何伟":                "何伟",
		"Shanghai 70th":     "shanghai-70th",
		"shanghai-70th":     "shanghai-70th",
		"---":               "",
		"Xinhua (agency)":   "xinhua-agency",
		"ÖSTERREICH Straße": "osterreich-straße",
	} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
	long := ""
	for range 150 {
		long += "长"
	}
	if got := Slug(long); len(got) > 200 || got == "" {
		t.Errorf("long slug: %d bytes", len(got))
	}
}
