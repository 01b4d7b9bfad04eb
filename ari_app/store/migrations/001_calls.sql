-- Call records: one row per inbound call, keyed by the Asterisk channel id of the caller leg.
CREATE TABLE calls (
    call_id      text PRIMARY KEY,
    channel_id   text NOT NULL,
    hotline      text NOT NULL,          -- the number the caller dialed (the hotline tag)
    caller       text NOT NULL DEFAULT '',
    route        text NOT NULL DEFAULT 'intake',
    node         text NOT NULL DEFAULT '',
    started_at   timestamptz NOT NULL DEFAULT now(),
    answered_at  timestamptz,
    ended_at     timestamptz,
    outcome      text
);
CREATE INDEX calls_started_at_idx ON calls (started_at DESC);
CREATE INDEX calls_open_idx ON calls (node) WHERE ended_at IS NULL;

-- Everything that happened on a call, in order: answer, prompts, bridge changes, hang-up.
CREATE TABLE call_events (
    id       bigserial PRIMARY KEY,
    call_id  text NOT NULL REFERENCES calls (call_id) ON DELETE CASCADE,
    at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    kind     text NOT NULL,
    detail   jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX call_events_call_idx ON call_events (call_id, id);
