-- Ethical walls with no gaps.
--
-- 1. Every change of who may read a matter is announced by the database itself, whoever made it
--    (this server, another instance, an administrator in psql, a restore): each instance listens
--    on `hub_access` and re-checks the open subscriptions it names (`case_id user_id`, or `*` for
--    all of them). Notices are delivered after commit, in commit order.
CREATE FUNCTION hub_access_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_LEVEL = 'STATEMENT' THEN
        PERFORM pg_notify('hub_access', '*');
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM pg_notify('hub_access', OLD.case_id::text || ' ' || OLD.user_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM pg_notify('hub_access', NEW.case_id::text || ' ' || NEW.user_id);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER access_members AFTER INSERT OR UPDATE OR DELETE ON case_members
    FOR EACH ROW EXECUTE FUNCTION hub_access_changed();
CREATE TRIGGER access_members_truncate AFTER TRUNCATE ON case_members
    FOR EACH STATEMENT EXECUTE FUNCTION hub_access_changed();
CREATE TRIGGER access_screens AFTER INSERT OR UPDATE OR DELETE ON screens
    FOR EACH ROW EXECUTE FUNCTION hub_access_changed();
CREATE TRIGGER access_screens_truncate AFTER TRUNCATE ON screens
    FOR EACH STATEMENT EXECUTE FUNCTION hub_access_changed();
CREATE TRIGGER access_cases AFTER UPDATE OF firm_id OR DELETE OR TRUNCATE ON cases
    FOR EACH STATEMENT EXECUTE FUNCTION hub_access_changed();

-- 2. Refusals that concern no matter of the caller's own firm (another firm's matter, a made-up
--    one) go here, not into a firm's audit log: nobody outside a firm can write into its log.
CREATE TABLE security_log (
    id            BIGSERIAL PRIMARY KEY,
    -- The firm the caller's token named (not the matter's).
    claimed_firm  TEXT NOT NULL,
    user_id       TEXT,
    action        TEXT NOT NULL,
    detail        JSONB NOT NULL DEFAULT '{}'::jsonb,
    at            TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX security_log_at ON security_log (at);

-- 3. The logs are append-only, enforced by the database for every role (the server's own
--    included): UPDATE, DELETE and TRUNCATE are refused.
CREATE FUNCTION hub_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION hub_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION hub_append_only();
CREATE TRIGGER security_log_append_only BEFORE UPDATE OR DELETE ON security_log
    FOR EACH ROW EXECUTE FUNCTION hub_append_only();
CREATE TRIGGER security_log_no_truncate BEFORE TRUNCATE ON security_log
    FOR EACH STATEMENT EXECUTE FUNCTION hub_append_only();

-- 4. When a membership was granted (the granting transaction's id, like documents.change_xid):
--    catch-up lists every document of a matter someone joined after their cursor, not only those
--    changed since. Existing members keep 0 (they have had the documents all along).
ALTER TABLE case_members ADD COLUMN granted_xid BIGINT NOT NULL DEFAULT 0;
ALTER TABLE case_members ALTER COLUMN granted_xid SET DEFAULT (pg_current_xact_id()::text::bigint);
CREATE INDEX case_members_user_granted ON case_members (user_id, granted_xid);
