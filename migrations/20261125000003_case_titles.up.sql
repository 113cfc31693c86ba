-- The matter's title, kept from its `cases/{uuid}` document (Y.Map "case", key "title") so lists
-- do not need to load documents.
ALTER TABLE cases ADD COLUMN title TEXT;
