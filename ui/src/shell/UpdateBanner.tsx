// "Update ready — restart to install" in every screen, once the firm's server offered an update
// and its signature checked out; and a refused update, said plainly (nothing was installed).
import { useEffect, useState } from "preact/hooks";
import { events, ipc, errorMessage, type UpdateState } from "../ipc";
import { whenAllSaved } from "../logic/closeGuard";

export function UpdateBanner() {
  const [state, setState] = useState<UpdateState>({ state: "idle" });
  const [error, setError] = useState<string | null>(null);
  const [dismissed, setDismissed] = useState(false);
  useEffect(() => {
    void ipc.updateStatus().then(setState).catch(() => undefined);
    const unlisten = events.updateState((next) => {
      setState(next);
      setDismissed(false);
    });
    return () => void unlisten.then((stop) => stop());
  }, []);
  if (state.state === "ready" || state.state === "installing") {
    return (
      <div class="notice update-banner" aria-live="polite" data-testid="update-ready" data-version={"version" in state ? state.version : ""}>
        {state.state === "ready"
          ? `Update ready — Lawyers Hub ${state.version}. Restart to install.`
          : `Installing Lawyers Hub ${state.version}…`}
        {error && <span class="error"> {error}</span>}
        <button
          class="primary"
          disabled={state.state === "installing"}
          onClick={() => {
            setError(null);
            // Every edit saved on this computer first; the app then waits for the server's acks.
            void whenAllSaved(() => void ipc.installUpdate().catch((e: unknown) => setError(errorMessage(e))));
          }}
          data-testid="update-install"
        >
          Restart to install
        </button>
      </div>
    );
  }
  if (state.state === "failed" && !dismissed) {
    return (
      <div class="warning update-banner" aria-live="polite" data-testid="update-error">
        <span data-testid="update-error-message">{state.message}</span>
        <button onClick={() => setDismissed(true)} data-testid="update-error-dismiss">
          Dismiss
        </button>
      </div>
    );
  }
  return null;
}
