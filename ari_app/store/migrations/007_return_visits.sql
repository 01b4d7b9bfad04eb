-- Unified return visits (统一回访): one row per visit of a replied work order; every call attempt
-- is also a call record (route 'return_visit') with a 'return_visit' event naming the visit.
CREATE TABLE return_visits (
    id          bigserial PRIMARY KEY,
    number      text NOT NULL REFERENCES work_orders (number),
    phone       text NOT NULL,                 -- the citizen's number to call
    department  text NOT NULL DEFAULT '',      -- who handled the order (named on the call)
    state       text NOT NULL CHECK (state IN ('scheduled', 'dialling', 'done', 'manual', 'cancelled')),
    attempts    int NOT NULL DEFAULT 0,
    next_at     timestamptz NOT NULL,          -- when the next attempt may be made
    node        text NOT NULL DEFAULT '',      -- the node dialling it
    last_result text NOT NULL DEFAULT '',
    rating      text CHECK (rating IN ('satisfied', 'basically_satisfied', 'unsatisfied')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- At most one open visit per order.
CREATE UNIQUE INDEX return_visits_open_idx ON return_visits (number) WHERE state IN ('scheduled', 'dialling');
CREATE INDEX return_visits_due_idx ON return_visits (state, next_at);
