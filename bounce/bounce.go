// Package bounce is what happens to the digest after the first hop: the
// delivery status notifications (RFC 3464), feedback-loop reports (RFC
// 5965), provider webhooks and unsubscribe-by-mail requests that arrive
// minutes or days after a relay accepted a copy. It holds the domain and
// no network code: the VERP addresses that name a copy (issue and
// subscriber, signed), the classification of a failure (with the table the
// digest uses for synchronous replies, mail.IsMailboxUnknown), the events
// kept per copy, and what each does to its subscriber.
//
// The ways in are packages around it, each feeding Processor.Handle:
// bounce/smtpd (inbound SMTP for the bounce domain), bounce/imap (a polled
// mailbox), bounce/webhook (Amazon SES through SNS, Mailgun, SendGrid,
// Postmark); bounce/parse reads a notification's MIME with
// emersion/go-message.
package bounce

import (
	"context"
	"errors"
	"time"
)

// Kind is what a notification says happened to a copy.
type Kind string

const (
	// KindHard: the mailbox does not exist (the codes mail.IsMailboxUnknown
	// names): the subscriber is bounced at once.
	KindHard Kind = "hard"
	// KindSoft: a failure that may pass (mailbox full, delayed, a 4xx that
	// became final, a 5xx about the system or network rather than the
	// mailbox): counted, and SoftPolicy.Limit of them bounce the subscriber.
	KindSoft Kind = "soft"
	// KindRejected: a refusal by policy (X.7.X: spam filters, reputation,
	// authentication). It is about the sender, not the reader: recorded,
	// never acted on, as the digest treats a 5.7.x reply.
	KindRejected Kind = "rejected"
	// KindComplaint: the reader reported the copy as spam (ARF "abuse", a
	// provider's complaint event): unsubscribed from every list and
	// suppressed.
	KindComplaint Kind = "complaint"
	// KindUnsubscribe: the reader asked by mail (the mailto:
	// List-Unsubscribe): off the list the copy was sent for.
	KindUnsubscribe Kind = "unsubscribe"
	// KindUnbounce: an operator undid a bounce (subscribers unbounce); soft
	// bounces before it no longer count.
	KindUnbounce Kind = "unbounce"
)

// Kinds are the kinds a notification can carry, in the order reports list
// them.
var Kinds = []Kind{KindHard, KindSoft, KindRejected, KindComplaint, KindUnsubscribe}

// Source is the way a notification came in.
type Source string

const (
	SourceSMTP     Source = "smtp"     // bounce.listen
	SourceIMAP     Source = "imap"     // bounce.mailbox
	SourceSES      Source = "ses"      // Amazon SES through SNS
	SourceMailgun  Source = "mailgun"  // Mailgun's webhooks
	SourceSendGrid Source = "sendgrid" // SendGrid's signed event webhook
	SourcePostmark Source = "postmark" // Postmark's webhooks
	SourceOperator Source = "operator" // subscribers unbounce
)

// Sources are the ways in, for metrics that export every one from the
// start.
var Sources = []Source{SourceSMTP, SourceIMAP, SourceSES, SourceMailgun, SourceSendGrid, SourcePostmark}

// Report is one finding of a notification about one copy: what happened,
// with the codes and text the remote server gave.
type Report struct {
	Kind Kind
	// Status is the RFC 3463 enhanced status code ("5.1.1"), when known.
	Status string
	// Code is the basic SMTP reply code (550), when known.
	Code int
	// Diagnostic is the remote server's text; addresses are masked
	// before it is kept.
	Diagnostic string
	// Recipient is the address the copy went to, as the notification
	// names it (Final-Recipient, a webhook's email field). It identifies
	// the copy only when the notification is Authenticated; never stored.
	Recipient string
	// MessageID is the copy's Message-ID as the notification quotes it,
	// without angle brackets; empty when it quotes none.
	MessageID string
	// At is when it happened, as the notification says; zero: when it was
	// received.
	At time.Time
	// EventID names this finding within its notification where the
	// source has ids of its own (a webhook event's id); else empty.
	EventID string
}

// Notification is one message or webhook call, parsed: what it reports
// and what names the copies it is about.
type Notification struct {
	Source Source
	// ID identifies the notification for idempotency: its Message-ID, a
	// provider's message or event id, else a hash of its bytes. The same
	// notification handled twice (a redelivery, a webhook retry, a
	// replay) records nothing the second time.
	ID string
	// Addresses are where it was sent and the VERP addresses found in
	// it: the envelope recipients (RCPT TO, Delivered-To), the original
	// copy's Return-Path or Original-Mail-From. Tokens among them name
	// the copy; when several verify, they must agree.
	Addresses []string
	// Authenticated: the source vouches for Report.Recipient and
	// Report.MessageID (a webhook whose signature verified), so a report
	// without a token may be matched by address and Message-ID. Mail is
	// never authenticated: anyone can send it.
	Authenticated bool
	Reports       []Report
	// What, when there is no report, says what the message was (an
	// auto-reply, a malformed message…), for the log line.
	What string
}

// Event is a report as recorded against one copy (a delivery: issue and
// subscriber) or, when the copy is unknown, one subscriber.
type Event struct {
	ID int64
	// Key makes recording idempotent: one event per key.
	Key          string
	Source       Source
	Kind         Kind
	IssueID      string // empty when no delivery was found (a webhook matched by address only)
	SubscriberID int64  // 0 once the subscriber was erased
	Status       string
	Code         int
	Diagnostic   string // addresses masked
	OccurredAt   time.Time
	ReceivedAt   time.Time
	// Action is what the event did ("bounced", "soft bounce 2 of 3",
	// "unsubscribed from shanghai-70th"…), set once it has been applied.
	Action    string
	AppliedAt time.Time
}

// Delivery is one copy as the outbox knows it.
type Delivery struct {
	IssueID      string
	Series       string // the issue's series: the list a mail unsubscribe leaves
	SubscriberID int64
	State        string
	MessageID    string
	SentAt       time.Time
}

// SoftCount is what Store.SoftBounces counts.
type SoftCount struct {
	Events int // soft bounces
	Issues int // distinct issues they were about
}

// Store keeps events and reads the copies they are about. Both storage
// backends implement it (storage/sqlstore/bounce.go).
type Store interface {
	// SubscriberDeliveries returns the subscriber's deliveries (with
	// their issue's series), newest issue first, at most limit.
	SubscriberDeliveries(ctx context.Context, subscriberID int64, limit int) ([]Delivery, error)
	// RecordEvent stores e unless an event with e.Key exists; it returns
	// the stored event (with its ID, and Action and AppliedAt when it was
	// applied) and whether it is new.
	RecordEvent(ctx context.Context, e Event) (stored Event, created bool, err error)
	// FinishEvent records what the event did.
	FinishEvent(ctx context.Context, id int64, action string, at time.Time) error
	// SoftBounces counts the subscriber's soft-bounce events received at
	// or after since, and after the subscriber's last unbounce event.
	SoftBounces(ctx context.Context, subscriberID int64, since time.Time) (SoftCount, error)
	// SubscriberEvents returns the subscriber's events, oldest first.
	SubscriberEvents(ctx context.Context, subscriberID int64) ([]Event, error)
	// IssueEventCounts counts the issue's events by kind.
	IssueEventCounts(ctx context.Context, issueID string) (map[Kind]int, error)
}

// Subscribers is what the pipeline asks of the subscriber service: it
// looks subscribers up and changes them, never their tables directly.
// *subscribers.Service implements it.
type Subscribers interface {
	// SubscriberID finds a subscriber by address (webhooks name the
	// recipient); subscribers.ErrNotFound when there is none.
	SubscriberID(ctx context.Context, email string) (int64, error)
	// Bounce marks an active subscriber bounced; changed is false when it
	// was not active.
	Bounce(ctx context.Context, id int64, at time.Time) (changed bool, err error)
	// Complain takes the subscriber off every list and suppresses the
	// address, so that no import or sign-up brings it back.
	Complain(ctx context.Context, id int64, at time.Time) (changed bool, err error)
	// UnsubscribeList takes the subscriber off one list.
	UnsubscribeList(ctx context.Context, id int64, list string, at time.Time) (changed bool, err error)
}

// Errors a way in can tell apart; the Processor wraps them.
var (
	// ErrTemporary wraps a failure that is no fault of the notification
	// (the store is down): the way in must make its sender retry (451,
	// an HTTP 5xx, the message left in the mailbox).
	ErrTemporary = errors.New("temporary failure, retry later")
	// ErrUnauthenticated: a webhook whose signature or credentials do not
	// verify.
	ErrUnauthenticated = errors.New("notification not authenticated")
	// ErrMalformed: a webhook body or message that cannot be read.
	ErrMalformed = errors.New("malformed notification")
)
