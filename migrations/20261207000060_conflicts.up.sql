-- The conflict-of-interest check (issue 16).
--
-- 1. The firm-wide party index: every client, adverse and related party of every matter, as the
--    matter's `cases/{uuid}` document names them (Y.Map "case": `client`, and `parties` by role),
--    kept by the server from the write path like `cases.title`. `key` is the name normalised by
--    `conflicts::matching::normalise` (accents, case, punctuation, legal forms); a trigram index
--    finds candidates for the matching rules, which decide in Rust.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE case_parties (
    case_id     UUID NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    firm_id     TEXT NOT NULL REFERENCES firms (id),
    kind        TEXT NOT NULL CHECK (kind IN ('client', 'adverse', 'related')),
    name        TEXT NOT NULL,
    key         TEXT NOT NULL,
    PRIMARY KEY (case_id, kind, name)
);
CREATE INDEX case_parties_key_trgm ON case_parties USING gin (key gin_trgm_ops);
CREATE INDEX case_parties_firm_key ON case_parties (firm_id, key);

-- 2. Every check that ran, and the matter it was made for once that matter's document names it
--    (`conflict_check` in Y.Map "case"). The audit log has an entry for each as well.
CREATE TABLE conflict_checks (
    id          UUID PRIMARY KEY,
    firm_id     TEXT NOT NULL REFERENCES firms (id),
    user_id     TEXT NOT NULL,
    checked_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- What was searched: {"client": "...", "adverse": [...], "related": [...]}.
    request     JSONB NOT NULL,
    -- What was found: [{"case_id", "kind", "score", "rule"}] (no titles or names).
    hits        JSONB NOT NULL,
    case_id     UUID REFERENCES cases (id) ON DELETE SET NULL,
    -- What the lawyer did, as the matter's document states it: `clear`, `proceeded`, `offline`.
    decision    TEXT
);
CREATE INDEX conflict_checks_case ON conflict_checks (case_id) WHERE case_id IS NOT NULL;
