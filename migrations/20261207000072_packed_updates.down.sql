-- Back to one update per row, for a release that reads `bytes` as one update. A document with
-- packed rows gets all its rows rewritten, in order, one per update (its rows are ordered by
-- id, so each document's rows are inserted again after every row that exists now).

CREATE OR REPLACE FUNCTION pg_temp.unpacked_parts(packed BYTEA, parts INTEGER)
RETURNS TABLE (n INTEGER, part BYTEA) LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    at INTEGER := 5;
    len BIGINT;
    shift INTEGER;
    b INTEGER;
BEGIN
    IF parts = 1 THEN
        n := 1; part := packed; RETURN NEXT; RETURN;
    END IF;
    IF substring(packed FROM 1 FOR 5) <> '\xffffffff0f'::BYTEA THEN
        RAISE EXCEPTION 'an update row says it holds % updates but is not packed', parts;
    END IF;
    n := 0;
    WHILE at < length(packed) LOOP
        len := 0; shift := 0;
        LOOP
            b := get_byte(packed, at);
            at := at + 1;
            len := len | ((b & 127)::BIGINT << shift);
            shift := shift + 7;
            EXIT WHEN b < 128;
        END LOOP;
        n := n + 1;
        part := substring(packed FROM at + 1 FOR len::INTEGER);
        at := at + len::INTEGER;
        RETURN NEXT;
    END LOOP;
    IF n <> parts OR at <> length(packed) THEN
        RAISE EXCEPTION 'an update row holds % updates, not the % it says', n, parts;
    END IF;
END $$;

CREATE TEMP TABLE unpacked ON COMMIT DROP AS
    SELECT u.id, p.n, u.doc_id, p.part AS bytes, u.user_id, u.created_at
    FROM doc_updates u, LATERAL pg_temp.unpacked_parts(u.bytes, u.parts) p
    WHERE u.doc_id IN (SELECT doc_id FROM doc_updates WHERE parts > 1);

-- Not a deletion of history: every update is written again just below (the legal-hold trigger
-- would refuse the delete for a held matter).
ALTER TABLE doc_updates DISABLE TRIGGER doc_updates_keep_held;
DELETE FROM doc_updates WHERE doc_id IN (SELECT doc_id FROM unpacked);
INSERT INTO doc_updates (doc_id, bytes, user_id, created_at)
    SELECT doc_id, bytes, user_id, created_at FROM unpacked ORDER BY id, n;
ALTER TABLE doc_updates ENABLE TRIGGER doc_updates_keep_held;

ALTER TABLE doc_updates DROP COLUMN parts;
DROP FUNCTION pg_temp.unpacked_parts(BYTEA, INTEGER);
