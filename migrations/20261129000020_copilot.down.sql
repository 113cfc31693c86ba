DROP TABLE copilot_usage;
DROP TABLE case_ai_consent;
DROP TABLE copilot_firm_policy;
