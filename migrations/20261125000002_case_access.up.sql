-- Per-matter access: members with roles, ethical walls (screens), and an append-only audit log.
CREATE TABLE case_members (
    case_id     UUID NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('owner', 'editor', 'viewer')),
    added_by    TEXT NOT NULL,
    added_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (case_id, user_id)
);
CREATE INDEX case_members_user ON case_members (user_id);

-- A screened user can never be a member of, or read anything of, the case.
CREATE TABLE screens (
    case_id     UUID NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    added_by    TEXT NOT NULL,
    added_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (case_id, user_id)
);

CREATE TABLE audit_log (
    id          BIGSERIAL PRIMARY KEY,
    firm_id     TEXT NOT NULL,
    case_id     UUID,
    user_id     TEXT,
    action      TEXT NOT NULL,
    detail      JSONB NOT NULL DEFAULT '{}'::jsonb,
    at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_case ON audit_log (case_id, id);
CREATE INDEX audit_log_firm ON audit_log (firm_id, id);

-- Cases created before this migration: their creator owns them.
INSERT INTO case_members (case_id, user_id, role, added_by)
SELECT id, created_by, 'owner', created_by FROM cases;
