import { describe, expect, it } from "vitest";
import * as Y from "yjs";
import {
  anchorsInText,
  commentsOf,
  createThread,
  deleteComment,
  editComment,
  liveAnchors,
  readThreads,
  replyTo,
  setResolved,
} from "./comments";

const jane = { author: "Jane Smith", authorId: "jane@firm.example" };
const ben = { author: "Ben", authorId: "ben@firm.example" };

/** A document with one paragraph of text, as y-prosemirror writes it. */
function docWithText(text: string): { ydoc: Y.Doc; ytext: Y.XmlText } {
  const ydoc = new Y.Doc({ gc: false });
  const paragraph = new Y.XmlElement("paragraph");
  const ytext = new Y.XmlText();
  ydoc.getXmlFragment("default").insert(0, [paragraph]);
  paragraph.insert(0, [ytext]);
  ytext.insert(0, text);
  return { ydoc, ytext };
}

describe("comment threads", () => {
  it("creates a thread in the contract's shape, with replies", () => {
    const { ydoc, ytext } = docWithText("The Supplier shall indemnify the Buyer.");
    const comments = commentsOf(ydoc);
    const anchors = anchorsInText(ytext, 4, 12);
    const id = createThread(comments, { ...anchors, quote: "Supplier", body: "Which one?" }, jane, 1000, "t1");
    expect(id).toBe("t1");
    const raw = comments.get("t1")!;
    expect(raw.get("from")).toBeInstanceOf(Uint8Array);
    expect(raw.get("to")).toBeInstanceOf(Uint8Array);
    expect(raw.get("replies")).toBeInstanceOf(Y.Array);
    expect(raw.get("resolved")).toBe(false);

    replyTo(comments, "t1", "The one in clause 2.", ben, 2000, "r1");
    const [thread] = readThreads(comments);
    expect(thread).toMatchObject({
      id: "t1",
      quote: "Supplier",
      author: "Jane Smith",
      authorId: "jane@firm.example",
      created: 1000,
      body: "Which one?",
      resolved: false,
      replies: [{ id: "r1", author: "Ben", authorId: "ben@firm.example", created: 2000, body: "The one in clause 2." }],
    });
    const live = liveAnchors(ydoc, thread!);
    expect(live?.from.index).toBe(4);
    expect(live?.to.index).toBe(12);
  });

  it("resolves and reopens", () => {
    const { ydoc, ytext } = docWithText("Clause text");
    const comments = commentsOf(ydoc);
    createThread(comments, { ...anchorsInText(ytext, 0, 6), quote: "Clause", body: "?" }, jane, 1, "t");
    setResolved(comments, "t", true, ben, 50);
    expect(readThreads(comments)[0]).toMatchObject({ resolved: true, resolvedBy: "Ben", resolvedAt: 50 });
    setResolved(comments, "t", false, jane, 60);
    const [reopened] = readThreads(comments);
    expect(reopened?.resolved).toBe(false);
    expect(reopened?.resolvedBy).toBeUndefined();
  });

  it("lets only the author edit or delete a comment", () => {
    const { ydoc, ytext } = docWithText("Clause text");
    const comments = commentsOf(ydoc);
    createThread(comments, { ...anchorsInText(ytext, 0, 6), quote: "Clause", body: "first" }, jane, 1, "t");
    replyTo(comments, "t", "reply", ben, 2, "r");
    expect(editComment(comments, "t", null, "hijacked", ben, 3)).toBe(false);
    expect(editComment(comments, "t", "r", "hijacked", jane, 3)).toBe(false);
    expect(editComment(comments, "t", null, "first, clearer", jane, 4)).toBe(true);
    expect(editComment(comments, "t", "r", "reply, clearer", ben, 5)).toBe(true);
    let [thread] = readThreads(comments);
    expect(thread).toMatchObject({ body: "first, clearer", edited: 4, replies: [{ body: "reply, clearer", edited: 5 }] });
    // Same name, another account: not the author.
    expect(editComment(comments, "t", null, "x", { author: "Jane Smith", authorId: "other@firm.example" }, 6)).toBe(false);

    expect(deleteComment(comments, "t", "r", jane)).toBe(false);
    // The opening comment with a reply left is kept, marked deleted.
    expect(deleteComment(comments, "t", null, jane)).toBe(true);
    [thread] = readThreads(comments);
    expect(thread).toMatchObject({ deleted: true, body: "" });
    // Its last reply gone, the thread goes.
    expect(deleteComment(comments, "t", "r", ben)).toBe(true);
    expect(readThreads(comments)).toEqual([]);
  });

  it("keeps a thread whose text was deleted, detached, with its quote", () => {
    const { ydoc, ytext } = docWithText("Keep this sentence. Drop this one.");
    const comments = commentsOf(ydoc);
    createThread(comments, { ...anchorsInText(ytext, 20, 34), quote: "Drop this one.", body: "Why?" }, jane, 1, "t");
    createThread(comments, { ...anchorsInText(ytext, 0, 4), quote: "Keep", body: "ok" }, jane, 2, "u");
    // Text typed just before and just after the commented text does not join it.
    ytext.insert(34, " More.");
    ytext.insert(20, "New. ");
    let [dropped, kept] = readThreads(comments);
    expect(liveAnchors(ydoc, dropped!)).toMatchObject({ from: { index: 25 }, to: { index: 39 } });
    ytext.delete(25, 14);
    [dropped, kept] = readThreads(comments);
    expect(liveAnchors(ydoc, dropped!)).toBeNull();
    expect(dropped?.quote).toBe("Drop this one.");
    expect(liveAnchors(ydoc, kept!)).not.toBeNull();
    // The whole paragraph deleted: detached too, and still listed.
    ydoc.getXmlFragment("default").delete(0, 1);
    expect(readThreads(comments).map((t) => [t.id, liveAnchors(ydoc, t)])).toEqual([
      ["t", null],
      ["u", null],
    ]);
  });

  it("merges threads made on two computers offline", () => {
    const { ydoc: a, ytext } = docWithText("Shared text here");
    const b = new Y.Doc({ gc: false });
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a));
    const textB = (b.getXmlFragment("default").get(0) as Y.XmlElement).get(0) as Y.XmlText;
    createThread(commentsOf(a), { ...anchorsInText(ytext, 0, 6), quote: "Shared", body: "from A" }, jane, 1, "ta");
    createThread(commentsOf(b), { ...anchorsInText(textB, 7, 11), quote: "text", body: "from B" }, ben, 2, "tb");
    textB.insert(0, "Our ");
    Y.applyUpdate(a, Y.encodeStateAsUpdate(b, Y.encodeStateVector(a)));
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)));
    const onA = readThreads(commentsOf(a));
    expect(onA.map((t) => t.id)).toEqual(["ta", "tb"]);
    expect(readThreads(commentsOf(b)).map((t) => t.id)).toEqual(["ta", "tb"]);
    expect(onA.map((t) => liveAnchors(a, t)).map((r) => [r?.from.index, r?.to.index])).toEqual([
      [4, 10],
      [11, 15],
    ]);
  });
});
