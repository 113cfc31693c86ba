-- The firm directory: each person's display name and email as their identity provider last
-- stated them in a verified token (`name`, `email`, else an email-shaped `preferred_username` or
-- `upn`), per firm, so a matter can be shared by name and member lists show who people are.
-- Written when people authenticate (sync and REST), only when a value changed.
CREATE TABLE firm_directory (
    firm_id     TEXT NOT NULL REFERENCES firms (id),
    user_id     TEXT NOT NULL REFERENCES users (id),
    name        TEXT,
    email       TEXT,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (firm_id, user_id)
);

-- People already seen are listed (by id) until they next sign in with a token that names them.
INSERT INTO firm_directory (firm_id, user_id) SELECT firm_id, id FROM users;
