CREATE INDEX case_parties_key_trgm ON case_parties USING gin (key gin_trgm_ops);
DROP INDEX cases_parties_seq;
ALTER TABLE cases DROP COLUMN parties_seq;
DROP SEQUENCE case_parties_seq;
