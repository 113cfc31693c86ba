DROP TABLE doc_snapshots;
DROP TABLE doc_updates;
DROP TABLE documents;
DROP TABLE cases;
DROP TABLE users;
DROP TABLE firms;
