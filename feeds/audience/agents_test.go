package audience

import "testing"

// The agents below are the formats each service documents or is seen
// sending (their own pages, Buttondown's list of RSS readers); ids and
// counts are made up.
func TestParseUserAgent(t *testing.T) {
	for _, c := range []struct {
		ua   string
		want Report
		ok   bool
	}{
		{"Feedly/1.0 (+http://www.feedly.com/fetcher.html; 462 subscribers; )", Report{"Feedly", 462, ""}, true},
		{"Feedly/1.0 (+https://feedly.com/poller.html; 1 subscribers; like FeedFetcher-Google)", Report{"Feedly", 1, ""}, true},
		{"Mozilla/5.0 (compatible; inoreader.com; 114 subscribers)", Report{"Inoreader", 114, ""}, true},
		{"Inoreader/1.0 (+http://www.inoreader.com/feed-fetcher; 3 subscribers; )", Report{"Inoreader", 3, ""}, true},
		{"Feedbin feed-id:1697787 - 102 subscribers", Report{"Feedbin", 102, "1697787"}, true},
		{`NewsBlur Feed Fetcher - 27 subscribers - https://www.newsblur.com/site/7704055/a-feed ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/14.0.1 Safari/605.1.15")`,
			Report{"NewsBlur", 27, "7704055"}, true},
		{"Mozilla/5.0 (compatible; theoldreader.com; 1 subscribers; feed-id=cead6c3a837650eeefd8fe4a)", Report{"The Old Reader", 1, "cead6c3a837650eeefd8fe4a"}, true},
		{"Mozilla/5.0 (compatible; BazQux/2.4; +https://bazqux.com/fetcher; 1 subscribers)", Report{"BazQux", 1, ""}, true},
		{"Dreamwidth Studios (webmaster@dreamwidth.org; for https://www.dreamwidth.org/users/x_feed/; 2 readers)", Report{"Dreamwidth", 2, ""}, true},
		{"Netvibes (crawler/; http://www.netvibes.com; 12 subscribers; feedID: 98765)", Report{"Netvibes", 12, "98765"}, true},
		{"Superfeedr bot/2.0 http://superfeedr.com - Make your feeds realtime: get in touch - feed-id:46271263 - 3 subscribers", Report{"Superfeedr", 3, "46271263"}, true},
		// No count: one client like any other.
		{"Feedly/1.0 (+http://www.feedly.com/fetcher.html; like FeedFetcher-Google)", Report{}, false},
		{"Miniflux/2.0.51 (https://miniflux.app)", Report{}, false},
		{"NetNewsWire (RSS Reader; https://netnewswire.com/)", Report{}, false},
		{"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", Report{}, false},
		// An unknown agent claiming subscribers is not believed.
		{"MyBot/1.0 (999999 subscribers)", Report{}, false},
		{"", Report{}, false},
	} {
		got, ok := ParseUserAgent(c.ua)
		if ok != c.ok || got != c.want {
			t.Errorf("%q: %+v %t, want %+v %t", c.ua, got, ok, c.want, c.ok)
		}
	}
}
