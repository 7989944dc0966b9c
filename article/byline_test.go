package article_test

import (
	"testing"

	"github.com/syndicated/syndicated/article"
)

func TestByline(t *testing.T) {
	for _, c := range []struct {
		authors []article.Author
		want    string
	}{
		{nil, ""},
		{[]article.Author{{Name: "Huang Yi"}}, "By Huang Yi"},
		{[]article.Author{{Name: "Huang Yi", Place: "Shanghai"}}, "By Huang Yi in Shanghai"},
		{[]article.Author{{Name: "Huang Yi", Place: "Shanghai"}, {Name: "Pan Rui", Place: "Shanghai"}}, "By Huang Yi and Pan Rui in Shanghai"},
		{[]article.Author{{Name: "Huang Yi", Place: "Shanghai"}, {Name: "Pan Rui", Place: "Beijing"}}, "By Huang Yi in Shanghai and Pan Rui in Beijing"},
		{[]article.Author{{Name: "A", Place: "X"}, {Name: "B"}, {Name: "C", Place: "X"}}, "By A in X, B and C in X"},
		{[]article.Author{{Name: "A"}, {Name: "B"}, {Name: "C"}}, "By A, B and C"},
		{[]article.Author{{Name: "A", Place: "X"}, {Name: "B", Place: "X"}, {Name: "C", Place: "X"}}, "By A, B and C in X"},
		{[]article.Author{{Name: " ", Place: "X"}}, ""},
	} {
		if got := article.Byline(c.authors); got != c.want {
			t.Errorf("Byline(%v) = %q, want %q", c.authors, got, c.want)
		}
	}
}
