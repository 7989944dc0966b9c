// Package cmdline runs a program of subcommands ("serve", "subscribers add"):
// it finds the command a command line names, parses its flags wherever
// they stand among the arguments, answers help and misuse, and maps the
// outcome to an exit code. The program declares the commands; each is a
// struct that owns its flags.
package cmdline

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Command is one subcommand: a struct holding its flags, which it declares
// in Flags, and Run, which gets the arguments left after them.
type Command interface {
	Flags(fs *flag.FlagSet)
	Run(ctx context.Context, args []string) error
}

// Spec names a command and makes a fresh one for each command line.
type Spec struct {
	Name    string // one or two words: "serve", "subscribers add"
	Usage   string // the arguments after the name: "EMAIL", "PATH..."
	Summary string
	New     func() Command
}

// ErrUsage marks an error caused by how the command was called: Main
// prints the command's usage after it and exits 2. Wrap it to say what.
var ErrUsage = errors.New("usage")

// Program is a set of commands under one name.
type Program struct {
	Name     string // "syndicated"
	Intro    string // the first line of the list of commands
	Footer   string // what follows the list
	Commands []Spec
	// Global declares the flags every command takes.
	Global         func(fs *flag.FlagSet)
	Stdout, Stderr io.Writer
}

// Main runs one command line and returns the exit code: 0, 1 when the
// command failed, 2 when it was called wrongly. Help asked for goes to
// stdout; help shown because of a mistake goes to stderr. "--version"
// runs the command "version".
func (p *Program) Main(ctx context.Context, args []string) int {
	if len(args) == 0 {
		p.usage(p.Stderr, p.Commands)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help":
		p.usage(p.Stdout, p.Commands)
		return 0
	case "-version", "--version":
		return p.Main(ctx, []string{"version"})
	case "help":
		return p.help(args[1:])
	}
	spec, rest, ok := p.Find(args)
	if !ok {
		return p.unknown(args)
	}
	cmd := spec.New()
	fs := p.flagSet(spec, cmd)
	pos, err := ParseInterleaved(fs, rest)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			p.commandUsage(p.Stdout, spec, fs)
			return 0
		}
		// The flag package has printed what is wrong.
		p.commandUsage(p.Stderr, spec, fs)
		return 2
	}
	if err := cmd.Run(ctx, pos); err != nil {
		fmt.Fprintf(p.Stderr, "%s %s: %v\n", p.Name, spec.Name, err)
		if errors.Is(err, ErrUsage) {
			p.commandUsage(p.Stderr, spec, fs)
			return 2
		}
		return 1
	}
	return 0
}

// unknown answers a command line that names no command: the group's
// commands when it names a group ("subscribers"), else every command.
func (p *Program) unknown(args []string) int {
	group := p.group(args[0])
	if len(group) == 0 {
		fmt.Fprintf(p.Stderr, "%s: unknown command %q\n\n", p.Name, args[0])
		p.usage(p.Stderr, p.Commands)
		return 2
	}
	if len(args) > 1 && isHelpFlag(args[1]) {
		p.usage(p.Stdout, group)
		return 0
	}
	if len(args) > 1 {
		fmt.Fprintf(p.Stderr, "%s: unknown command %q\n\n", p.Name, args[0]+" "+args[1])
	}
	p.usage(p.Stderr, group)
	return 2
}

// flagSet declares the global flags and cmd's own.
func (p *Program) flagSet(spec Spec, cmd Command) *flag.FlagSet {
	fs := flag.NewFlagSet(p.Name+" "+spec.Name, flag.ContinueOnError)
	fs.SetOutput(p.Stderr)
	fs.Usage = func() {} // Main prints usage where it belongs
	if p.Global != nil {
		p.Global(fs)
	}
	cmd.Flags(fs)
	return fs
}

func (p *Program) commandUsage(w io.Writer, spec Spec, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s %s [flags] %s\n\n%s.\n\nFlags (before or after the arguments; -- ends them):\n", p.Name, spec.Name, spec.Usage, spec.Summary)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(p.Stderr)
}

// help answers "NAME help [COMMAND]" on stdout.
func (p *Program) help(args []string) int {
	if len(args) == 0 {
		p.usage(p.Stdout, p.Commands)
		return 0
	}
	if spec, rest, ok := p.Find(args); ok && len(rest) == 0 {
		p.commandUsage(p.Stdout, spec, p.flagSet(spec, spec.New()))
		return 0
	}
	if group := p.group(args[0]); len(group) > 0 && len(args) == 1 {
		p.usage(p.Stdout, group)
		return 0
	}
	fmt.Fprintf(p.Stderr, "%s help: unknown command %q\n\n", p.Name, strings.Join(args, " "))
	p.usage(p.Stderr, p.Commands)
	return 2
}

func isHelpFlag(s string) bool { return s == "-h" || s == "-help" || s == "--help" }

// group returns the commands named "group …" ("subscribers add", …).
func (p *Program) group(name string) []Spec {
	var out []Spec
	for _, c := range p.Commands {
		if strings.HasPrefix(c.Name, name+" ") {
			out = append(out, c)
		}
	}
	return out
}

// Find matches the longest command name ("feeds build") at the start of
// args and returns the arguments after it.
func (p *Program) Find(args []string) (Spec, []string, bool) {
	for _, n := range []int{2, 1} {
		if len(args) < n {
			continue
		}
		name := strings.Join(args[:n], " ")
		for _, c := range p.Commands {
			if c.Name == name {
				return c, args[n:], true
			}
		}
	}
	return Spec{}, nil, false
}

func (p *Program) usage(w io.Writer, cmds []Spec) {
	cmds = slices.SortedStableFunc(slices.Values(cmds), func(a, b Spec) int { return cmp.Compare(a.Name, b.Name) })
	fmt.Fprintf(w, "%s\n\nUsage: %s COMMAND [flags] [args]\n\nCommands:\n", p.Intro, p.Name)
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-29s %s\n", strings.TrimSpace(c.Name+" "+c.Usage), c.Summary)
	}
	fmt.Fprintf(w, "\n%s", p.Footer)
}

// ParseInterleaved parses flags wherever they stand among the positional
// arguments ("subscribers add EMAIL --name N"), as the flag package alone
// does not: it stops at the first positional argument. "--" ends the
// flags; everything after it is positional.
func ParseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
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
