// Bring the other side's Word file into the matter as a new draft: a file picker, or drop the
// file anywhere on the matter page. The file's bytes go to Rust, which parses it (bounded,
// with clear refusals) and writes the draft; the lawyer then sees what was found and anything
// that came in only as a placeholder.
import { useEffect, useRef, useState } from "preact/hooks";
import { ipc, errorMessage, type ImportReport } from "../ipc";
import { isWordFile, reportSummary } from "../logic/importReport";

interface Props {
  caseId: string;
  /** Drops anywhere inside this element import too. */
  dropTarget: HTMLElement | null;
  onImported: (doc: string) => void;
  canImport: boolean;
}

export function ImportWord({ caseId, dropTarget, onImported, canImport }: Props) {
  const input = useRef<HTMLInputElement>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<{ doc: string; report: ImportReport } | null>(null);
  const [dragging, setDragging] = useState(false);

  const importFile = async (file: File) => {
    setError(null);
    setDone(null);
    if (!isWordFile(file.name)) {
      setError(`“${file.name}” is not a Word file (.docx). Save it as .docx in Word and import that.`);
      return;
    }
    setBusy(file.name);
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      const imported = await ipc.importDocx(caseId, file.name, bytes);
      setDone(imported);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(null);
    }
  };

  useEffect(() => {
    if (!dropTarget || !canImport) return;
    const over = (e: DragEvent) => {
      if (!e.dataTransfer?.types.includes("Files")) return;
      e.preventDefault();
      setDragging(true);
    };
    const leave = (e: DragEvent) => {
      if (e.target === dropTarget) setDragging(false);
    };
    const drop = (e: DragEvent) => {
      const file = e.dataTransfer?.files[0];
      setDragging(false);
      if (!file) return;
      e.preventDefault();
      void importFile(file);
    };
    dropTarget.addEventListener("dragover", over);
    dropTarget.addEventListener("dragleave", leave);
    dropTarget.addEventListener("drop", drop);
    return () => {
      dropTarget.removeEventListener("dragover", over);
      dropTarget.removeEventListener("dragleave", leave);
      dropTarget.removeEventListener("drop", drop);
    };
  }, [dropTarget, caseId, canImport]);

  if (!canImport) return null;
  return (
    <div class={dragging ? "import-word dragging" : "import-word"}>
      <input
        ref={input}
        type="file"
        accept=".docx,application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        style={{ display: "none" }}
        data-testid="import-docx-input"
        onChange={(e) => {
          const file = e.currentTarget.files?.[0];
          e.currentTarget.value = "";
          if (file) void importFile(file);
        }}
      />
      <button onClick={() => input.current?.click()} disabled={busy !== null} data-testid="import-docx">
        {busy ? `Importing ${busy}…` : "Import Word file…"}
      </button>
      <span class="muted"> or drop a .docx on this page</span>
      {error && (
        <p class="error" role="alert" data-testid="import-error">
          {error}
        </p>
      )}
      {done && (
        <div class="import-report" data-testid="import-report">
          <p>
            <strong>{done.report.title}</strong> was imported: {reportSummary(done.report)}.
          </p>
          {done.report.placeholders.length > 0 && (
            <>
              <p>These could not be brought in as they are and are marked in the draft:</p>
              <ul>
                {done.report.placeholders.map((p, i) => (
                  <li key={i}>
                    {p.kind}: {p.label} ({p.location})
                  </li>
                ))}
              </ul>
            </>
          )}
          {done.report.warnings.length > 0 && (
            <ul class="warnings">
              {done.report.warnings.map((w, i) => (
                <li key={i}>{w}</li>
              ))}
            </ul>
          )}
          <button onClick={() => onImported(done.doc)} data-testid="open-imported">
            Open the draft
          </button>
        </div>
      )}
    </div>
  );
}
