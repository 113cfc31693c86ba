// docs/DRAFT_FORMAT.md: a version of kind "accept-all" is kept before accepting all suggestions,
// so what was accepted can always be looked at again.
import type * as Y from "yjs";
import { saveVersion } from "../versions";

export function saveVersionBeforeAcceptAll(ydoc: Y.Doc, author: string, now: number = Date.now()): void {
  saveVersion(ydoc, { name: "Before accepting all suggestions", kind: "accept-all", author }, now);
}
