DROP INDEX audit_log_firm_action;
DROP INDEX audit_log_firm_user;
DROP TRIGGER doc_updates_keep_held ON doc_updates;
DROP FUNCTION refuse_delete_updates_on_hold();
DROP TRIGGER documents_keep_held ON documents;
DROP TRIGGER cases_keep_held ON cases;
DROP FUNCTION refuse_delete_on_hold();
ALTER TABLE cases
    DROP COLUMN legal_hold_at,
    DROP COLUMN legal_hold_by,
    DROP COLUMN legal_hold_reason;
