// Shell notices about the account this computer's data belongs to: a refusal to sync as another
// account, and the offer to upload matters made here before the first sign-in.
import { useEffect, useState } from "preact/hooks";
import { errorMessage, events, ipc } from "../ipc";
import { attachLabel, mismatchNotice, type LocalMatters } from "../logic/accounts";

export function AccountNotices({ mode }: { mode: string }) {
  const [mismatch, setMismatch] = useState<string | null>(null);
  const [local, setLocal] = useState<LocalMatters | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const unlisten = events.accountMismatch((refusal) => setMismatch(mismatchNotice(refusal)));
    return () => void unlisten.then((stop) => stop());
  }, []);
  // The store is bound at sign-in: look again whenever the sync state changes.
  useEffect(() => {
    ipc
      .localMatters()
      .then(setLocal)
      .catch((error: unknown) => setProblem(errorMessage(error)));
    if (mode === "synced" || mode === "syncing") setMismatch(null);
  }, [mode]);

  const label = local ? attachLabel(local) : null;
  const attach = () => {
    setBusy(true);
    ipc
      .attachLocalMatters()
      .then(() => ipc.localMatters().then(setLocal))
      .catch((error: unknown) => setProblem(errorMessage(error)))
      .finally(() => setBusy(false));
  };
  return (
    <>
      {mismatch && (
        <p class="error account-mismatch" role="alert" data-testid="account-mismatch">
          {mismatch}
        </p>
      )}
      {label && !mismatch && (
        <p class="notice local-matters" data-testid="local-matters">
          These matters were made on this computer before you signed in and are kept here only.{" "}
          <button disabled={busy} onClick={attach} data-testid="attach-local-matters">
            {label}
          </button>
        </p>
      )}
      {problem && <p class="error">{problem}</p>}
    </>
  );
}
