DROP TRIGGER copilot_policy_cases ON cases;
DROP TRIGGER copilot_policy_firm ON copilot_firm_policy;
DROP TRIGGER copilot_policy_consent ON case_ai_consent;
DROP TRIGGER copilot_policy_screens ON screens;
DROP TRIGGER copilot_policy_members ON case_members;
DROP FUNCTION hub_copilot_policy_changed();
