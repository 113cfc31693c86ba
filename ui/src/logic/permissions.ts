// Who may do what in a matter, from the lawyer's role (the server's `case_members`). The server
// enforces the same on every update it receives; the window only hides what would be refused.

/** The lawyer's role in the matter, least to most. */
export type MatterRole = "viewer" | "commenter" | "editor" | "owner";

export const MATTER_ROLES: readonly MatterRole[] = ["owner", "editor", "commenter", "viewer"];

/** Owners and editors edit, suggest, accept and reject, and save versions. */
export function canWrite(role: MatterRole): boolean {
  return role === "owner" || role === "editor";
}

/**
 * Everyone but viewers comments: commenters add, answer, resolve and delete comments (the draft's
 * `comments` map) and nothing else — the server refuses any other change they send.
 */
export function canComment(role: MatterRole): boolean {
  return role !== "viewer";
}

/** Only owners (and firm admins, whom the server also lets) share the matter. */
export function canShare(role: MatterRole): boolean {
  return role === "owner";
}

/** A role from the server's text; an unknown (newer) role reads as viewer, the safest. */
export function parseRole(text: string): MatterRole {
  return (MATTER_ROLES as readonly string[]).includes(text) ? (text as MatterRole) : "viewer";
}

export const ROLE_LABELS: Record<MatterRole, string> = {
  owner: "Owner",
  editor: "Editor",
  commenter: "Commenter",
  viewer: "Viewer",
};

/** What each role may do, in the share dialog's words. */
export const ROLE_HINTS: Record<MatterRole, string> = {
  owner: "Edits, comments and shares the matter",
  editor: "Edits, suggests, accepts and comments",
  commenter: "Reads and comments; cannot edit or accept suggestions",
  viewer: "Reads only",
};

/** What the matter's owners would lose: a change that leaves no owner is refused by the server too. */
export function leavesNoOwner(members: readonly { user_id: string; role: string }[], userId: string, next: MatterRole | null): boolean {
  if (next === "owner") return false;
  const owners = members.filter((member) => member.role === "owner");
  return owners.length === 1 && owners[0]?.user_id === userId;
}
