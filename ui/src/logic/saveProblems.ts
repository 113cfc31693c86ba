// Drafts whose local saves this computer is refusing, so the shell keeps the message up on every
// screen: a draft's retries go on after its editor is left, and so must the warning. Kept free of
// the editor's imports: the shell loads it at start-up.

type Listener = (message: string | null) => void;

const problems = new Map<string, string>();
const listeners = new Set<Listener>();

/** The message to show now (the oldest refused draft's), or null when every save went through. */
export function currentSaveProblem(): string | null {
  for (const message of problems.values()) return message;
  return null;
}

/** A draft's save queue reports its message, or null once the store accepted everything. */
export function reportSaveProblem(doc: string, message: string | null): void {
  if (message === null) problems.delete(doc);
  else problems.set(doc, message);
  const current = currentSaveProblem();
  for (const listener of listeners) listener(current);
}

/** Calls `listener` with every change of the current message; returns the unsubscribe. */
export function onSaveProblem(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
