/** Split a search snippet (matches wrapped in U+0002 … U+0003) into plain and highlighted parts. */
export function snippetParts(snippet: string): { text: string; match: boolean }[] {
  const parts: { text: string; match: boolean }[] = [];
  let match = false;
  let current = "";
  for (const char of snippet) {
    if (char === "\u0002" || char === "\u0003") {
      if (current) parts.push({ text: current, match });
      current = "";
      match = char === "\u0002";
    } else {
      current += char;
    }
  }
  if (current) parts.push({ text: current, match });
  return parts;
}
