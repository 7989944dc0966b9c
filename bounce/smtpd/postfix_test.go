package smtpd_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestRealPostfix runs scripts/bounce-check.sh: a digest through a real
// Postfix (a private instance on loopback) that accepts every reader and
// returns its own DSNs for those its readers' MX refuses, to the copies'
// VERP addresses and on to serve's bounce.listen, with a complaint and a
// mailto: unsubscribe; the outbox, the statuses and Postfix's log must
// agree. It skips without root, and without Postfix except under CI
// (scripts/test.sh installs Postfix as root).
func TestRealPostfix(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no real Postfix")
	}
	if _, err := exec.LookPath("postconf"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("postfix is not installed (apt-get install postfix)")
		}
		t.Skip("postfix is not installed (apt-get install postfix)")
	}
	if os.Geteuid() != 0 {
		t.Skip("a Postfix instance needs root (its daemons switch to the postfix user)")
	}
	out, err := exec.Command("../../scripts/bounce-check.sh", "50").CombinedOutput()
	if err != nil || strings.Contains(string(out), "FAIL") {
		t.Fatalf("bounce-check.sh: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
