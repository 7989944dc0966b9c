// Command syndicated builds and serves RSS, Atom and JSON feeds of a news
// section and its series, and runs the subscriber list behind the weekly
// digest. Run "syndicated help" for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"syscall"
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

// spec names a command and makes a fresh one for each command line.
type spec struct {
	name    string
	usage   string // arguments after the name
	summary string
	new     func() command
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

// errUsage marks an error caused by how the command was called (exit 2).
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	c := &cli{stdout: os.Stdout, stderr: os.Stderr, environ: os.Environ(), isTerminal: isTerminal(os.Stderr)}
	code := c.main(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// main runs one command line and returns the exit code: 0, 1 when the
// command failed, 2 when it was called wrongly. Help asked for goes to
// stdout; help shown because of a mistake goes to stderr.
func (c *cli) main(ctx context.Context, args []string) int {
	cmds := commands()
	if len(args) == 0 {
		c.usage(c.stderr, cmds)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help":
		c.usage(c.stdout, cmds)
		return 0
	case "-version", "--version":
		return c.main(ctx, []string{"version"})
	case "help":
		return c.help(args[1:], cmds)
	}
	cmd, rest, ok := findCommand(cmds, args)
	if !ok {
		if group := subcommands(cmds, args[0]); len(group) > 0 {
			if len(args) > 1 && isHelpFlag(args[1]) {
				c.usage(c.stdout, group)
				return 0
			}
			if len(args) > 1 {
				fmt.Fprintf(c.stderr, "syndicated: unknown command %q\n\n", args[0]+" "+args[1])
			}
			c.usage(c.stderr, group)
			return 2
		}
		fmt.Fprintf(c.stderr, "syndicated: unknown command %q\n\n", args[0])
		c.usage(c.stderr, cmds)
		return 2
	}
	run := cmd.new()
	fs := c.flagSet(cmd, run)
	pos, err := parseInterleaved(fs, rest)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.commandUsage(c.stdout, cmd, fs)
			return 0
		}
		// The flag package has printed what is wrong.
		c.commandUsage(c.stderr, cmd, fs)
		return 2
	}
	if m, ok := run.(mailSender); ok {
		c.sendsMail = m.sendsMail()
	}
	if err := run.run(ctx, c, pos); err != nil {
		fmt.Fprintf(c.stderr, "syndicated %s: %v\n", cmd.name, err)
		if errors.Is(err, errUsage) {
			c.commandUsage(c.stderr, cmd, fs)
			return 2
		}
		return 1
	}
	return 0
}

// flagSet declares the flags every command takes and run's own.
func (c *cli) flagSet(cmd spec, run command) *flag.FlagSet {
	fs := flag.NewFlagSet("syndicated "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {} // main prints usage where it belongs
	fs.StringVar(&c.configPath, "config", "", "config file (TOML); default: none, built-in defaults")
	fs.StringVar(&c.dataDir, "data", "./data", "data directory (SQLite database, mail spool, legacy secret file)")
	run.flags(fs)
	return fs
}

func (c *cli) commandUsage(w io.Writer, cmd spec, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: syndicated %s [flags] %s\n\n%s.\n\nFlags (before or after the arguments; -- ends them):\n", cmd.name, cmd.usage, cmd.summary)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(c.stderr)
}

// help answers "syndicated help [COMMAND]" on stdout.
func (c *cli) help(args []string, cmds []spec) int {
	if len(args) == 0 {
		c.usage(c.stdout, cmds)
		return 0
	}
	if cmd, rest, ok := findCommand(cmds, args); ok && len(rest) == 0 {
		c.commandUsage(c.stdout, cmd, c.flagSet(cmd, cmd.new()))
		return 0
	}
	if group := subcommands(cmds, args[0]); len(group) > 0 && len(args) == 1 {
		c.usage(c.stdout, group)
		return 0
	}
	fmt.Fprintf(c.stderr, "syndicated help: unknown command %q\n\n", strings.Join(args, " "))
	c.usage(c.stderr, cmds)
	return 2
}

func isHelpFlag(s string) bool { return s == "-h" || s == "-help" || s == "--help" }

// subcommands returns the commands named "group …" ("subscribers add", …).
func subcommands(cmds []spec, group string) []spec {
	var out []spec
	for _, c := range cmds {
		if strings.HasPrefix(c.name, group+" ") {
			out = append(out, c)
		}
	}
	return out
}

// parseInterleaved parses flags wherever they stand among the positional
// arguments ("subscribers add EMAIL --name N"), as the flag package alone
// does not: it stops at the first positional argument. "--" ends the
// flags; everything after it is positional.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if endedByTerminator(fs, args[:len(args)-len(rest)]) {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// endedByTerminator reports whether the flag package stopped at a "--"
// that ends the flags, rather than one given as a flag's value
// ("--name --").
func endedByTerminator(fs *flag.FlagSet, consumed []string) bool {
	for i := 0; i < len(consumed); i++ {
		a := consumed[i]
		if a == "--" {
			return i == len(consumed)-1
		}
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil {
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
				i++ // its value
			}
		}
	}
	return false
}

// findCommand matches the longest command name ("feeds build") at the
// start of args.
func findCommand(cmds []spec, args []string) (spec, []string, bool) {
	for _, n := range []int{2, 1} {
		if len(args) < n {
			continue
		}
		name := strings.Join(args[:n], " ")
		for _, c := range cmds {
			if c.name == name {
				return c, args[n:], true
			}
		}
	}
	return spec{}, nil, false
}

func (c *cli) usage(w io.Writer, cmds []spec) {
	cmds = slices.Clone(cmds)
	sort.SliceStable(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	fmt.Fprintf(w, "syndicated builds and serves news feeds and sends their weekly email digests.\n\nUsage: syndicated COMMAND [flags] [args]\n\nCommands:\n")
	for _, cmd := range cmds {
		fmt.Fprintf(w, "  %-29s %s\n", strings.TrimSpace(cmd.name+" "+cmd.usage), cmd.summary)
	}
	fmt.Fprintf(w, "\nEvery command takes --config FILE and --data DIR (default ./data).\nRun \"syndicated COMMAND --help\" for a command's flags; \"syndicated --version\" for the version.\n")
}

// version is the module version and VCS revision the binary was built from.
func version() string {
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
