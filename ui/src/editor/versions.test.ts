// Versions live in the draft's Yjs document: they survive later edits (GC off), travel to other
// laptops with the rest of the draft, and rebuild exactly the text they saved.
import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import { yXmlFragmentToProsemirrorJSON } from "@tiptap/y-tiptap";
import {
  CURRENT,
  docAtVersion,
  listVersions,
  saveVersion,
  sessionVersionDue,
  SESSION_VERSION_EVERY_MS,
  snapshotOf,
  autoSessionVersions,
} from "./versions";

function paragraphDoc(text: string): { ydoc: Y.Doc; body: Y.XmlText } {
  const ydoc = new Y.Doc({ gc: false });
  const paragraph = new Y.XmlElement("paragraph");
  const body = new Y.XmlText(text);
  paragraph.insert(0, [body]);
  ydoc.getXmlFragment("default").insert(0, [paragraph]);
  return { ydoc, body };
}

function textAt(ydoc: Y.Doc, id: string): string {
  const past = docAtVersion(ydoc, id);
  const json = yXmlFragmentToProsemirrorJSON(past.getXmlFragment("default")) as {
    content?: { content?: { text?: string }[] }[];
  };
  return (json.content ?? []).map((p) => (p.content ?? []).map((t) => t.text ?? "").join("")).join("\n");
}

describe("versions", () => {
  it("rebuild the text they saved after the draft moves on", () => {
    const { ydoc, body } = paragraphDoc("The fee is 100 pounds.");
    const sent = saveVersion(ydoc, { name: "Sent to opposing counsel", kind: "named", author: "Ada" }, 1000);
    body.delete(11, 3);
    body.insert(11, "250");
    saveVersion(ydoc, { name: "", kind: "session", author: "Ada" }, 2000);
    body.insert(0, "Clause 4. ");

    expect(textAt(ydoc, sent.id)).toBe("The fee is 100 pounds.");
    expect(textAt(ydoc, CURRENT)).toBe("Clause 4. The fee is 250 pounds.");
    const listed = listVersions(ydoc);
    expect(listed.map((v) => [v.name, v.kind])).toEqual([
      ["Automatic", "session"],
      ["Sent to opposing counsel", "named"],
    ]);
    expect(textAt(ydoc, listed[0]!.id)).toBe("The fee is 250 pounds.");
  });

  it("cost a snapshot, not a copy of the draft", () => {
    const { ydoc, body } = paragraphDoc("x".repeat(20_000));
    const before = Y.encodeStateAsUpdate(ydoc).byteLength;
    const version = saveVersion(ydoc, { name: "v", kind: "named", author: "Ada" });
    body.insert(0, "y");
    const after = Y.encodeStateAsUpdate(ydoc).byteLength;
    expect(version.snapshot.byteLength).toBeLessThan(64);
    // The version entry plus the one-letter edit: far below 10% of the draft.
    expect(after - before).toBeLessThan(before * 0.1);
  });

  it("made offline on two laptops both arrive, and each opens on the other", () => {
    const { ydoc: ada, body: adaBody } = paragraphDoc("Goods within 30 days.");
    const ben = new Y.Doc({ gc: false });
    Y.applyUpdate(ben, Y.encodeStateAsUpdate(ada));
    const benBody = (ben.getXmlFragment("default").get(0) as Y.XmlElement).get(0) as Y.XmlText;

    adaBody.insert(adaBody.length, " Ada's edit.");
    const adaVersion = saveVersion(ada, { name: "Ada's proposal", kind: "named", author: "Ada" }, 10);
    benBody.delete(0, 6);
    const benVersion = saveVersion(ben, { name: "Ben's cut", kind: "named", author: "Ben" }, 20);

    Y.applyUpdate(ben, Y.encodeStateAsUpdate(ada, Y.encodeStateVector(ben)));
    Y.applyUpdate(ada, Y.encodeStateAsUpdate(ben, Y.encodeStateVector(ada)));

    for (const doc of [ada, ben]) {
      expect(listVersions(doc).map((v) => v.name)).toEqual(["Ben's cut", "Ada's proposal"]);
      expect(textAt(doc, adaVersion.id)).toBe("Goods within 30 days. Ada's edit.");
      expect(textAt(doc, benVersion.id)).toBe("within 30 days.");
      expect(textAt(doc, CURRENT)).toBe("within 30 days. Ada's edit.");
    }
  });

  it("refuse an id that is not a version of this draft", () => {
    const { ydoc } = paragraphDoc("x");
    expect(() => snapshotOf(ydoc, "nope")).toThrow(/not in this draft/);
  });

  it("are saved automatically once per session, then at most hourly", () => {
    expect(sessionVersionDue(null, 5)).toBe(true);
    expect(sessionVersionDue(1000, 1000 + SESSION_VERSION_EVERY_MS - 1)).toBe(false);
    expect(sessionVersionDue(1000, 1000 + SESSION_VERSION_EVERY_MS)).toBe(true);
  });
});

describe("automatic session versions", () => {
  it("keep the draft as it was before the session's first edit, at most hourly", async () => {
    const { ydoc, body } = paragraphDoc("Original text.");
    const LOCAL = { local: true };
    let clock = 1_000;
    const stop = autoSessionVersions(ydoc, "Ada", (t) => t.origin === LOCAL, () => clock);
    // A remote change saves nothing.
    body.insert(0, "Remote. ");
    await Promise.resolve();
    expect(listVersions(ydoc)).toHaveLength(0);

    ydoc.transact(() => body.insert(body.length, " Mine."), LOCAL);
    await Promise.resolve();
    ydoc.transact(() => body.insert(body.length, " More."), LOCAL);
    await Promise.resolve();
    let versions = listVersions(ydoc);
    expect(versions).toHaveLength(1);
    expect(versions[0]!.kind).toBe("session");
    expect(textAt(ydoc, versions[0]!.id)).toBe("Remote. Original text.");

    clock += SESSION_VERSION_EVERY_MS;
    ydoc.transact(() => body.insert(body.length, " Later."), LOCAL);
    await Promise.resolve();
    versions = listVersions(ydoc);
    expect(versions).toHaveLength(2);
    expect(textAt(ydoc, versions[0]!.id)).toBe("Remote. Original text. Mine. More.");
    // Who wrote it is recorded for compares, in Y.PermanentUserData's layout.
    const pud = new Y.PermanentUserData(ydoc);
    expect(pud.getUserByClientId(ydoc.clientID)).toBe("Ada");
    stop();
  });
});
