DROP TABLE conflict_checks;
DROP TABLE case_parties;
DROP EXTENSION IF EXISTS pg_trgm;
