-- The sync core: firms, cases, documents and their append-only update log with snapshots.
CREATE TABLE firms (
    id          TEXT PRIMARY KEY,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id          TEXT PRIMARY KEY,
    firm_id     TEXT NOT NULL REFERENCES firms (id),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE cases (
    id          UUID PRIMARY KEY,
    firm_id     TEXT NOT NULL REFERENCES firms (id),
    created_by  TEXT NOT NULL,
    legal_hold  BOOLEAN NOT NULL DEFAULT false,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX cases_firm ON cases (firm_id);

CREATE TABLE documents (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    case_id     UUID NOT NULL REFERENCES cases (id),
    firm_id     TEXT NOT NULL REFERENCES firms (id),
    kind        TEXT NOT NULL CHECK (kind IN ('case', 'draft')),
    -- The id of the last transaction that appended to this document (pg_current_xact_id).
    -- Catch-up cursors are transaction-snapshot xmins, so a slow commit is never skipped.
    change_xid  BIGINT NOT NULL DEFAULT 0,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX documents_firm_change ON documents (firm_id, change_xid);

-- Append-only: rows are only ever deleted by compaction, after being folded into a snapshot.
CREATE TABLE doc_updates (
    id          BIGSERIAL PRIMARY KEY,
    doc_id      BIGINT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    bytes       BYTEA NOT NULL,
    user_id     TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX doc_updates_doc ON doc_updates (doc_id, id);

CREATE TABLE doc_snapshots (
    doc_id          BIGINT PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
    state           BYTEA NOT NULL,
    updates_folded  BIGINT NOT NULL,
    compacted_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
