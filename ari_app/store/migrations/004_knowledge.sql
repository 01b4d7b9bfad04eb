-- The knowledge base: the departments' answers (答复口径) agents search (see ari_app/knowledge/).
-- Ranking is done in Python (jieba + BM25F, measured better than pg_trgm on the query test set), so no extension.
CREATE TABLE knowledge_entries (
    id          bigserial PRIMARY KEY,
    department  text NOT NULL,                   -- registry department id; its handlers keep the entry
    seed_key    text UNIQUE,                     -- the key in config/knowledge.yaml of an imported entry
    created_at  timestamptz NOT NULL,
    created_by  text NOT NULL
);
CREATE INDEX knowledge_entries_department_idx ON knowledge_entries (department);

-- Every version of every entry, kept: at most one published (what agents find) and one open (draft or in review).
CREATE TABLE knowledge_versions (
    entry_id       bigint NOT NULL REFERENCES knowledge_entries (id),
    version        int NOT NULL CHECK (version > 0),
    state          text NOT NULL CHECK (state IN ('draft', 'in_review', 'published', 'retired')),
    question       text NOT NULL,
    answer         text NOT NULL,                -- 答复口径
    category       text NOT NULL,
    hotlines       text[] NOT NULL DEFAULT '{}', -- registry numbers the entry answers for
    review_date    date NOT NULL,                -- due for review from this day on
    expires        date,                         -- last day it may be given as the current answer
    author         text NOT NULL,
    reviewer       text,                         -- who approved or rejected it
    reject_reason  text,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    submitted_at   timestamptz,
    published_at   timestamptz,
    retired_at     timestamptz,
    PRIMARY KEY (entry_id, version)
);
CREATE UNIQUE INDEX knowledge_versions_one_published ON knowledge_versions (entry_id) WHERE state = 'published';
CREATE UNIQUE INDEX knowledge_versions_one_open ON knowledge_versions (entry_id)
    WHERE state IN ('draft', 'in_review');
CREATE INDEX knowledge_versions_state_idx ON knowledge_versions (state, entry_id);

-- Every change, append-only: who, in which role, when, which version from which state to which.
CREATE TABLE knowledge_history (
    id          bigserial PRIMARY KEY,
    entry_id    bigint NOT NULL REFERENCES knowledge_entries (id),
    version     int NOT NULL,
    at          timestamptz NOT NULL,
    action      text NOT NULL,
    from_state  text,
    to_state    text NOT NULL,
    actor       text NOT NULL,
    role        text NOT NULL,
    detail      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX knowledge_history_entry_idx ON knowledge_history (entry_id, id);

CREATE FUNCTION knowledge_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'knowledge_history is append-only';
END $$;
CREATE TRIGGER knowledge_history_no_rewrite BEFORE UPDATE OR DELETE ON knowledge_history
    FOR EACH ROW EXECUTE FUNCTION knowledge_history_append_only();

-- Bumped in the transaction that changes what agents can find (publish, retire, import): a node's search index
-- is rebuilt when the number it was built at is no longer the current one.
CREATE TABLE knowledge_revision (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    revision   bigint NOT NULL
);
INSERT INTO knowledge_revision (singleton, revision) VALUES (true, 0);
