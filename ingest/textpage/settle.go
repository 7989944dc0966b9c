package textpage

import "github.com/syndicated/syndicated/article"

// Settle tidies an article put together from its pages (one file or
// several): a later page opening with the headline (a photo's alternative
// text) or with the deck repeats them, which adds nothing; and a line
// that opens every page is the deck, even when it ends with a full stop.
// It returns the lines it took out of the body.
func Settle(a *article.Article) (removed []string) {
	for i := range a.Body {
		pg := &a.Body[i]
		for len(pg.Paragraphs) > 0 && (sameText(pg.Paragraphs[0], a.Headline) || i > 0 && sameText(pg.Paragraphs[0], a.Deck)) {
			removed = append(removed, pg.Paragraphs[0])
			removeParagraph(pg, 0)
		}
	}
	if a.Deck != "" || len(a.Body) < 2 || a.Body[0].Number != 1 || len(a.Body[0].Paragraphs) < 2 {
		return removed
	}
	first := a.Body[0].Paragraphs[0]
	if a.Body[0].IsSubhead(0) || len(a.Body[0].Photos) > 0 && a.Body[0].Photos[0].At == 0 {
		return removed
	}
	for _, pg := range a.Body[1:] {
		if len(pg.Paragraphs) == 0 || !sameText(pg.Paragraphs[0], first) {
			return removed
		}
	}
	a.Deck = first
	for i := range a.Body {
		if i > 0 {
			removed = append(removed, a.Body[i].Paragraphs[0])
		}
		removeParagraph(&a.Body[i], 0)
	}
	return removed
}

// removeParagraph takes paragraph i out of a page, keeping its sub-heads
// and photos where they stand.
func removeParagraph(pg *article.Page, i int) {
	pg.Paragraphs = append(pg.Paragraphs[:i:i], pg.Paragraphs[i+1:]...)
	var subs []int
	for _, s := range pg.Subheads {
		switch {
		case s < i:
			subs = append(subs, s)
		case s > i:
			subs = append(subs, s-1)
		}
	}
	pg.Subheads = subs
	for j := range pg.Photos {
		if pg.Photos[j].At > i {
			pg.Photos[j].At--
		}
	}
	if len(pg.Paragraphs) == 0 {
		pg.Paragraphs = nil
	}
}
