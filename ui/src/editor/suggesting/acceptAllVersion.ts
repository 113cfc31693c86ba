// docs/DRAFT_FORMAT.md: a version of kind "accept-all" is kept before accepting all suggestions,
// so what was accepted can always be looked at again. Plain entries appended to `versions`.
import * as Y from "yjs";

export function saveVersionBeforeAcceptAll(ydoc: Y.Doc, author: string, now: number = Date.now()): void {
  const versions = ydoc.getArray<Record<string, unknown>>("versions");
  let id = "";
  while (id.length < 12) id += Math.random().toString(36).slice(2);
  versions.push([
    {
      id: id.slice(0, 12),
      name: "Before accepting all suggestions",
      kind: "accept-all",
      author,
      created: now,
      snapshot: Y.encodeSnapshot(Y.snapshot(ydoc)),
    },
  ]);
}
