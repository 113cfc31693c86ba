-- Tell every server instance when something that can take the copilot away changes, so each can
-- keep the answer to "may this lawyer use the copilot on this matter?" in memory (the check is on
-- every answer's path) and still apply a revocation to the next request. The payload is empty:
-- an instance drops everything it holds. Only what can revoke fires (grants are never cached):
-- a member removed or their role changed, a screen added, consent withdrawn, the firm's switch or
-- quota changed, a matter moved or deleted.
CREATE FUNCTION hub_copilot_policy_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('hub_copilot_policy', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER copilot_policy_members AFTER UPDATE OR DELETE OR TRUNCATE ON case_members
    FOR EACH STATEMENT EXECUTE FUNCTION hub_copilot_policy_changed();
CREATE TRIGGER copilot_policy_screens AFTER INSERT OR UPDATE ON screens
    FOR EACH STATEMENT EXECUTE FUNCTION hub_copilot_policy_changed();
CREATE TRIGGER copilot_policy_consent AFTER UPDATE OR DELETE OR TRUNCATE ON case_ai_consent
    FOR EACH STATEMENT EXECUTE FUNCTION hub_copilot_policy_changed();
CREATE TRIGGER copilot_policy_firm AFTER UPDATE OR DELETE OR TRUNCATE ON copilot_firm_policy
    FOR EACH STATEMENT EXECUTE FUNCTION hub_copilot_policy_changed();
CREATE TRIGGER copilot_policy_cases AFTER UPDATE OF firm_id OR DELETE OR TRUNCATE ON cases
    FOR EACH STATEMENT EXECUTE FUNCTION hub_copilot_policy_changed();
