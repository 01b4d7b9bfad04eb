-- Calls whose record came from the dialplan's call spool (HOTLINE_CALL_SPOOL) instead of the
-- FastAGI hang-up handler: served while `hotline serve` (or its database) was down, imported when
-- it came back. false for every record the service wrote itself.
ALTER TABLE calls ADD COLUMN degraded boolean NOT NULL DEFAULT false;
CREATE INDEX calls_degraded_idx ON calls (started_at DESC) WHERE degraded;
