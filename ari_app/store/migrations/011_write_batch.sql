-- The write journal's batches (ari_app/store/journal.py): many queued writes, of different calls
-- and agents, in one round trip. Each op is {"k": key, "s": statement, "a": [text args], "r": bool}:
-- the statement takes its arguments as text ($1..$12, each cast where it is used), runs in a
-- subtransaction of its own (a refused op is reported, not fatal to the others), and an op whose
-- key had an op refused earlier in the batch is skipped, so a key's writes never land out of order.
-- Result, one element per op: {"n": rows} ("r": the first row too, as "row"), {"error": sqlstate,
-- "message": text}, or {"skipped": true}.
CREATE OR REPLACE FUNCTION hotline_write_batch(ops jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    op jsonb;
    a text[];
    rec record;
    first_row jsonb;
    n bigint;
    refused text[] := '{}';
    results jsonb[] := '{}';
BEGIN
    FOR op IN SELECT value FROM jsonb_array_elements(ops) LOOP
        IF (op->>'k') = ANY (refused) THEN
            results := results || jsonb_build_object('skipped', true);
            CONTINUE;
        END IF;
        a := ARRAY(SELECT jsonb_array_elements_text(op->'a'));
        BEGIN
            first_row := NULL;
            n := 0;
            IF coalesce((op->>'r')::boolean, false) THEN
                FOR rec IN EXECUTE op->>'s' USING a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10],
                                                  a[11], a[12] LOOP
                    IF n = 0 THEN
                        first_row := to_jsonb(rec);
                    END IF;
                    n := n + 1;
                END LOOP;
                results := results || jsonb_build_object('n', n, 'row', first_row);
            ELSE
                EXECUTE op->>'s' USING a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12];
                GET DIAGNOSTICS n = ROW_COUNT;
                results := results || jsonb_build_object('n', n);
            END IF;
        EXCEPTION WHEN OTHERS THEN
            refused := refused || (op->>'k');
            results := results || jsonb_build_object('error', SQLSTATE, 'message', SQLERRM);
        END;
    END LOOP;
    RETURN to_jsonb(results);
END
$$;
