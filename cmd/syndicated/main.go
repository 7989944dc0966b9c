// Command syndicated builds and serves RSS, Atom and JSON feeds of a news
// section and its series, and runs the subscriber list behind the weekly
// digest. Run "syndicated help" for the commands.
package main

import (
	"context"
	"flag"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"golang.org/x/term"

	"github.com/syndicated/syndicated/internal/cmdline"
)

// command is one subcommand: a struct holding its own flags (as the
// commands of benbjohnson/wtf's cmd/wtf do), which it declares in flags,
// and run, which gets the arguments left after them.
type command interface {
	flags(fs *flag.FlagSet)
	run(ctx context.Context, c *cli, args []string) error
}

// mailSender is a command that may send mail, so called; only those say
// where mail goes.
type mailSender interface{ sendsMail() bool }

// bound is a command with the process it runs in.
type bound struct {
	command
	c *cli
}

func (b bound) Flags(fs *flag.FlagSet) { b.flags(fs) }

func (b bound) Run(ctx context.Context, args []string) error {
	if m, ok := b.command.(mailSender); ok {
		b.c.sendsMail = m.sendsMail()
	}
	return b.run(ctx, b.c, args)
}

// cli carries what a command needs from the process: streams, environment
// and the flags every command takes. Nothing here is package-level so
// tests run commands in-process side by side.
type cli struct {
	stdout, stderr io.Writer
	environ        []string
	configPath     string
	dataDir        string
	// isTerminal reports whether progress may be drawn on stderr.
	isTerminal bool
	// sendsMail says whether the running command may send mail.
	sendsMail bool
	// onServing, when set, is told the address serve listens on once it
	// answers requests (tests listen on port 0).
	onServing func(addr string)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	c := &cli{stdout: os.Stdout, stderr: os.Stderr, environ: os.Environ(), isTerminal: term.IsTerminal(int(os.Stderr.Fd()))}
	code := c.main(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// main runs one command line and returns the exit code (see
// cmdline.Program.Main).
func (c *cli) main(ctx context.Context, args []string) int {
	return c.program().Main(ctx, args)
}

func (c *cli) program() *cmdline.Program {
	return &cmdline.Program{
		Name:     "syndicated",
		Intro:    "syndicated builds and serves news feeds and sends their weekly email digests.",
		Footer:   "Every command takes --config FILE and --data DIR (default ./data).\nRun \"syndicated COMMAND --help\" for a command's flags; \"syndicated --version\" for the version.\n",
		Commands: c.commands(),
		Global: func(fs *flag.FlagSet) {
			fs.StringVar(&c.configPath, "config", "", "config file (TOML); default: none, built-in defaults")
			fs.StringVar(&c.dataDir, "data", "./data", "data directory (SQLite database, mail spool, legacy secret file)")
		},
		Stdout: c.stdout, Stderr: c.stderr,
	}
}

// stampedVersion is set at link time where the build has no VCS data (the
// container image: -ldflags "-X main.stampedVersion=…" from its VERSION
// build argument). It is never written at run time.
var stampedVersion string

// version is the stamped version, else the module version and VCS revision
// the binary was built from.
func version() string {
	if stampedVersion != "" {
		return stampedVersion
	}
	v := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok {
		v = bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += "+" + s.Value[:12]
			}
		}
	}
	return v
}
