package main

import (
	"io"
	"net/http"
	"net/url"
	"testing"
)

// confirmPost presses the confirm page's button: a POST of the link's
// token to /confirm.
func confirmPost(t *testing.T, base, link string) []byte {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.PostForm(base+"/confirm", url.Values{"token": {u.Query().Get("token")}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /confirm: %d\n%s", resp.StatusCode, b)
	}
	return b
}
