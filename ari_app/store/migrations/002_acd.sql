-- Agent states and the queue: what must survive a restart of `hotline serve`.
CREATE TABLE agent_states (
    agent_id      text PRIMARY KEY,
    state         text NOT NULL,
    state_since   double precision NOT NULL,
    pause_reason  text NOT NULL DEFAULT '',
    idle_since    double precision NOT NULL DEFAULT 0,
    wrap_up_until double precision NOT NULL DEFAULT 0,
    call_id       text NOT NULL DEFAULT ''
);

-- One row per call that joined the queue. status: waiting -> talking -> ended, or abandoned.
CREATE TABLE queue_calls (
    call_id       text PRIMARY KEY REFERENCES calls (call_id) ON DELETE CASCADE,
    channel_id    text NOT NULL,
    hotline       text NOT NULL,
    queue         text NOT NULL,           -- "intake", or "group:<group>" while a group is preferred
    grp           text NOT NULL DEFAULT '',
    priority      int NOT NULL DEFAULT 0,
    escalated     boolean NOT NULL DEFAULT false,
    enqueued_at   double precision NOT NULL,
    seq           bigint NOT NULL,
    widen_at      double precision NOT NULL DEFAULT 0,
    status        text NOT NULL DEFAULT 'waiting',
    agent_id      text NOT NULL DEFAULT '',
    agent_channel text NOT NULL DEFAULT '',
    bridge_id     text NOT NULL DEFAULT '',
    answered_at   double precision,
    ended_at      double precision,
    node          text NOT NULL DEFAULT ''
);
CREATE INDEX queue_calls_live_idx ON queue_calls (node, status) WHERE status IN ('waiting', 'talking');
