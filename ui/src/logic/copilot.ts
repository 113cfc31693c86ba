import type { CopilotEvent, SyncStatus } from "../ipc";
import { connectedToServer } from "./syncLabel";

export interface Answer {
  text: string;
  state: "idle" | "streaming" | "done" | "error" | "stopped";
  error: string | null;
  tokens: number | null;
}

export const EMPTY_ANSWER: Answer = { text: "", state: "idle", error: null, tokens: null };

/** Fold one streamed event into the answer shown in the panel. */
export function applyEvent(answer: Answer, event: CopilotEvent): Answer {
  switch (event.event) {
    case "start":
      return { ...EMPTY_ANSWER, state: "streaming" };
    case "delta":
      return { ...answer, text: answer.text + String(event.data["text"] ?? "") };
    case "done": {
      const usage = event.data["usage"] as { total_tokens?: number } | undefined;
      return { ...answer, state: "done", tokens: usage?.total_tokens ?? null };
    }
    case "error":
      return { ...answer, state: "error", error: String(event.data["message"] ?? "The copilot failed.") };
    default:
      return answer;
  }
}

/** Why the copilot cannot be used right now (null: it can), from the sync state alone. */
export function offlineReason(status: SyncStatus): string | null {
  if (connectedToServer(status)) return null;
  switch (status.mode) {
    case "local":
      return "The copilot runs on your firm's server: set the server address in Settings.";
    case "signed_out":
      return "Sign in to your firm to use the copilot.";
    case "paused":
      return "You're working offline — switch off “Work offline” to use the copilot.";
    default:
      return "You're offline — the copilot needs the firm's server. Your draft is safe on this computer.";
  }
}

/** ProseMirror content for an answer: inline text for one paragraph, else paragraphs. */
export function answerContent(text: string): string | { type: "paragraph"; content?: { type: "text"; text: string }[] }[] {
  const trimmed = text.trim();
  const paragraphs = trimmed.split(/\n\s*\n|\n/).map((p) => p.trim()).filter(Boolean);
  if (paragraphs.length <= 1) return trimmed;
  return paragraphs.map((p) => ({ type: "paragraph" as const, content: [{ type: "text" as const, text: p }] }));
}

/** Where a lawyer allowed to fix why the copilot is unavailable goes to fix it. */
export interface CopilotFix {
  label: string;
  /** The AI settings screen (firm admins) or the matter page's consent (owners, admins). */
  target: "ai-settings" | "matter";
}

/**
 * The link under the copilot's "unavailable" message, for those allowed to fix it: the firm's
 * switch and quotas are firm admins'; the client's consent is the matter owners' (and admins').
 * Nothing for others, nor for a server without a model (that is IT's, outside the app).
 */
export function copilotFix(reasonCode: string | null, who: { role: string; firmAdmin: boolean }): CopilotFix | null {
  const owner = who.role === "owner" || who.firmAdmin;
  switch (reasonCode) {
    case "copilot_disabled":
      return who.firmAdmin ? { label: "Turn the copilot on in AI settings", target: "ai-settings" } : null;
    case "quota_exceeded":
      return who.firmAdmin ? { label: "See usage and limits in AI settings", target: "ai-settings" } : null;
    case "consent_required":
      return owner ? { label: "Record the client's consent on the matter page", target: "matter" } : null;
    default:
      return null;
  }
}
