package cmdline

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// greet is a command with one string and one bool flag.
type greet struct {
	name  string
	loud  bool
	got   *[]string
	fails error
}

func (g *greet) Flags(fs *flag.FlagSet) {
	fs.StringVar(&g.name, "name", "", "who")
	fs.BoolVar(&g.loud, "loud", false, "shout")
}

func (g *greet) Run(_ context.Context, args []string) error {
	*g.got = append([]string{fmt.Sprintf("name=%s loud=%v", g.name, g.loud)}, args...)
	return g.fails
}

func program(got *[]string, fails error) (*Program, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	var global string
	return &Program{
		Name: "prog", Intro: "prog does things.", Footer: "footer\n",
		Commands: []Spec{
			{Name: "greet", Usage: "[WHO...]", Summary: "say hello", New: func() Command { return &greet{got: got, fails: fails} }},
			{Name: "team add", Usage: "NAME", Summary: "add a member", New: func() Command { return &greet{got: got, fails: fails} }},
			{Name: "team list", Summary: "list the members", New: func() Command { return &greet{got: got, fails: fails} }},
		},
		Global: func(fs *flag.FlagSet) { fs.StringVar(&global, "data", "./data", "data directory") },
		Stdout: &out, Stderr: &errb,
	}, &out, &errb
}

// Flags stand before, between and after the arguments; "--" ends them,
// unless it is a flag's value.
func TestFlagsAnywhere(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"greet", "a", "--name", "N", "b", "--loud"}, []string{"name=N loud=true", "a", "b"}},
		{[]string{"greet", "--loud", "--", "--a", "-b"}, []string{"name= loud=true", "--a", "-b"}},
		{[]string{"greet", "a", "--name", "--", "--loud", "b"}, []string{"name=-- loud=true", "a", "b"}},
		{[]string{"greet", "--name=--", "--", "--loud"}, []string{"name=-- loud=false", "--loud"}},
		{[]string{"team", "add", "x", "--data", "d"}, []string{"name= loud=false", "x"}},
	} {
		var got []string
		p, _, errb := program(&got, nil)
		if code := p.Main(context.Background(), c.args); code != 0 || !slices.Equal(got, c.want) {
			t.Errorf("%q: exit %d, ran with %q, want %q\n%s", c.args, code, got, c.want, errb)
		}
	}
}

// Help asked for goes to stdout with exit 0; misuse gets usage on stderr
// with exit 2; a failing command exits 1, a usage error 2.
func TestExitCodesAndHelp(t *testing.T) {
	usageErr := fmt.Errorf("%w: give a NAME", ErrUsage)
	for _, c := range []struct {
		args           []string
		fails          error
		code           int
		stdout, stderr string // "" = must be empty
	}{
		{[]string{"--help"}, nil, 0, "Commands:", ""},
		{[]string{"help", "team", "add"}, nil, 0, "Usage: prog team add [flags] NAME", ""},
		{[]string{"team", "--help"}, nil, 0, "team list", ""},
		{[]string{"greet", "-h"}, nil, 0, "-loud", ""},
		{nil, nil, 2, "", "Commands:"},
		{[]string{"team"}, nil, 2, "", "team add NAME"},
		{[]string{"team", "remove"}, nil, 2, "", `unknown command "team remove"`},
		{[]string{"frobnicate"}, nil, 2, "", `unknown command "frobnicate"`},
		{[]string{"help", "frobnicate"}, nil, 2, "", `unknown command "frobnicate"`},
		{[]string{"greet", "--nmae", "x"}, nil, 2, "", "flag provided but not defined: -nmae"},
		{[]string{"team", "add"}, usageErr, 2, "", "prog team add: usage: give a NAME"},
		{[]string{"greet"}, errors.New("it broke"), 1, "", "prog greet: it broke\n"},
	} {
		var got []string
		p, out, errb := program(&got, c.fails)
		code := p.Main(context.Background(), c.args)
		if code != c.code {
			t.Errorf("%q: exit %d, want %d", c.args, code, c.code)
		}
		for _, x := range []struct{ got, want, name string }{{out.String(), c.stdout, "stdout"}, {errb.String(), c.stderr, "stderr"}} {
			if x.want == "" && x.got != "" || !strings.Contains(x.got, x.want) {
				t.Errorf("%q: %s = %q, want it to contain %q", c.args, x.name, x.got, x.want)
			}
		}
	}
}
