/** Words in a text, as a word processor counts them (runs of non-space characters). */
export function wordCount(text: string): number {
  let count = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    // U+200B: the zero-width space a suggested paragraph split or join leaves as its marker.
    const space = code === 32 || code === 10 || code === 9 || code === 13 || code === 160 || code === 0x200b;
    if (!space && !inWord) count++;
    inWord = !space;
  }
  return count;
}

/** What `docWordCount` needs of a ProseMirror node. */
export interface TextNode {
  readonly childCount: number;
  readonly content: { readonly size: number };
  child(index: number): TextNode;
  textBetween(from: number, to: number, blockSeparator?: string, leafText?: string): string;
}

/**
 * Words in a document, as `wordCount(editor.getText({ blockSeparator: "\n" }))` counts them,
 * reading only the top-level blocks that changed: ProseMirror keeps an unchanged node the same
 * object from one version to the next, so `cache` (keyed by node) answers for the rest. In a
 * 100-page draft this is a lookup per block instead of re-reading 300,000 characters.
 */
export function docWordCount(doc: TextNode, cache: WeakMap<object, number>): number {
  let total = 0;
  for (let i = 0; i < doc.childCount; i++) {
    const block = doc.child(i);
    let words = cache.get(block);
    if (words === undefined) {
      words = wordCount(block.textBetween(0, block.content.size, "\n", "\n"));
      cache.set(block, words);
    }
    total += words;
  }
  return total;
}
