import { describe, expect, it } from "vitest";
import type { ConflictCheck, ConflictHit } from "../ipc";
import {
  MAX_CHECKED_NAMES,
  checkFailure,
  conflictQuery,
  decisionText,
  hitView,
  partyNames,
  queryProblem,
  warningTitle,
} from "./conflicts";

describe("conflicts check", () => {
  it("reads one name per line or between semicolons, keeping commas inside names", () => {
    expect(partyNames(" Acme, Inc.\n\nGlobex  Corp ; acme, inc.;Initech\n")).toEqual([
      "Acme, Inc.",
      "Globex Corp",
      "Initech",
    ]);
    expect(partyNames("  \n ; ")).toEqual([]);
  });

  it("needs a client and at most the server's number of names", () => {
    expect(queryProblem(conflictQuery("  ", "Globex", ""))).toMatch(/client/);
    expect(queryProblem(conflictQuery("Acme", "Globex", "Initech"))).toBeNull();
    const many = Array.from({ length: MAX_CHECKED_NAMES }, (_, i) => `Party ${i}`).join("\n");
    expect(queryProblem(conflictQuery("Acme", many, ""))).toMatch(/at most 50/);
  });

  it("lets the lawyer go on only when the server cannot be reached", () => {
    expect(checkFailure({ code: "connection", message: "" })).toBe("unavailable");
    expect(checkFailure({ code: "signin_required", message: "" })).toBe("unavailable");
    expect(checkFailure({ code: "server_error", message: "" })).toBe("unavailable");
    expect(checkFailure({ code: "no_server", message: "" })).toBe("no_server");
    expect(checkFailure({ code: "invalid_parties", message: "" })).toBe("refused");
    expect(checkFailure({ code: "unauthorized", message: "" })).toBe("refused");
  });

  it("names the matter and both sides of a hit the lawyer may read; the client found adverse is serious", () => {
    const hit: ConflictHit = {
      visibility: "detail",
      case_id: "c1",
      title: "Globex v Acme",
      party: "Acme, Inc.",
      party_kind: "adverse",
      searched: "ACME Corporation",
      searched_kind: "client",
      score: 0.93,
      rule: "spelling_differs",
    };
    const view = hitView(hit);
    expect(view.text).toBe("“ACME Corporation” (client here) matches “Acme, Inc.”, adverse party on Globex v Acme.");
    expect(view.detail).toBe("similar spelling, 93% alike");
    expect(view.adverse).toBe(true);
    expect(view.caseId).toBe("c1");
    expect(hitView({ ...hit, party_kind: "related" }).adverse).toBe(false);
  });

  it("says only that a hidden matter may conflict, and whom to ask", () => {
    const lawyer = hitView({
      visibility: "restricted",
      possible_conflict: true,
      ask: { role: "responsible_lawyer", user_id: "u-ada", name: "Ada Lovelace" },
    });
    expect(lawyer.text).not.toMatch(/Globex|Acme/);
    expect(lawyer.detail).toBe("Ask its responsible lawyer, Ada Lovelace.");
    expect(lawyer.caseId).toBeNull();
    const team = hitView({ visibility: "restricted", possible_conflict: true, ask: { role: "conflicts_role" } });
    expect(team.detail).toBe("Ask the firm's conflicts team.");
  });

  it("titles the warning with the total, and says what a matter was opened after", () => {
    const check: ConflictCheck = { check_id: "k", total: 1, hits: [] };
    expect(warningTitle(check)).toBe("1 possible conflict of interest");
    expect(warningTitle({ ...check, total: 250, hits: new Array<ConflictHit>(200) })).toBe(
      "250 possible conflicts of interest (the 200 closest shown)",
    );
    expect(decisionText("offline")).toMatch(/not run/);
    expect(decisionText("proceeded")).toMatch(/despite/);
    expect(decisionText("")).toBeNull();
  });
});
