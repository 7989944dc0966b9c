package main

import (
	"cmp"
	"context"
	"flag"

	"github.com/syndicated/syndicated/internal/app"
	"github.com/syndicated/syndicated/internal/cmdline"
)

type serveCmd struct{ listen string }

func (s *serveCmd) flags(fs *flag.FlagSet) {
	fs.StringVar(&s.listen, "listen", "", "address to listen on (default from http.listen, 127.0.0.1:8080)")
}

func (s *serveCmd) run(ctx context.Context, c *cli, args []string) error {
	if err := cmdline.NoArgs("serve", args); err != nil {
		return err
	}
	a, err := c.openApp(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	d, err := app.NewDaemon(ctx, a)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Serve(ctx, cmp.Or(s.listen, a.Config.HTTP.Listen), c.onServing)
}
