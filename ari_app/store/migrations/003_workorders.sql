-- Work orders: a citizen's request carried from intake to closure (see ari_app/workorders/).
CREATE TABLE work_orders (
    number            text PRIMARY KEY,              -- YYYYMMDD-NNNNNN, readable and unique
    state             text NOT NULL,
    category          text NOT NULL,
    content           text NOT NULL,
    address           text NOT NULL DEFAULT '',
    caller            text NOT NULL DEFAULT '',      -- the citizen's number
    call_id           text REFERENCES calls (call_id) ON DELETE SET NULL,
    hotline           text NOT NULL DEFAULT '',      -- the number dialled
    hotline_name      text NOT NULL DEFAULT '',      -- what that line was (全国统一民政服务电话, ...)
    suggested_department text NOT NULL DEFAULT '',   -- from the registry, by the dialled number
    department        text NOT NULL DEFAULT '',      -- responsible department, chosen by the agent
    direct            boolean NOT NULL DEFAULT false, -- answered directly by the agent (直接办结)
    registered_at     timestamptz NOT NULL,
    deadline          timestamptz,
    extension         jsonb,                         -- a pending extension request, or null
    extensions        int NOT NULL DEFAULT 0,        -- extensions granted
    rework_count      int NOT NULL DEFAULT 0,
    merged_into       text REFERENCES work_orders (number),
    reply             text NOT NULL DEFAULT '',
    rating            text NOT NULL DEFAULT '',
    updated_at        timestamptz NOT NULL,
    version           int NOT NULL DEFAULT 1         -- bumped by every change (concurrent changes refused)
);
CREATE INDEX work_orders_department_idx ON work_orders (department, state, deadline);
CREATE INDEX work_orders_call_idx ON work_orders (call_id);
CREATE INDEX work_orders_caller_idx ON work_orders (caller, registered_at DESC);

-- Every change of every order, append-only: who, in which role, when, from which state to which.
CREATE TABLE work_order_history (
    id          bigserial PRIMARY KEY,
    number      text NOT NULL REFERENCES work_orders (number),
    at          timestamptz NOT NULL,
    action      text NOT NULL,
    from_state  text,
    to_state    text NOT NULL,
    actor       text NOT NULL,
    role        text NOT NULL,
    detail      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX work_order_history_number_idx ON work_order_history (number, id);

CREATE FUNCTION work_order_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'work_order_history is append-only';
END $$;
CREATE TRIGGER work_order_history_no_rewrite BEFORE UPDATE OR DELETE ON work_order_history
    FOR EACH ROW EXECUTE FUNCTION work_order_history_append_only();

-- The daily sequence behind the numbers (Asia/Shanghai days).
CREATE TABLE work_order_numbers (
    day   date PRIMARY KEY,
    last  int NOT NULL
);
