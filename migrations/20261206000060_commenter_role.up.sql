-- Issue 16: a fourth role between viewer and editor. A commenter reads a matter and may write
-- only the comments of its drafts (the server checks each update against the document).
ALTER TABLE case_members DROP CONSTRAINT IF EXISTS case_members_role_check;
ALTER TABLE case_members
    ADD CONSTRAINT case_members_role_check
    CHECK (role IN ('owner', 'editor', 'commenter', 'viewer'));
