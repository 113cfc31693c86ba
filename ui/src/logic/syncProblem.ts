/**
 * The sentence shown when the server cannot be reached. The Rust side words the problem for a
 * lawyer and IT ("The certificate of hub.firm.com was issued by …, which this computer does not
 * trust"); the error's "connection failed: " prefix is dropped, and work goes on offline.
 */
export function syncProblemText(problem: string | null): string | null {
  if (!problem || problem.trim() === "") return null;
  const text = problem.replace(/^connection failed:\s*/i, "").trim();
  return `Cannot sync with your firm's server: ${text} Your work is saved on this computer and will sync once this is fixed.`;
}
