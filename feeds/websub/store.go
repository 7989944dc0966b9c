package websub

import (
	"context"
	"time"
)

// Subscription is a verified subscription of the built-in hub.
type Subscription struct {
	ID       int64
	Topic    string // the feed's URL
	Callback string
	// Secret signs every distribution (X-Hub-Signature); empty: unsigned.
	Secret  string
	Lease   time.Duration
	Expires time.Time
	Created time.Time
}

// Distribution is one content distribution a worker claimed: the latest
// content of the subscription's topic.
type Distribution struct {
	Subscription
	SHA256      string
	ContentType string
	Body        []byte
	Attempts    int // failed attempts before this one
}

// Outcome is what a distribution attempt came to.
type Outcome struct {
	// Delivered: the subscriber answered 2xx.
	Delivered bool
	// Gone: the subscriber answered 410 and the subscription is deleted.
	Gone bool
	// RetryAt, when not zero, makes the distribution due again then;
	// zero with neither flag set gives it up.
	RetryAt time.Time
	// Err is the failure, kept for operators.
	Err string
}

// Store keeps the built-in hub's subscriptions and distributions, shared
// by every replica.
type Store interface {
	// PutSubscription creates the subscription of (Topic, Callback) or
	// renews it with a new secret and lease, and returns it as stored.
	PutSubscription(ctx context.Context, s Subscription) (Subscription, error)
	// DeleteSubscription removes the subscription of (topic, callback);
	// removing one that does not exist is no error.
	DeleteSubscription(ctx context.Context, topic, callback string) error
	// LiveSubscriptions counts the subscriptions of topic not expired at now.
	LiveSubscriptions(ctx context.Context, topic string, now time.Time) (int, error)
	// QueueDistribution stores the topic's content (its SHA-256 sum) and
	// makes it due now for every subscription of topic not expired, unless
	// that subscription is already to get, or got, these very bytes; it
	// returns how many it queued.
	QueueDistribution(ctx context.Context, topic, contentType string, body []byte, sum string, now time.Time) (int, error)
	// ClaimDistributions claims up to n due distributions (pending and due
	// at now, or claimed by a worker whose lease ran out) for owner until
	// until.
	ClaimDistributions(ctx context.Context, owner string, now, until time.Time, n int) ([]Distribution, error)
	// FinishDistribution records the outcome of d's attempt, unless d was
	// replaced by newer content meanwhile (which then stays due).
	FinishDistribution(ctx context.Context, owner string, d Distribution, o Outcome, now time.Time) error
	// ExpireSubscriptions deletes the subscriptions whose lease ran out by
	// now and returns how many.
	ExpireSubscriptions(ctx context.Context, now time.Time) (int, error)
	// SubscriptionCounts counts the subscriptions not expired at now, by
	// topic.
	SubscriptionCounts(ctx context.Context, now time.Time) (map[string]int, error)
}
