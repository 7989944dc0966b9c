package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/syndicated/syndicated/internal/app"
	"github.com/syndicated/syndicated/internal/cmdline"
	"github.com/syndicated/syndicated/subscribers"
)

type subscribersEventsCmd struct{ noFlags }

func (*subscribersEventsCmd) run(ctx context.Context, c *cli, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%w: subscribers events takes one EMAIL", cmdline.ErrUsage)
	}
	return c.withSubscribers(ctx, func(a *app.App, con *subscribers.Console) error {
		id, err := con.Service.SubscriberID(ctx, args[0])
		if errors.Is(err, subscribers.ErrNotFound) {
			return fmt.Errorf("%s: no such subscriber", args[0])
		}
		if err != nil {
			return err
		}
		sub, err := a.Store.GetSubscriberByID(ctx, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s\t%s\t%d bounces\n", sub.Email, sub.Status, sub.BounceCount)
		return a.BounceReport().SubscriberEvents(ctx, c.stdout, id)
	})
}
