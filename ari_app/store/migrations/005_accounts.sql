-- Accounts and their sessions (see ari_app/accounts/). A login is a lowercase name; the password
-- is kept only as an argon2id hash; a session is kept only as the sha256 of its bearer token.
CREATE TABLE accounts (
    name          text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
    display_name  text NOT NULL DEFAULT '',
    role          text NOT NULL CHECK (role IN ('agent', 'department', 'supervisor', 'admin')),
    department    text NOT NULL DEFAULT '',      -- a registry department id; only for role department
    agent_id      text NOT NULL DEFAULT '',      -- the seat id in seats.yaml; only for role agent
    password_hash text NOT NULL,                 -- argon2id, PHC string
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT accounts_department_pairing CHECK ((role = 'department') = (department <> '')),
    CONSTRAINT accounts_agent_pairing CHECK ((role = 'agent') = (agent_id <> ''))
);

CREATE TABLE sessions (
    token_hash  text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),  -- sha256 hex of the bearer token
    account     text NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
CREATE INDEX sessions_account_idx ON sessions (account);
