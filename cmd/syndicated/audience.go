package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"time"

	"github.com/syndicated/syndicated/feeds/audience"
	"github.com/syndicated/syndicated/internal/cmdline"
)

type audienceCmd struct {
	days   int
	format string
}

func (ac *audienceCmd) flags(fs *flag.FlagSet) {
	fs.IntVar(&ac.days, "days", 7, "days of client counts, from today back")
	fs.StringVar(&ac.format, "format", "text", "text or json")
}

func (ac *audienceCmd) run(ctx context.Context, c *cli, args []string) error {
	if err := cmdline.NoArgs("audience", args); err != nil {
		return err
	}
	if ac.format != "text" && ac.format != "json" {
		return fmt.Errorf("%w: --format %q: want text or json", cmdline.ErrUsage, ac.format)
	}
	a, err := c.openApp(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	all, err := a.Audience(ctx, time.Now(), ac.days)
	if err != nil {
		return err
	}
	if ac.format == "json" {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(all)
	}
	return audience.WriteText(c.stdout, all)
}
