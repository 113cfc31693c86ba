DROP TABLE audit_log;
DROP TABLE screens;
DROP TABLE case_members;
