-- AI copilot: the firm's switch and content-retention choice, each matter's "client consented to
-- AI use" flag, and one accounting row per call that reached the model.
CREATE TABLE copilot_firm_policy (
    firm_id              TEXT PRIMARY KEY REFERENCES firms (id),
    enabled              BOOLEAN NOT NULL DEFAULT false,
    -- Keep prompt and answer text in copilot_usage (off unless the firm turns it on).
    store_content        BOOLEAN NOT NULL DEFAULT false,
    -- Tokens each user may use per calendar month (UTC); NULL = the server's default.
    monthly_token_quota  BIGINT CHECK (monthly_token_quota IS NULL OR monthly_token_quota >= 0),
    updated_by           TEXT NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE case_ai_consent (
    case_id     UUID PRIMARY KEY REFERENCES cases (id) ON DELETE CASCADE,
    consented   BOOLEAN NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    set_by      TEXT NOT NULL,
    set_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Kept for accounting and audit even if the matter is later deleted (no foreign key on case).
CREATE TABLE copilot_usage (
    id                  BIGSERIAL PRIMARY KEY,
    firm_id             TEXT NOT NULL,
    user_id             TEXT NOT NULL,
    case_id             UUID NOT NULL,
    action              TEXT NOT NULL,
    model               TEXT NOT NULL,
    prompt_tokens       BIGINT NOT NULL DEFAULT 0,
    completion_tokens   BIGINT NOT NULL DEFAULT 0,
    -- true when the endpoint reported no usage (stopped or failed streams): counted from text length.
    tokens_estimated    BOOLEAN NOT NULL DEFAULT false,
    latency_ms          BIGINT NOT NULL,
    first_token_ms      BIGINT,
    outcome             TEXT NOT NULL CHECK (outcome IN ('ok', 'cancelled', 'error')),
    error_code          TEXT,
    prompt_text         TEXT,
    answer_text         TEXT,
    at                  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX copilot_usage_firm_at ON copilot_usage (firm_id, at);
CREATE INDEX copilot_usage_user_at ON copilot_usage (firm_id, user_id, at);
