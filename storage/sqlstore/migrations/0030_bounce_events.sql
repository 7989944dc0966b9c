-- What happened to digest copies after the first hop (package bounce):
-- delivery status notifications, spam complaints, provider webhook events,
-- unsubscribe requests by mail, and the operators' unbounces. One row per
-- event; event_key (a hash of kind, copy and notification) makes recording
-- idempotent: the same notification twice is one event. A copy is
-- (issue_id, subscriber_id), the delivery the event is about; issue_id is
-- '' when a webhook named the subscriber but no copy. An erased
-- subscriber's events stay, without the subscriber (issue counts keep
-- them; no address is stored, diagnostics are masked). applied_at is set
-- once the event's action (bounce, unsubscribe…) is done, so that one
-- recorded before a crash is applied when it comes again.
CREATE TABLE bounce_events (
    id            {{ID}},
    event_key     text NOT NULL UNIQUE,
    source        text NOT NULL,
    kind          text NOT NULL,
    issue_id      text NOT NULL DEFAULT '',
    subscriber_id {{BIGINT}} REFERENCES subscribers (id) ON DELETE SET NULL,
    status        text NOT NULL DEFAULT '',
    code          integer NOT NULL DEFAULT 0,
    diagnostic    text NOT NULL DEFAULT '',
    occurred_at   {{TIME}} NOT NULL,
    received_at   {{TIME}} NOT NULL,
    action        text NOT NULL DEFAULT '',
    applied_at    {{TIME}}
);
CREATE INDEX bounce_events_subscriber ON bounce_events (subscriber_id, kind, received_at);
CREATE INDEX bounce_events_issue ON bounce_events (issue_id, kind);
