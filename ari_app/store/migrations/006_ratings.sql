-- The caller's rating after the call (1 满意, 2 基本满意, 3 不满意 on the phone), on the call and on
-- the work orders filed from it. NULL: no rating (the caller hung up first, or pressed no key).
ALTER TABLE calls
    ADD COLUMN survey_started_at timestamptz,   -- the caller was asked (a restart asks again)
    ADD COLUMN rating text CHECK (rating IN ('satisfied', 'basically_satisfied', 'unsatisfied')),
    ADD COLUMN rated_at timestamptz;
ALTER TABLE work_orders
    ADD COLUMN call_rating text CHECK (call_rating IN ('satisfied', 'basically_satisfied', 'unsatisfied'));
