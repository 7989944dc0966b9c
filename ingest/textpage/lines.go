package textpage

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// What a line of a page is, before its place in the page is known. Every
// pattern here was seen on the publisher's pages (2007 to today) or on
// copies of them made by reader modes and mirror sites.
var (
	// Breadcrumbs: "Home / China / Society", "Home/Culture/ News and
	// Feature", "Home> Services>Updates", "Home | Society", "首页 / 中国 /
	// 社会", and without "Home": "CHINA> National", "Opinion / Web
	// Comments", "Opinion\From the Readers".
	homeCrumbRe  = regexp.MustCompile(`^(?i:home|首页)\s*(?:$|[/>›»|\\]\s*)`)
	crumbSplitRe = regexp.MustCompile(`\s*[/>›»|\\]\s*`)

	// Byline parts.
	// updatedRe is a time field, maybe after a publication in brackets:
	// "Updated: …", "( Updated: …", "(chinadaily.com.cn) Updated: …".
	updatedRe = regexp.MustCompile(`^(?:[(（]([^()（）]{1,48})[)）]\s*)?[(（]?\s*(?:(?i:updated|published)\s*[:：]|(?:更新时间|更新|发布时间)\s*[:：])\s*(.*)$`)
	// stampRe finds the time an "Updated:" field starts with.
	stampRe    = regexp.MustCompile(`^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[ T]+\d{1,2}:\d{2}(?::\d{2})?)?|(?i:(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2},?\s+\d{4}(?:\s+\d{1,2}:\d{2})?))`)
	bareTimeRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2}(?::\d{2})?)?$`)
	byRe       = regexp.MustCompile(`^(?i:by)\s+|^(?:作者|记者)\s*[:：]?\s*`)
	// parenPubRe is a publication alone in brackets: "(China Daily)",
	// "( Agencies)", "(CRIENGLISH.com)".
	parenPubRe = regexp.MustCompile(`^[(（]\s*([^()（）|]{1,48}?)\s*[)）]$`)
	sourceRe   = regexp.MustCompile(`^(?:来源|Source)\s*[:：]\s*`)
	barLineRe  = regexp.MustCompile(`^[|\s]+$`)

	authorSplit = regexp.MustCompile(`\s*,\s*(?i:and\s+)?|\s+(?i:and)\s+|\s*&\s*|\s*、\s*`)
	inRe        = regexp.MustCompile(`\s+(?i:in)\s+`)
	forRe       = regexp.MustCompile(`\s+(?i:for)\s+.*$`)
	// pubInBracketsRe is a publication glued to the place: "By NAME in
	// New York(China Daily USA)", "By NAME in Chengdu (China Daily)".
	pubInBracketsRe = regexp.MustCompile(`\s*[(（]([^()（）]*)[)）]\s*$`)

	// chromeRe is site chrome wherever it stands: share buttons, edition
	// and language links, toolbars, the copyright footer, the old site's
	// corner images, share counters.
	chromeRe = regexp.MustCompile(`^(?:` +
		`Share(?:\s*-\s*(?:WeChat)?)?|Share (?:on|this)|(?i:global\s*edition).*|(?i:copyright)\b.*(?i:all rights reserved|\b1995\b).*|` +
		`(?i:license for publishing multimedia).*|(?i:registration number).*|(?i:note: browsers with).*|版权所有.*|` +
		`(?i:back to the top|follow us|top|english|中文)|` +
		`(?i:make me your homepage)|(?i:(?:left|right) corner(?: (?:left|right) corner)?)|(?i:china daily website)|` +
		`(?i:comments)(?:\(\d*\))?|(?i:(?:comments(?:\(\d*\))?\s*)?(?:print\s+)?(?:mail\s+)?large\s+medium\s+small)(?:\s*分享按[钮鈕])?(?:\s*\d+)?|` +
		`(?i:adjust font size:?)|(?i:twitter\s+facebook)(?:\s+\S+)*|(?i:advertisement)|广告|(?i:photo|video)|` +
		`(?i:us\s*europe\s*africa\s*asia).*|.*(?:ICP[备证]|公网安备).*|` +
		`\.\.\.+|…+` +
		`)$`)
	// htmlOnlyRe is a line of nothing but HTML tags, left by mirror sites.
	htmlOnlyRe = regexp.MustCompile(`^(?:<[^<>]*>\s*)+$`)
	// callRe is a call for readers' contributions under the article.
	callRe = regexp.MustCompile(`^(?i:you are welcome to (?:submit|send) your (?:stor(?:y|ies)|articles?|photos?) to|readers' comments are welcome)\b`)
	// sideRe heads a side column (a list of other stories) or a list of
	// related links; several may share a line ("Most Viewed Today's Top
	// News").
	sideRe = regexp.MustCompile(`^(?:(?i:today['’]?s top news|editor['’]?s picks?|most viewed|most popular|most read|hot topics|top china news|highlights|` +
		`most commented/read stories in 48 hours|most commented|latest news|related (?:stories|news|articles)|more stories|you may also like)` +
		`|相关(?:新闻|阅读))(?:\s*(?i:today['’]?s top news|editor['’]?s picks?|most viewed|most popular|hot topics|most commented))*[:：]?$`)
	// listItemRe is an item of such a list.
	listItemRe = regexp.MustCompile(`^(?:-|•|·|▪|\*)\s+\S`)
	// footRe ends an article's text on its page: the print edition's
	// source line, a share counter.
	footRe = regexp.MustCompile(`^[(（](?i:china daily(?: usa| europe| africa| asia| global| hong kong)?)\s*\d{1,2}/\d{1,2}/\d{4}\s*(?i:page|p\.?)\s*\d+[)）]$|^\d+(?:\.\d+)?[KkMm]$`)
	// toolbarWordRe is a toolbar's word left after a byline's time:
	// "Updated: May 21, 2020 Chinaculture.org Print".
	toolbarWordRe = regexp.MustCompile(`^(?i:print|mail|e-mail|comments(?:\(\d*\))?|share|large|medium|small|分享按[钮鈕]|\d+)$`)
	// copyrightRe starts a site's footer: what follows on the page
	// ("All Rights Reserved", "Sponsored by …", "Powered by …") is foot.
	copyrightRe = regexp.MustCompile(`^(?:(?i:copyright)\b|©|版权所有)`)
	// markdownImageRe is an image a text extractor left as Markdown.
	markdownImageRe = regexp.MustCompile(`^!\[[^\]]*\]\([^)]*\)\s*\|?$`)
	// inlineUpdatedRe is a byline with its time on the same line and no
	// "|" between: "By NAME in PLACE (China Daily) Updated: …".
	inlineUpdatedRe = regexp.MustCompile(`^((?i:by)\s.+?)\s+((?i:updated|published)\s*[:：].*)$`)
	// trailerRe is chrome after a pagination line: a page's foot.
	trailerRe = regexp.MustCompile(`^(?i:top|english)$|^中文$|^- `)

	paginationRe = regexp.MustCompile(`^(?:\|?\s*<<\s*)?(?:(Previous|上一页)(?:\s+(?i:page))?)?\s*((?:\d+\s+)*\d+)\s*(?:(Next|下一页)(?:\s+(?i:page))?)?(?:\s*>>\s*\|?)?$`)
	arrowsPageRe = regexp.MustCompile(`^<\s*((?:\d+\s+)*\d+)\s*>$`)
	imageRe      = regexp.MustCompile(`^(?i:image|photo)\s*[:：]\s*(https?://\S+)$`)
	noteRe       = regexp.MustCompile(`^(?i:editor['’‘` + "`" + `]?s\s*note)\s*(?:[:：]\s*(.*)|$)|^编者按\s*[:：]?\s*(.*)$`)

	// Photo credits after a caption: "[Photo by NAME/for China Daily]",
	// "[Xinhua]", "[Huang Zhiling / China Daily]", "Photo provided to
	// CHINA DAILY", "MAY ZHOU / CHINA DAILY", "PROVIDED TO CHINA DAILY".
	bracketCapRe  = regexp.MustCompile(`^(.*?[.!?。！？"”'’)）\]]?)\s*[\[【]\s*([^\[\]【】]{2,60}?)\s*[\]】]$`)
	slashCapRe    = regexp.MustCompile(`^(.*[.!?。！？"”)）])\s+(\p{Lu}[\p{L}.'’-]*(?:\s+\p{L}[\p{L}.'’-]*){0,3}\s*/\s*(?:for\s+)?\p{Lu}[\p{L}.'’-]*(?:\s+\p{L}[\p{L}.'’-]*){0,3})\s*\|?$`)
	capsCreditRe  = regexp.MustCompile(`^(.*[.!?。！？"”)）])\s+(\p{Lu}[\p{Lu}\d .,'’&/-]*\p{Lu})$`)
	parenCreditRe = regexp.MustCompile(`^(.*?[.!?。！？"”)）])\s*[(（]((?i:photos?\s+(?:by|provided|courtesy|from)|photos?\s*[/:]|provided\s+to|courtesy\s+of)[^()（）]{1,80})[)）]\s*\|?$`)
	tailCreditRe  = regexp.MustCompile(`^(.*[.!?。！？"”)）])\s+((?i:photos?\s+(?:by|provided|courtesy|from)|provided\s+to|courtesy\s+of)\s[^.!?。]{2,80}?)\s*\|?$`)
	creditWordRe  = regexp.MustCompile(`(?i:^photos?\b|^images?\b|^video\b|^图|^摄影|^视频|/|^(?:xinhua|agencies|reuters|afp|ap|ic|vcg|cfp|china daily|provided)$)`)

	agencyDatelineRe = regexp.MustCompile(`^(\p{Lu}[\p{Lu} .'-]*\p{Lu})\s*(?:--|—|–)\s`)
	terminalRe       = regexp.MustCompile(`[.!?。！？…"”'’)）:：;；]$`)
	// reportsDeckRe is a deck that ends with a full stop: "… Wang Qian
	// reports.", "… Erik Nilsson discovers."
	reportsDeckRe = regexp.MustCompile(`(?i:\b(?:reports?|writes|finds|discovers|explains|learns|investigates|looks back|takes a look)(?: from [^.]{1,40})?\.)$`)
	domainRe      = regexp.MustCompile(`(?i:https?://|www\.|\b[a-z0-9-]+\.(?:com|cn|net|org|top|cc|info|xyz|vip)\b)`)
)

// isBreadcrumb reports whether t is a breadcrumb: "Home …" (strong), or a
// short path of 2 to 5 short parts ("CHINA> National"). It returns the
// parts after "Home".
func isBreadcrumb(t string) (parts []string, ok bool) {
	if homeCrumbRe.MatchString(t) {
		for _, p := range crumbSplitRe.Split(t, -1)[1:] {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		return parts, true
	}
	if utf8.RuneCountInString(t) > 60 {
		return nil, false
	}
	raw := crumbSplitRe.Split(t, -1)
	if len(raw) < 2 || len(raw) > 5 {
		return nil, false
	}
	for _, p := range raw {
		p = strings.TrimSpace(p)
		r, _ := utf8.DecodeRuneInString(p)
		if p == "" || !unicode.IsLetter(r) || len(strings.Fields(p)) > 3 || utf8.RuneCountInString(p) > 25 ||
			strings.ContainsAny(p[len(p)-1:], ".!?,;:") {
			return nil, false
		}
		parts = append(parts, p)
	}
	return parts, true
}

// isChrome reports whether t is chrome wherever it stands, and why.
func isChrome(t string) (string, bool) {
	switch {
	case chromeRe.MatchString(t):
		return "site chrome", true
	case htmlOnlyRe.MatchString(t), markdownImageRe.MatchString(t):
		return "markup left by a mirror site or a text extractor", true
	case callRe.MatchString(t):
		return "call for contributions", true
	case barLineRe.MatchString(t):
		return "separator", true
	}
	return "", false
}

// isMirrorLine reports whether t, above the headline, is a line of the
// copying site's own (its name, an address, a list of keywords) rather
// than part of the headline.
func isMirrorLine(t, headline string) bool {
	if domainRe.MatchString(t) || htmlOnlyRe.MatchString(t) {
		return true
	}
	seps := strings.Count(t, ",") + strings.Count(t, "，") + strings.Count(t, " - ") + strings.Count(t, "|") + strings.Count(t, "_")
	if seps >= 2 {
		return true
	}
	// A line of Chinese above an English headline (or the reverse).
	return headline != "" && hanShare(t) > 0.5 != (hanShare(headline) > 0.5)
}

func hanShare(s string) float64 {
	han, letters := 0, 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			letters++
			if unicode.Is(unicode.Han, r) {
				han++
			}
		}
	}
	if letters == 0 {
		return 0
	}
	return float64(han) / float64(letters)
}

// sameText reports whether two lines say the same, ignoring case, spacing
// and a final full stop: a headline repeated as a photo's alternative
// text, a deck repeated on every page.
func sameText(a, b string) bool {
	norm := func(s string) string {
		return strings.TrimRight(strings.ToLower(strings.Join(strings.Fields(s), " ")), ".。 ")
	}
	return a != "" && b != "" && norm(a) == norm(b)
}

// words counts the words of t (Han characters count as one each).
func words(t string) int {
	n := len(strings.Fields(t))
	for _, r := range t {
		if unicode.Is(unicode.Han, r) {
			n++
		}
	}
	return n
}
