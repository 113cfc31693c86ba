-- Legal hold: who placed a matter's hold, when and why (the flag itself, `cases.legal_hold`,
-- has existed since the sync core; compaction already skips a held matter's documents).
ALTER TABLE cases
    ADD COLUMN legal_hold_reason TEXT,
    ADD COLUMN legal_hold_by     TEXT,
    ADD COLUMN legal_hold_at     TIMESTAMPTZ;

-- Nothing of a held matter is deleted, whoever deletes: the server, another instance, an
-- administrator in psql. (Compaction, the one path that deletes update rows, skips held
-- matters; these triggers make the rule hold for every other path too.)
CREATE FUNCTION refuse_delete_on_hold() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'cases' THEN
        IF OLD.legal_hold THEN
            RAISE EXCEPTION 'matter % is under legal hold: it cannot be deleted', OLD.id
                USING ERRCODE = 'check_violation';
        END IF;
    ELSIF TG_TABLE_NAME = 'documents' THEN
        IF EXISTS (SELECT 1 FROM cases WHERE id = OLD.case_id AND legal_hold) THEN
            RAISE EXCEPTION 'document % belongs to a matter under legal hold: it cannot be deleted', OLD.name
                USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN OLD;
END $$;

CREATE TRIGGER cases_keep_held BEFORE DELETE ON cases
    FOR EACH ROW EXECUTE FUNCTION refuse_delete_on_hold();
CREATE TRIGGER documents_keep_held BEFORE DELETE ON documents
    FOR EACH ROW EXECUTE FUNCTION refuse_delete_on_hold();

-- Update rows: one check per statement (compaction deletes thousands at once).
CREATE FUNCTION refuse_delete_updates_on_hold() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM gone g JOIN documents d ON d.id = g.doc_id
               JOIN cases c ON c.id = d.case_id WHERE c.legal_hold) THEN
        RAISE EXCEPTION 'the history of a matter under legal hold cannot be deleted'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER doc_updates_keep_held AFTER DELETE ON doc_updates
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_delete_updates_on_hold();

-- The firm audit, filtered by person and action, newest first.
CREATE INDEX audit_log_firm_user ON audit_log (firm_id, user_id, id);
CREATE INDEX audit_log_firm_action ON audit_log (firm_id, action, id);
