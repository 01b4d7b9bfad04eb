-- Queue callback: a caller who pressed 1 keeps the place in line and hangs up; when its turn
-- comes an agent is connected first, then the caller is called back. status 'callback' while the
-- entry waits without a caller on the line; 'callback_failed' once the attempts are spent.
ALTER TABLE queue_calls
    ADD COLUMN callback_to text NOT NULL DEFAULT '',       -- the number to call back
    ADD COLUMN callback_attempts int NOT NULL DEFAULT 0;
