/** Words in a text, as a word processor counts them (runs of non-space characters). */
export function wordCount(text: string): number {
  let count = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const space = code === 32 || code === 10 || code === 9 || code === 13 || code === 160;
    if (!space && !inWord) count++;
    inWord = !space;
  }
  return count;
}
