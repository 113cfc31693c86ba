-- A document's updates from one lawyer in one group commit share one row (the write path's
-- `pack`): `parts` says how many updates `bytes` holds. 1 is a row as before (`bytes` is the
-- update); above 1, `bytes` is the marker FF FF FF FF 0F (which a release before this one,
-- reading it as one update, refuses) and then each update as lib0 var-bytes (its length as a
-- varuint, then its bytes), in order. Adding a column with a constant default rewrites nothing.
ALTER TABLE doc_updates ADD COLUMN parts INTEGER NOT NULL DEFAULT 1
    CONSTRAINT doc_updates_parts_positive CHECK (parts >= 1);
