import { describe, expect, it } from "vitest";
import { accountLabel, canSignOut, signOutMessage, userLabel, type SignInStatus } from "./signIn";

const ada = { name: "Ada Lovelace", email: "ada@firm.example", detail: null };
const status = (state: SignInStatus["state"], who: Partial<SignInStatus> = ada): SignInStatus => ({
  ...ada,
  ...who,
  state,
});

describe("userLabel", () => {
  it("names the lawyer with their e-mail, never the issuer", () => {
    expect(userLabel(ada)).toBe("Ada Lovelace (ada@firm.example)");
  });
  it("uses whichever of the two the provider sent", () => {
    expect(userLabel({ name: null, email: "ada@firm.example" })).toBe("ada@firm.example");
    expect(userLabel({ name: "Ada Lovelace", email: null })).toBe("Ada Lovelace");
    expect(userLabel({ name: "ada@firm.example", email: "ada@firm.example" })).toBe("ada@firm.example");
    expect(userLabel({ name: "  ", email: null })).toBeNull();
  });
});

describe("accountLabel", () => {
  it("says who is signed in", () => {
    expect(accountLabel(status("signed_in"))).toEqual({ text: "Ada Lovelace (ada@firm.example)", tone: "ok" });
    expect(accountLabel(status("signed_in", { name: null, email: null })).text).toBe("Signed in");
  });
  it("still names the lawyer when the provider cannot be reached", () => {
    expect(accountLabel(status("offline", { detail: "connection failed" }))).toEqual({
      text: "Signed in as Ada Lovelace (ada@firm.example) (offline)",
      tone: "warn",
    });
    expect(accountLabel(status("offline", { name: null, email: null })).text).toBe("Signed in (offline)");
  });
  it("asks to sign in again only when the provider refused the sign-in", () => {
    expect(accountLabel(status("expired"))).toEqual({ text: "Signed out — please sign in again", tone: "warn" });
    expect(accountLabel(status("signed_out", { name: null, email: null })).text).toBe("Not signed in");
  });
  it("shows the restore at launch and the wait for the browser", () => {
    expect(accountLabel(status("restoring")).text).toBe("Signing in as Ada Lovelace (ada@firm.example)…");
    expect(accountLabel(status("restoring", { name: null, email: null })).text).toBe("Signing in…");
    expect(accountLabel(status("waiting_for_browser"))).toEqual({ text: "Waiting for your browser…", tone: "busy" });
  });
  it("shows a development token when the app runs with one", () => {
    expect(accountLabel(status("signed_out", { name: null, email: null }), "development token")).toEqual({
      text: "development token",
      tone: "ok",
    });
  });
});

describe("sign-out", () => {
  it("is offered for a kept sign-in too, even offline", () => {
    expect(canSignOut(status("signed_in"))).toBe(true);
    expect(canSignOut(status("offline"))).toBe(true);
    expect(canSignOut(status("restoring"))).toBe(true);
    expect(canSignOut(status("signed_out"))).toBe(false);
    expect(canSignOut(status("expired"))).toBe(false);
    expect(canSignOut(status("waiting_for_browser"))).toBe(false);
  });
  it("says when the provider could not be told", () => {
    expect(signOutMessage({ revocation: "revoked", detail: null })).toBe("Signed out. Your work stays on this computer.");
    expect(signOutMessage({ revocation: "not_offered", detail: null })).toBe("Signed out. Your work stays on this computer.");
    const failed = signOutMessage({ revocation: "failed", detail: "connection failed" });
    expect(failed).toContain("could not be told (connection failed)");
    expect(failed).toContain("removed from this computer");
  });
});
