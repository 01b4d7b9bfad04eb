-- The console's screen pop lists a caller's earlier calls; the repeat-caller count reads them too.
CREATE INDEX IF NOT EXISTS calls_caller_idx ON calls (caller, started_at DESC);
