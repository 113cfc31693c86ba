// @vitest-environment happy-dom
// The real editor (TipTap + y-prosemirror's sync plugin + these extensions) in a DOM, driven
// through the toolbar and panels by their data-testids, as the end-to-end tests will.
import { afterEach, describe, expect, it, vi } from "vitest";
import * as Y from "yjs";
import { h, render } from "preact";
import { Editor } from "@tiptap/core";
import Collaboration from "@tiptap/extension-collaboration";
import { yXmlFragmentToProseMirrorRootNode } from "@tiptap/y-tiptap";
import { draftingExtensions } from "./drafting";
import { DraftingToolbar } from "./DraftingToolbar";
import { CommentsPanel } from "./comments/CommentsPanel";
import { SuggestionsPanel } from "./suggesting/SuggestionsPanel";
import { SuggestionPopover } from "./suggesting/SuggestionPopover";
import { isSuggesting } from "./suggesting/SuggestChanges";
import { listSuggestions } from "./suggesting/suggestionList";
import { anchorsInText, commentsOf, createThread, readThreads } from "../logic/comments";
import { anchorsFor, bindingOf } from "./comments/anchors";
import { commentHighlightsKey } from "./comments/CommentHighlights";

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()?.();
});

function mount(ydoc: Y.Doc, author: string, canWrite = true) {
  const host = document.createElement("div");
  const side = document.createElement("div");
  document.body.append(host, side);
  const editor = new Editor({
    element: host,
    editable: canWrite,
    extensions: [...draftingExtensions(ydoc, () => author), Collaboration.configure({ document: ydoc, field: "default" })],
  });
  const who = { author, authorId: `${author}@firm.example` };
  render(
    h("div", null, [
      h(DraftingToolbar, { editor, canWrite, canComment: canWrite }),
      h(SuggestionPopover, { editor, canWrite }),
      h(CommentsPanel, { editor, ydoc, who, canWrite }),
      h(SuggestionsPanel, { editor, ydoc, canWrite, author }),
    ]),
    side,
  );
  cleanups.push(() => {
    render(null, side);
    editor.destroy();
    host.remove();
    side.remove();
  });
  const testid = (id: string) => side.querySelector<HTMLElement>(`[data-testid="${id}"]`);
  const click = async (id: string) => {
    await vi.waitFor(() => expect(testid(id)?.hasAttribute("disabled")).toBe(false));
    testid(id)!.click();
  };
  return { editor, host, side, testid, click };
}

/** A key with Ctrl (Cmd on a Mac) through the editor's keymaps, as the view hands it to them. */
function press(editor: Editor, init: KeyboardEventInit): void {
  const mac = /Mac|iP(hone|[oa]d)/.test(navigator.platform);
  const event = new KeyboardEvent("keydown", { ...init, ctrlKey: !mac, metaKey: mac, bubbles: true });
  editor.view.someProp("handleKeyDown", (handle) => handle(editor.view, event));
}

function withText(text: string): Y.Doc {
  const ydoc = new Y.Doc({ gc: false });
  const paragraph = new Y.XmlElement("paragraph");
  const ytext = new Y.XmlText();
  paragraph.insert(0, [ytext]);
  ydoc.getXmlFragment("default").insert(0, [paragraph]);
  ytext.insert(0, text);
  return ydoc;
}

describe("the drafting editor", () => {
  it("suggests through the toolbar switch, syncs the marks to Yjs, and accepts from the popover", async () => {
    const ydoc = withText("The Supplier shall deliver.");
    const { editor, host, testid, click } = mount(ydoc, "Jane Smith");
    await vi.waitFor(() => expect(editor.state.doc.textContent).toBe("The Supplier shall deliver."));
    await click("mode-suggesting");
    expect(isSuggesting(editor.state)).toBe(true);
    editor.chain().setTextSelection(20).insertContent("promptly ").run();
    expect(editor.state.doc.textContent).toBe("The Supplier shall promptly deliver.");
    const ins = host.querySelector<HTMLElement>("ins.suggestion");
    expect(ins?.textContent).toBe("promptly ");
    expect(ins?.getAttribute("data-suggestion-id")).toMatch(/^s:\d+:[a-z0-9]+:Jane Smith$/);
    expect(ins?.title).toContain("Inserted by Jane Smith");
    // In Yjs: the insertion mark is a formatting attribute of the text.
    const ytext = (ydoc.getXmlFragment("default").get(0) as Y.XmlElement).get(0) as Y.XmlText;
    expect(ytext.toDelta().some((d: { attributes?: Record<string, unknown> }) => d.attributes?.insertion)).toBe(true);

    // The panel counts it under its author.
    await vi.waitFor(() => expect(testid("author-count")?.textContent).toBe("1"));

    ins!.dispatchEvent(new MouseEvent("click", { bubbles: true }));
    await click("accept-suggestion");
    expect(listSuggestions(editor.state.doc)).toEqual([]);
    expect(editor.state.doc.textContent).toBe("The Supplier shall promptly deliver.");
    expect(ytext.toDelta().some((d: { attributes?: Record<string, unknown> }) => d.attributes?.insertion)).toBe(false);
  });

  it("never turns remote edits into suggestions", async () => {
    const ydoc = withText("Alpha");
    const { editor, click } = mount(ydoc, "Jane Smith");
    await vi.waitFor(() => expect(editor.state.doc.textContent).toBe("Alpha"));
    await click("mode-suggesting");
    const other = new Y.Doc({ gc: false });
    Y.applyUpdate(other, Y.encodeStateAsUpdate(ydoc));
    ((other.getXmlFragment("default").get(0) as Y.XmlElement).get(0) as Y.XmlText).insert(5, " Beta");
    Y.applyUpdate(ydoc, Y.encodeStateAsUpdate(other, Y.encodeStateVector(ydoc)), "remote");
    await vi.waitFor(() => expect(editor.state.doc.textContent).toBe("Alpha Beta"));
    expect(listSuggestions(editor.state.doc)).toEqual([]);
  });

  it("keeps a suggested table through a reload from Yjs, and rejects it", async () => {
    const ydoc = withText("Before");
    const first = mount(ydoc, "Ben");
    await vi.waitFor(() => expect(first.editor.state.doc.textContent).toBe("Before"));
    await first.click("mode-suggesting");
    first.editor.commands.setTextSelection(7);
    await first.click("table-insert");
    const table = first.editor.state.doc.child(1);
    expect(table.type.name).toBe("table");
    expect(table.marks.map((m) => m.type.name)).toEqual(["insertion"]);
    const stored = yXmlFragmentToProseMirrorRootNode(ydoc.getXmlFragment("default"), first.editor.schema).child(1);
    expect(stored.attrs.suggestionMarks).toEqual([{ type: "insertion", attrs: { id: table.marks[0]?.attrs.id } }]);

    // Another session opens the same document: the node mark is back.
    const second = mount(ydoc, "Jane Smith");
    await vi.waitFor(() => expect(second.editor.state.doc.child(1).marks.map((m) => m.type.name)).toEqual(["insertion"]));
    await vi.waitFor(() => expect(second.testid("reject-author")).not.toBeNull());
    second.testid("reject-author")!.click();
    const tables = (editor: Editor) => editor.state.doc.content.content.filter((node) => node.type.name === "table").length;
    await vi.waitFor(() => expect(tables(second.editor)).toBe(0));
    await vi.waitFor(() => expect(tables(first.editor)).toBe(0));
    expect(first.editor.state.doc.child(0).textContent).toBe("Before");
    expect(listSuggestions(first.editor.state.doc)).toEqual([]);
  });

  it("comments on the selection, highlights it, replies, resolves, and detaches when deleted", async () => {
    const ydoc = withText("The Supplier shall deliver.");
    const { editor, host, side, testid, click } = mount(ydoc, "Jane Smith");
    await vi.waitFor(() => expect(editor.state.doc.textContent).toBe("The Supplier shall deliver."));
    editor.commands.setTextSelection({ from: 5, to: 13 });
    // Ctrl+Alt+M (Cmd+Alt+M on a Mac) opens the composer, as the toolbar button does.
    // (Pressed until the panel, mounted just now, has started listening.)
    await vi.waitFor(() => {
      press(editor, { key: "m", altKey: true });
      expect(testid("comment-body")).not.toBeNull();
    });
    await click("comment-cancel");
    await vi.waitFor(() => expect(testid("comment-body")).toBeNull());
    await click("add-comment");
    await vi.waitFor(() => expect(testid("comment-body")).not.toBeNull());
    const body = testid("comment-body") as HTMLTextAreaElement;
    body.value = "Which entity?";
    body.dispatchEvent(new Event("input", { bubbles: true }));
    await click("comment-submit");
    const [thread] = readThreads(commentsOf(ydoc));
    expect(thread).toMatchObject({ quote: "Supplier", body: "Which entity?", author: "Jane Smith", authorId: "Jane Smith@firm.example" });
    await vi.waitFor(() => expect(host.querySelector(".comment-highlight")?.textContent).toBe("Supplier"));

    const reply = testid("reply-body") as HTMLTextAreaElement;
    reply.value = "Acme Ltd.";
    reply.dispatchEvent(new Event("input", { bubbles: true }));
    await click("reply-submit");
    await vi.waitFor(() => expect(side.querySelectorAll('[data-testid="comment-reply"]').length).toBe(1));

    // A reply box only on the thread in hand; another thread's Reply opens (and focuses) its own.
    const binding = bindingOf(editor.state)!;
    createThread(commentsOf(ydoc), { ...anchorsFor(binding, 15, 20), quote: "deliv", body: "When?" }, { author: "Ann", authorId: "" });
    await vi.waitFor(() => expect(side.querySelectorAll('[data-testid="comment-thread"]').length).toBe(2));
    expect(side.querySelectorAll('[data-testid="reply-body"]').length).toBe(1);
    const other = [...side.querySelectorAll('[data-testid="comment-thread"]')].find((t) => t.textContent?.includes("When?"))!;
    (other.querySelector('[data-testid="reply-thread"]') as HTMLButtonElement).click();
    await vi.waitFor(() => expect(other.querySelector('[data-testid="reply-body"]')).not.toBeNull());
    expect(side.querySelectorAll('[data-testid="reply-body"]').length).toBe(1);
    expect(document.activeElement).toBe(other.querySelector('[data-testid="reply-body"]'));
    commentsOf(ydoc).delete(other.getAttribute("data-thread-id")!);
    await vi.waitFor(() => expect(side.querySelectorAll('[data-testid="comment-thread"]').length).toBe(1));

    // Deleting the text leaves the thread, detached, with its quote.
    editor.chain().setTextSelection({ from: 5, to: 14 }).deleteSelection().run();
    await vi.waitFor(() => expect(testid("comment-thread")?.getAttribute("data-detached")).toBe("true"));
    expect(testid("comment-quote")?.textContent).toBe("Supplier");

    await click("resolve-thread");
    expect(readThreads(commentsOf(ydoc))[0]?.resolved).toBe(true);
    await vi.waitFor(() => expect(testid("comment-thread")).toBeNull());
  });

  it("draws hundreds of threads a screenful at a time, as the end of the list comes into view", async () => {
    // The browser's IntersectionObserver, driven by the test: `seen()` tells every observer
    // that what it watches came into view.
    const observers = new Set<{ callback: IntersectionObserverCallback; target?: Element }>();
    class FakeObserver {
      private readonly entry: { callback: IntersectionObserverCallback; target?: Element };
      constructor(callback: IntersectionObserverCallback) {
        this.entry = { callback };
        observers.add(this.entry);
      }
      observe(target: Element) {
        this.entry.target = target;
      }
      disconnect() {
        observers.delete(this.entry);
      }
    }
    vi.stubGlobal("IntersectionObserver", FakeObserver);
    cleanups.push(() => vi.unstubAllGlobals());
    const seen = () => {
      for (const { callback, target } of [...observers])
        if (target) callback([{ isIntersecting: true, target } as unknown as IntersectionObserverEntry], {} as IntersectionObserver);
    };
    const words = Array.from({ length: 300 }, (_, i) => `w${String(i).padStart(3, "0")}`);
    const ydoc = withText(words.join(" "));
    const text = (ydoc.getXmlFragment("default").get(0) as Y.XmlElement).get(0) as Y.XmlText;
    for (let i = 0; i < 300; i++)
      createThread(commentsOf(ydoc), { ...anchorsInText(text, i * 5, i * 5 + 4), quote: words[i] ?? "", body: `Point ${i}` }, { author: "Ann", authorId: "" });
    const { side, host } = mount(ydoc, "Jane Smith");
    const drawn = () => side.querySelectorAll('[data-testid="comment-thread"]').length;
    expect(drawn()).toBe(40);
    expect(side.querySelector('[data-testid="comment-more"]')?.textContent).toBe("260 more…");
    // Nothing more until the end of the list is in view.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(drawn()).toBe(40);
    seen();
    await vi.waitFor(() => expect(drawn()).toBe(80));
    // A thread further down, clicked in the draft, is drawn and becomes the active one.
    const last = readThreads(commentsOf(ydoc)).at(-1)!;
    await vi.waitFor(() => expect(host.querySelector(`[data-thread-id="${last.id}"]`)).not.toBeNull());
    host.querySelector(`[data-thread-id="${last.id}"]`)!.dispatchEvent(new MouseEvent("click", { bubbles: true }));
    await vi.waitFor(() => expect(side.querySelector(`[data-thread-id="${last.id}"]`)?.classList.contains("active")).toBe(true));
    expect(drawn()).toBe(300);
    expect(side.querySelector('[data-testid="comment-more"]')).toBeNull();
  });

  it("inserts a page break with Ctrl+Enter and the toolbar, footnotes and placeholders render", async () => {
    const ydoc = withText("One");
    const { editor, host, click } = mount(ydoc, "Jane Smith");
    await vi.waitFor(() => expect(editor.state.doc.textContent).toBe("One"));
    editor.commands.setTextSelection(4);
    press(editor, { key: "Enter" });
    expect(editor.state.doc.child(1).type.name).toBe("pageBreak");
    await click("page-break");
    expect(host.querySelectorAll(".page-break").length).toBe(2);
    editor.commands.insertContentAt(1, [
      { type: "footnote", attrs: { text: "See clause 2." } },
      { type: "placeholder", attrs: { kind: "image", label: "Signature" } },
    ]);
    expect(host.querySelector("sup.footnote")?.getAttribute("title")).toBe("See clause 2.");
    expect(host.querySelector(".placeholder-chip")?.textContent).toBe("[Image: Signature]");
  });

  it("maps comment highlights through local typing and re-resolves anchors only for Yjs changes", async () => {
    const ydoc = withText("The Supplier shall deliver.");
    const { editor, host } = mount(ydoc, "Jane Smith");
    await vi.waitFor(() => expect(editor.state.doc.textContent).toBe("The Supplier shall deliver."));
    const binding = bindingOf(editor.state)!;
    createThread(commentsOf(ydoc), { ...anchorsFor(binding, 5, 13), quote: "Supplier", body: "?" }, { author: "J", authorId: "" });
    await vi.waitFor(() => expect(host.querySelector(".comment-highlight")?.textContent).toBe("Supplier"));
    const generation = () => commentHighlightsKey.getState(editor.state)!.generation;
    const before = generation();
    // Local keystrokes: mapped, no anchor lookups.
    editor.chain().setTextSelection(1).insertContent("Now ").run();
    editor.chain().setTextSelection(editor.state.doc.content.size - 1).insertContent(" soon").run();
    expect(generation()).toBe(before);
    expect(host.querySelector(".comment-highlight")?.textContent).toBe("Supplier");
    // A change from another computer: resolved again from the anchors.
    const other = new Y.Doc({ gc: false });
    Y.applyUpdate(other, Y.encodeStateAsUpdate(ydoc));
    ((other.getXmlFragment("default").get(0) as Y.XmlElement).get(0) as Y.XmlText).insert(0, "Remote. ");
    Y.applyUpdate(ydoc, Y.encodeStateAsUpdate(other, Y.encodeStateVector(ydoc)), "remote");
    await vi.waitFor(() => expect(generation()).toBeGreaterThan(before));
    expect(host.querySelector(".comment-highlight")?.textContent).toBe("Supplier");
  });

  it("lets a viewer read but not edit, accept or comment", async () => {
    const ydoc = withText("Text");
    const { editor, testid } = mount(ydoc, "Vera", false);
    await vi.waitFor(() => expect(editor.state.doc.textContent).toBe("Text"));
    expect(editor.isEditable).toBe(false);
    expect(testid("mode-suggesting")?.hasAttribute("disabled")).toBe(true);
    expect(testid("add-comment")?.hasAttribute("disabled")).toBe(true);
    expect(testid("default-mode")?.hasAttribute("disabled")).toBe(true);
    expect(testid("comments-panel")).not.toBeNull();
  });
});
