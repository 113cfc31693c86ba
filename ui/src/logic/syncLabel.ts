import type { SyncStatus } from "../ipc";

export type Tone = "ok" | "busy" | "warn" | "local";

/** Whether the app is connected to the firm's server (what server-only features need). */
export function connectedToServer(status: SyncStatus): boolean {
  return status.mode === "synced" || status.mode === "syncing";
}

/**
 * What the status bar says about where the lawyer's work is. While this computer refuses to
 * save edits (`saveProblem`, e.g. a full disk) it never claims they are saved anywhere.
 */
export function syncLabel(status: SyncStatus, saveProblem: string | null = null): { text: string; tone: Tone } {
  if (saveProblem) return { text: "Some changes are not saved yet — see the message below", tone: "warn" };
  const changes = (n: number) => (n === 1 ? "1 change" : `${n} changes`);
  switch (status.mode) {
    case "synced":
      return { text: "Synced with the firm's server", tone: "ok" };
    case "syncing":
      return status.pending > 0
        ? { text: `Syncing ${changes(status.pending)}…`, tone: "busy" }
        : { text: "Syncing…", tone: "busy" };
    case "connecting":
      return { text: "Connecting to the firm's server…", tone: "busy" };
    case "offline":
      return {
        text:
          "You're offline — your changes are saved on this computer and will sync when you reconnect" +
          (status.pending > 0 ? ` (${changes(status.pending)} waiting)` : ""),
        tone: "warn",
      };
    case "paused":
      return {
        text:
          "Working offline — all changes saved to this computer" +
          (status.pending > 0 ? ` (${changes(status.pending)} to sync later)` : ""),
        tone: "local",
      };
    case "signed_out":
      return { text: "Signed out — all changes saved to this computer. Sign in to sync.", tone: "warn" };
    case "local":
      return { text: "All changes saved to this computer", tone: "local" };
  }
}
