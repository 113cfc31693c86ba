-- Commenters become viewers (the nearest role that writes nothing they could not).
UPDATE case_members SET role = 'viewer' WHERE role = 'commenter';
ALTER TABLE case_members DROP CONSTRAINT IF EXISTS case_members_role_check;
ALTER TABLE case_members
    ADD CONSTRAINT case_members_role_check
    CHECK (role IN ('owner', 'editor', 'viewer'));
