// Who is signed in, as the top bar and Settings say it. Pure: the state comes from the Rust side
// (`sign-in-state` event, AppInfo.sign_in).

export type SignInPhase = "signed_out" | "restoring" | "signed_in" | "offline" | "expired" | "waiting_for_browser";

export interface SignInStatus {
  state: SignInPhase;
  /** From the ID token (`name`), kept on this computer so it shows offline too. */
  name: string | null;
  /** From the ID token (`email`). */
  email: string | null;
  /** Why the kept sign-in could not be checked (offline), for a tooltip. */
  detail: string | null;
}

/** What sign-out could tell the identity provider. The tokens on this computer are gone either way. */
export interface SignedOut {
  revocation: "revoked" | "not_offered" | "nothing_kept" | "failed";
  detail: string | null;
}

/** "Ada Lovelace (ada@firm.example)", or whichever of the two is known; null when neither is. */
export function userLabel(status: Pick<SignInStatus, "name" | "email">): string | null {
  const name = status.name?.trim() || null;
  const email = status.email?.trim() || null;
  if (name && email && name !== email) return `${name} (${email})`;
  return name ?? email;
}

export type AccountTone = "ok" | "busy" | "warn" | "none";

/**
 * The account line of the top bar and Settings. `devAccount` is AppInfo.account ("development
 * token" when the app was started with one: sign-in is not used then).
 */
export function accountLabel(status: SignInStatus, devAccount: string | null = null): { text: string; tone: AccountTone } {
  const who = userLabel(status);
  switch (status.state) {
    case "signed_in":
      return { text: who ?? "Signed in", tone: "ok" };
    case "offline":
      return { text: who ? `Signed in as ${who} (offline)` : "Signed in (offline)", tone: "warn" };
    case "restoring":
      return { text: who ? `Signing in as ${who}…` : "Signing in…", tone: "busy" };
    case "waiting_for_browser":
      return { text: "Waiting for your browser…", tone: "busy" };
    case "expired":
      return { text: "Signed out — please sign in again", tone: "warn" };
    case "signed_out":
      return devAccount ? { text: devAccount, tone: "ok" } : { text: "Not signed in", tone: "none" };
  }
}

/** Whether there is a sign-in to end (Sign out is offered): also a kept one not checked yet. */
export function canSignOut(status: SignInStatus): boolean {
  return status.state === "signed_in" || status.state === "offline" || status.state === "restoring";
}

/** What Settings says after Sign out. */
export function signOutMessage(result: SignedOut): string {
  const local = "Signed out. Your work stays on this computer.";
  switch (result.revocation) {
    case "revoked":
    case "not_offered":
    case "nothing_kept":
      return local;
    case "failed":
      return `${local} Your identity provider could not be told (${result.detail ?? "unreachable"}); the sign-in was removed from this computer and ends there when it expires.`;
  }
}
