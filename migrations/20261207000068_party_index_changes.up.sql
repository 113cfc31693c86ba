-- The conflicts check (issue 16) searches each firm's party index in memory on every server
-- instance (`conflicts::search`); Postgres' `case_parties` stays the record. `cases.parties_seq`
-- tells an instance which matters' parties changed since it last looked: the write path sets it
-- from `case_parties_seq` whenever it replaces a matter's parties, under a per-firm lock, so the
-- numbers become visible in order. The trigram index the check used before is no longer read.
CREATE SEQUENCE case_parties_seq;
ALTER TABLE cases ADD COLUMN parties_seq BIGINT NOT NULL DEFAULT 0;
UPDATE cases SET parties_seq = nextval('case_parties_seq')
    WHERE id IN (SELECT DISTINCT case_id FROM case_parties);
CREATE INDEX cases_parties_seq ON cases (firm_id, parties_seq);
DROP INDEX case_parties_key_trgm;
