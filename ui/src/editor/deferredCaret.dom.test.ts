// @vitest-environment happy-dom
// Our caret reaches collaborators after the keystroke's frame is painted (deferredCaret.ts), and
// every keystroke's caret still gets there: the last one of a frame is what they see.
import { afterEach, expect, it, vi } from "vitest";
import * as Y from "yjs";
import { Awareness } from "y-protocols/awareness";
import { Editor } from "@tiptap/core";
import Collaboration from "@tiptap/extension-collaboration";
import { relativePositionToAbsolutePosition, ySyncPluginKey, type ProsemirrorBinding } from "@tiptap/y-tiptap";
import { draftingExtensions } from "./drafting";
import { DeferredCollaborationCaret } from "./deferredCaret";

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

it("tells collaborators where our caret is once the frame is painted, one update a frame", async () => {
  vi.useFakeTimers();
  vi.stubGlobal("requestAnimationFrame", (callback: FrameRequestCallback) => setTimeout(() => callback(Date.now()), 16));
  const ydoc = new Y.Doc();
  const awareness = new Awareness(ydoc);
  const host = document.createElement("div");
  document.body.append(host);
  const editor = new Editor({
    element: host,
    extensions: [
      ...draftingExtensions(ydoc, () => "Me"),
      Collaboration.configure({ document: ydoc, field: "default" }),
      DeferredCollaborationCaret.configure({ provider: { awareness }, user: { name: "Me", color: "#b3261e" } }),
    ],
  });
  editor.commands.setContent("<p>Heads of terms</p><p>Subject to contract</p>");
  editor.commands.focus(3);
  await vi.advanceTimersByTimeAsync(50);
  let updates = 0;
  awareness.on("update", () => updates++);
  const caret = () => {
    const cursor = (awareness.getLocalState() as { cursor?: { head: unknown } } | null)?.cursor;
    const sync = ySyncPluginKey.getState(editor.state) as { type: Y.XmlFragment; binding: ProsemirrorBinding };
    return cursor
      ? relativePositionToAbsolutePosition(ydoc, sync.type, Y.createRelativePositionFromJSON(cursor.head), sync.binding.mapping)
      : null;
  };
  const before = caret();
  expect(before).toBe(3);

  editor.view.dispatch(editor.state.tr.insertText("x"));
  editor.view.dispatch(editor.state.tr.insertText("y"));
  // Inside the keystrokes' own work: not yet.
  expect(updates).toBe(0);
  expect(caret()).toBe(3);
  await vi.advanceTimersByTimeAsync(20);
  // After the frame: once, with the caret after both letters.
  expect(updates).toBe(1);
  expect(caret()).toBe(5);
  editor.destroy();
});
