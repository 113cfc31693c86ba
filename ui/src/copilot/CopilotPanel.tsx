// The drafting assistant beside the editor. The firm's server holds the model key and checks
// access, consent and quota; answers stream in and are applied to the draft as ordinary edits
// (so they sync to collaborators and undo like typing).
import { useEffect, useRef, useState } from "preact/hooks";
import type { Editor } from "@tiptap/core";
import { ipc, errorMessage, type CopilotAction, type CopilotAvailability, type SyncStatus } from "../ipc";
import { EMPTY_ANSWER, answerContent, applyEvent, copilotFix, offlineReason, type Answer } from "../logic/copilot";
import type { Route } from "../app";

interface Props {
  caseId: string;
  editor: Editor | null;
  status: SyncStatus;
  /** The lawyer's role in the matter and whether they are a firm admin: who may fix what. */
  role: string;
  firmAdmin: boolean;
  navigate: (route: Route) => void;
}

export function CopilotPanel({ caseId, editor, status, role, firmAdmin, navigate }: Props) {
  const [availability, setAvailability] = useState<CopilotAvailability | null>(null);
  const [checkError, setCheckError] = useState<string | null>(null);
  const [instruction, setInstruction] = useState("");
  const [answer, setAnswer] = useState<Answer>(EMPTY_ANSWER);
  const [running, setRunning] = useState<number | null>(null);
  // The selection the answer was asked about, so "Replace selection" replaces exactly that.
  const asked = useRef<{ from: number; to: number } | null>(null);
  const connected = offlineReason(status) === null;

  const check = () => {
    if (!connected) return;
    ipc
      .copilotAvailability(caseId)
      .then((found) => {
        setAvailability(found);
        setCheckError(null);
      })
      .catch((e: unknown) => setCheckError(errorMessage(e)));
  };
  useEffect(check, [caseId, connected]);

  const reason = offlineReason(status) ?? checkError ?? (availability && !availability.available ? availability.message : null);
  const ready = reason === null && availability !== null && editor !== null;
  const fix = availability && !availability.available ? copilotFix(availability.reason_code, { role, firmAdmin }) : null;

  const ask = (action: CopilotAction) => {
    if (!editor) return;
    const { from, to } = editor.state.selection;
    const selected = editor.state.doc.textBetween(from, to, "\n");
    if (action === "redraft" && !selected.trim()) {
      setAnswer({ ...EMPTY_ANSWER, state: "error", error: "Select the text you want redrafted first." });
      return;
    }
    if (action === "draft_clause" && !instruction.trim()) {
      setAnswer({ ...EMPTY_ANSWER, state: "error", error: "Say what the clause should do, e.g. “an indemnity for data breaches”." });
      return;
    }
    asked.current = { from, to };
    const text = action === "redraft" ? selected : editor.getText({ blockSeparator: "\n" });
    setAnswer({ ...EMPTY_ANSWER, state: "streaming" });
    ipc
      .copilotChat(
        { case_id: caseId, action, text, ...(instruction.trim() ? { instruction: instruction.trim() } : {}) },
        (event) => {
          setAnswer((current) => applyEvent(current, event));
          if (event.event === "done" || event.event === "error") setRunning(null);
        },
      )
      .then(setRunning)
      .catch((e: unknown) => {
        setAnswer({ ...EMPTY_ANSWER, state: "error", error: errorMessage(e) });
        setRunning(null);
      });
  };

  const stop = () => {
    if (running !== null) void ipc.copilotStop(running);
    setRunning(null);
    setAnswer((current) => ({ ...current, state: "stopped" }));
  };

  const apply = (replace: boolean) => {
    if (!editor || !answer.text.trim()) return;
    const content = answerContent(answer.text);
    const range = asked.current;
    if (replace && range && range.to > range.from) editor.chain().focus().insertContentAt(range, content).run();
    else editor.chain().focus().insertContent(content).run();
  };

  const busy = answer.state === "streaming";
  return (
    <aside class="copilot card" data-testid="copilot">
      <h2>Copilot</h2>
      {reason ? (
        <p class="hint" data-testid="copilot-reason">
          {reason}
        </p>
      ) : availability === null ? (
        <p class="hint">Checking with the firm's server…</p>
      ) : (
        <p class="hint">Answers come from {availability.model} through your firm's server. Check them before you rely on them.</p>
      )}
      {fix && connected && (
        <button
          class="link"
          data-testid="copilot-fix"
          onClick={() => navigate(fix.target === "ai-settings" ? { screen: "ai" } : { screen: "case", caseId })}
        >
          {fix.label}
        </button>
      )}
      <label class="field">
        Instruction (optional for redrafts)
        <input
          value={instruction}
          placeholder="more formal · shorter · as an indemnity clause"
          onInput={(e) => setInstruction(e.currentTarget.value)}
          data-testid="copilot-instruction"
        />
      </label>
      <div class="copilot-actions">
        <button disabled={!ready || busy} onClick={() => ask("summarize")} data-testid="copilot-summarize">
          Summarize this draft
        </button>
        <button disabled={!ready || busy} onMouseDown={(e) => e.preventDefault()} onClick={() => ask("redraft")} data-testid="copilot-redraft">
          Redraft selection
        </button>
        <button disabled={!ready || busy} onClick={() => ask("draft_clause")} data-testid="copilot-clause">
          Draft a clause
        </button>
        <button disabled={!ready || busy} onClick={() => ask("review_risks")} data-testid="copilot-risks">
          Review for risks
        </button>
      </div>
      {answer.state !== "idle" && (
        <div class="answer" data-testid="copilot-answer" data-state={answer.state}>
          <pre>{answer.text}</pre>
          {answer.error && <p class="error">{answer.error}</p>}
          {answer.state === "stopped" && <p class="hint">Stopped.</p>}
          {answer.tokens !== null && <p class="hint">{answer.tokens} tokens</p>}
          <div class="actions">
            {busy && (
              <button onClick={stop} data-testid="copilot-stop">
                Stop
              </button>
            )}
            {!busy && answer.text.trim() && (
              <>
                <button onMouseDown={(e) => e.preventDefault()} onClick={() => apply(false)} data-testid="copilot-insert">
                  Insert
                </button>
                <button onMouseDown={(e) => e.preventDefault()} onClick={() => apply(true)} data-testid="copilot-replace">
                  Replace selection
                </button>
              </>
            )}
          </div>
        </div>
      )}
    </aside>
  );
}
