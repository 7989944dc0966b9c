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
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand. run gets the arguments left after its flags.
type command struct {
	name    string
	usage   string // arguments after the name
	summary string
	flags   func(fs *flag.FlagSet, o *options)
	run     func(ctx context.Context, env *cli, args []string) error
	// sends reports whether the command, so called, may send mail; only
	// those say where mail goes.
	sends func(o *options) bool
}

// options holds every flag; each command registers the ones it takes.
type options struct {
	configPath string
	dataDir    string
	listen     string
	out        string
	// subscribers
	name      string
	list      string
	status    string
	confirmed bool
	allSince  string
	// digest
	series, week, since, format, to string
	day, issue                      string // digest: a daily issue's day; status: any issue's id
	dryRun                          bool
	// config check
	smtpCheck bool
}

// cli carries what a command needs from the process: streams, environment
// and parsed options. Nothing here is package-level so tests run commands
// in-process side by side.
type cli struct {
	stdout, stderr io.Writer
	environ        []string
	opts           options
	// isTerminal reports whether progress may be drawn on stderr.
	isTerminal bool
	// sends is the running command's sends, if any.
	sends func(o *options) bool
	// onServing, when set, is told the address serve listens on once it
	// answers requests (tests listen on port 0).
	onServing func(addr string)
}

// errUsage marks an error caused by how the command was called (exit 2).
var errUsage = errors.New("usage")

func commands() []command {
	return []command{
		{name: "serve", summary: "run the daemon: HTTP, feed schedule, digest schedule",
			flags: func(fs *flag.FlagSet, o *options) {
				fs.StringVar(&o.listen, "listen", "", "address to listen on (default from http.listen, 127.0.0.1:8080)")
			}, run: runServe},
		{name: "import", usage: "PATH...", summary: "import article files or directories (.txt pages, .md, .json)", run: runImport},
		{name: "feeds build", summary: "build every feed and write them to a directory",
			flags: func(fs *flag.FlagSet, o *options) {
				fs.StringVar(&o.out, "out", "", "output directory (default feeds.output_dir, else DATA/public)")
			}, run: runFeedsBuild},
		{name: "config check", summary: "load and validate the configuration, and print it",
			flags: func(fs *flag.FlagSet, o *options) {
				fs.BoolVar(&o.smtpCheck, "smtp", false, "also connect to smtp.url and report what the server offers (TLS, AUTH) and what fails; sends nothing")
			}, run: runConfigCheck},
		{name: "config example", summary: "print the annotated example configuration", run: runConfigExample},
		{name: "subscribers add", usage: "EMAIL", summary: "add a subscriber",
			flags: func(fs *flag.FlagSet, o *options) {
				fs.StringVar(&o.name, "name", "", "display name")
				fs.StringVar(&o.list, "list", "", "list (series slug); default every configured series")
				fs.BoolVar(&o.confirmed, "confirmed", false, "mark as confirmed (active) without a confirmation email")
			}, run: runSubscribersAdd, sends: func(o *options) bool { return !o.confirmed }},
		{name: "subscribers list", summary: "list subscribers, one a line, tab-separated",
			flags: func(fs *flag.FlagSet, o *options) {
				fs.StringVar(&o.status, "status", "", "only this status: pending, active, unsubscribed, bounced")
				fs.StringVar(&o.list, "list", "", "only active subscribers of this list")
			}, run: runSubscribersList},
		{name: "subscribers remove", usage: "EMAIL", summary: "erase a subscriber's personal data and suppress the address", run: runSubscribersRemove},
		{name: "subscribers unbounce", usage: "[EMAIL...]", summary: "make bounced subscribers active again (undo a wrong bounce)",
			flags: func(fs *flag.FlagSet, o *options) {
				fs.StringVar(&o.allSince, "all-since", "", "every subscriber the digest bounced since this time (YYYY-MM-DD in newsroom.zone, or RFC 3339)")
			}, run: runSubscribersUnbounce},
		{name: "subscribers import", usage: "FILE.csv", summary: "import subscribers from CSV, reporting bad rows", run: runSubscribersImport},
		{name: "subscribers export", summary: "export subscribers to CSV on stdout",
			flags: func(fs *flag.FlagSet, o *options) {
				fs.StringVar(&o.out, "out", "", "write to this file instead of stdout")
			}, run: runSubscribersExport},
		{name: "digest preview", summary: "render a digest issue for a sample reader, without sending or storing it",
			flags: func(fs *flag.FlagSet, o *options) {
				digestFlags(fs, o)
				fs.StringVar(&o.format, "format", "html", "html or text")
				fs.StringVar(&o.out, "out", "", "write to this file instead of stdout (needs one --series)")
			}, run: runDigestPreview},
		{name: "digest send", summary: "create a digest issue and send it to the list's active subscribers",
			flags: func(fs *flag.FlagSet, o *options) {
				digestFlags(fs, o)
				fs.BoolVar(&o.dryRun, "dry-run", false, "list the articles and recipients; store and send nothing")
				fs.StringVar(&o.to, "to", "", "send one copy to this address only, without creating the issue")
				fs.StringVar(&o.issue, "issue", "", "send (resume) the stored issues with these ids (comma-separated), of any cadence (shanghai-70th/story/ID)")
			}, run: runDigestSend, sends: func(o *options) bool { return !o.dryRun }},
		{name: "digest status", summary: "show an issue's deliveries: counts by state, retries, failures with the server's reply",
			flags: func(fs *flag.FlagSet, o *options) {
				fs.StringVar(&o.series, "series", "", "series slug(s), comma-separated (default every configured series)")
				fs.StringVar(&o.week, "week", "", "ISO week, e.g. 2019-W17 (default each series' latest issue)")
				issueFlags(fs, o)
			}, run: runDigestStatus},
		{name: "digest retry-failed", summary: "make an issue's failed deliveries pending again",
			flags: func(fs *flag.FlagSet, o *options) {
				fs.StringVar(&o.series, "series", "", "series slug(s), comma-separated (default every configured series)")
				fs.StringVar(&o.week, "week", "", "ISO week, e.g. 2019-W17 (default each series' latest issue)")
				issueFlags(fs, o)
			}, run: runDigestRetryFailed},
		{name: "backup", summary: "write a consistent copy of the SQLite database while serve runs (PostgreSQL: use pg_dump)",
			flags: func(fs *flag.FlagSet, o *options) {
				fs.StringVar(&o.out, "out", "", "the copy to write (required); replaced atomically")
			}, run: runBackup},
		{name: "migrate", summary: "apply pending database migrations and print the schema version", run: runMigrate},
		{name: "version", summary: "print the version", run: runVersion},
	}
}

func digestFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.series, "series", "", "series slug(s), comma-separated (default every configured series)")
	fs.StringVar(&o.week, "week", "", "ISO week, e.g. 2019-W17 (default the current week in newsroom.zone)")
	fs.StringVar(&o.since, "since", "", "for a first issue: articles published after this date (YYYY-MM-DD) instead of the past 7 days")
	fs.StringVar(&o.day, "day", "", "the daily issue of this day (YYYY-MM-DD in newsroom.zone) instead of a week's")
}

// issueFlags pick an issue of another cadence than weekly.
func issueFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.day, "day", "", "the daily issue of this day (YYYY-MM-DD in newsroom.zone)")
	fs.StringVar(&o.issue, "issue", "", "the issue with this id, of any cadence (shanghai-70th/story/ID)")
}

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
	fs := c.flagSet(cmd)
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
	c.sends = cmd.sends
	if err := cmd.run(ctx, c, pos); err != nil {
		fmt.Fprintf(c.stderr, "syndicated %s: %v\n", cmd.name, err)
		if errors.Is(err, errUsage) {
			c.commandUsage(c.stderr, cmd, fs)
			return 2
		}
		return 1
	}
	return 0
}

// flagSet declares the flags every command takes and cmd's own.
func (c *cli) flagSet(cmd command) *flag.FlagSet {
	fs := flag.NewFlagSet("syndicated "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	fs.Usage = func() {} // main prints usage where it belongs
	fs.StringVar(&c.opts.configPath, "config", "", "config file (TOML); default: none, built-in defaults")
	fs.StringVar(&c.opts.dataDir, "data", "./data", "data directory (SQLite database, mail spool, legacy secret file)")
	if cmd.flags != nil {
		cmd.flags(fs, &c.opts)
	}
	return fs
}

func (c *cli) commandUsage(w io.Writer, cmd command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: syndicated %s [flags] %s\n\n%s.\n\nFlags (before or after the arguments; -- ends them):\n", cmd.name, cmd.usage, cmd.summary)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(c.stderr)
}

// help answers "syndicated help [COMMAND]" on stdout.
func (c *cli) help(args []string, cmds []command) int {
	if len(args) == 0 {
		c.usage(c.stdout, cmds)
		return 0
	}
	if cmd, rest, ok := findCommand(cmds, args); ok && len(rest) == 0 {
		c.commandUsage(c.stdout, cmd, c.flagSet(cmd))
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
func subcommands(cmds []command, group string) []command {
	var out []command
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
func findCommand(cmds []command, args []string) (command, []string, bool) {
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
	return command{}, nil, false
}

func (c *cli) usage(w io.Writer, cmds []command) {
	sort.SliceStable(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	fmt.Fprintf(w, "syndicated builds and serves news feeds and sends their weekly email digests.\n\nUsage: syndicated COMMAND [flags] [args]\n\nCommands:\n")
	for _, cmd := range cmds {
		fmt.Fprintf(w, "  %-29s %s\n", strings.TrimSpace(cmd.name+" "+cmd.usage), cmd.summary)
	}
	fmt.Fprintf(w, "\nEvery command takes --config FILE and --data DIR (default ./data).\nRun \"syndicated COMMAND --help\" for a command's flags; \"syndicated --version\" for the version.\n")
}

func runVersion(_ context.Context, c *cli, _ []string) error {
	fmt.Fprintln(c.stdout, "syndicated", version())
	return nil
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
