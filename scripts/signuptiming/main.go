// Command signuptiming measures how long POST /subscribe takes to answer
// for each state of the address signed up: a new address (a fresh one each
// time), a pending one, an active one and a removed (suppressed) one. The
// requests take turns, over one kept-alive connection, so the states share
// the machine's noise; it prints the median and 90th percentile of each,
// in microseconds. scripts/signup-timing.sh runs it against serve.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"time"
)

func main() {
	base := flag.String("base", "http://127.0.0.1:8080", "serve's address")
	n := flag.Int("n", 400, "requests per state")
	warm := flag.Int("warm", 40, "rounds before measuring")
	pending := flag.String("pending", "pending@timing.example", "an address that is pending")
	active := flag.String("active", "active@timing.example", "an address that is active")
	removed := flag.String("removed", "removed@timing.example", "an address that was removed")
	label := flag.String("label", "", "a label to print before the figures")
	flag.Parse()

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 10 * time.Second}
	states := []string{"new", "pending", "active", "removed"}
	took := map[string][]time.Duration{}
	post := func(email string) time.Duration {
		body := []byte(`{"email":"` + email + `","lists":["shanghai-70th"]}`)
		start := time.Now()
		resp, err := client.Post(*base+"/subscribe", "application/json", bytes.NewReader(body))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		if resp.StatusCode != http.StatusAccepted {
			fmt.Fprintf(os.Stderr, "%s: %s\n", email, resp.Status)
			os.Exit(1)
		}
		return d
	}
	for i := -*warm; i < *n; i++ {
		// Each round in another order, so no state always follows another.
		for k := range states {
			st := states[(k+i+*warm)%len(states)]
			email := map[string]string{"pending": *pending, "active": *active, "removed": *removed}[st]
			if st == "new" {
				email = fmt.Sprintf("new-%d-%d@timing.example", time.Now().UnixNano(), i)
			}
			d := post(email)
			if i >= 0 {
				took[st] = append(took[st], d)
			}
		}
	}
	if *label != "" {
		fmt.Printf("%s\n", *label)
	}
	fmt.Printf("%-8s %10s %10s\n", "state", "median µs", "p90 µs")
	for _, st := range states {
		ds := took[st]
		slices.Sort(ds)
		fmt.Printf("%-8s %10.0f %10.0f\n", st, float64(ds[len(ds)/2].Microseconds()), float64(ds[len(ds)*9/10].Microseconds()))
	}
}
