// Package mailpittest runs Mailpit, a real SMTP server with an HTTP API,
// for end-to-end mail tests, and reads what it received.
package mailpittest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/syndicated/syndicated/internal/browsertest"
)

// Server is a running Mailpit.
type Server struct {
	SMTP string // host:port of its SMTP listener
	API  string // base URL of its HTTP API, e.g. http://127.0.0.1:1234
}

// Start runs Mailpit (MAILPIT_BIN, else mailpit on PATH) on free loopback
// ports until the test ends. Without Mailpit it skips the test, or fails
// it when CI is set.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin := browsertest.Need(tb, "mailpit", os.Getenv("MAILPIT_BIN"), "mailpit")
	// A free port may be taken by another test process (another package's
	// Mailpit) before this one binds it: then this Mailpit exits, and the
	// API that answers is not its own. Try again on other ports.
	var err error
	for range 3 {
		var s *Server
		if s, err = start(tb, bin); err == nil {
			return s
		}
	}
	tb.Fatalf("mailpit did not start: %v", err)
	return nil
}

func start(tb testing.TB, bin string) (*Server, error) {
	smtpAddr, httpAddr := freeAddr(tb), freeAddr(tb)
	db := filepath.Join(tb.TempDir(), "mailpit.db")
	cmd := exec.Command(bin, "--smtp", smtpAddr, "--listen", httpAddr, "--database", db,
		"--smtp-auth-accept-any", "--smtp-auth-allow-insecure", "--disable-version-check", "--quiet")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start mailpit: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	tb.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	s := &Server{SMTP: smtpAddr, API: "http://" + httpAddr}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			return nil, fmt.Errorf("mailpit exited: %v", err)
		default:
		}
		// Its own Mailpit names the database it was given.
		var info struct{ Database string }
		err := s.GetJSON(tb.Context(), "/api/v1/info", &info)
		if err == nil && info.Database == db {
			return s, nil
		}
		if err == nil {
			err = fmt.Errorf("%s is another Mailpit's (database %q)", httpAddr, info.Database)
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			return nil, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Summary is one message in Mailpit's list.
type Summary struct {
	ID      string `json:"ID"`
	Subject string `json:"Subject"`
	To      []struct {
		Address string `json:"Address"`
	} `json:"To"`
}

// Message is one message in full.
type Message struct {
	ID   string `json:"ID"`
	Text string `json:"Text"`
	HTML string `json:"HTML"`
}

// GetJSON decodes the API answer at path (e.g. /api/v1/messages) into v.
func (s *Server) GetJSON(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.API+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("mailpit %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// Messages lists what Mailpit holds, newest first.
func (s *Server) Messages(tb testing.TB) []Summary {
	tb.Helper()
	var l struct {
		Messages []Summary `json:"messages"`
	}
	if err := s.GetJSON(context.Background(), "/api/v1/messages", &l); err != nil {
		tb.Fatal(err)
	}
	return l.Messages
}

// Headers returns a message's headers.
func (s *Server) Headers(tb testing.TB, id string) map[string][]string {
	tb.Helper()
	var h map[string][]string
	if err := s.GetJSON(context.Background(), "/api/v1/message/"+id+"/headers", &h); err != nil {
		tb.Fatal(err)
	}
	return h
}

// WaitFor polls until a message to addr arrives (30 s at most) and returns
// the newest one in full.
func (s *Server) WaitFor(tb testing.TB, addr string) Message {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		var l struct {
			Messages []Summary `json:"messages"`
		}
		if err := s.GetJSON(ctx, "/api/v1/messages", &l); err == nil {
			for _, m := range l.Messages {
				for _, to := range m.To {
					if to.Address == addr {
						var full Message
						if err := s.GetJSON(ctx, "/api/v1/message/"+m.ID, &full); err != nil {
							tb.Fatal(err)
						}
						return full
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("no mail to %s in Mailpit: %v", addr, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
