// Shown instead of the app when this computer's data cannot be opened yet: no usable system
// keychain (protect the data with a passphrase instead), a keychain that refuses now, or any
// other failure, explained. The window always opens; the app never just crashes.
import { useState } from "preact/hooks";
import { ipc, errorMessage, type Lock } from "../ipc";
import { passphraseProblem } from "../logic/passphrase";

export function UnlockScreen({ lock, onOpened }: { lock: Exclude<Lock, { state: "open" }>; onOpened: (next: Lock) => void }) {
  const [passphrase, setPassphrase] = useState("");
  const [again, setAgain] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = (create: boolean) => {
    const problem = create ? passphraseProblem(passphrase, again) : null;
    if (problem) {
      setError(problem);
      return;
    }
    setBusy(true);
    setError(null);
    ipc
      .unlock(passphrase, create)
      .then(onOpened)
      .catch((e: unknown) => setError(errorMessage(e)))
      .finally(() => setBusy(false));
  };

  return (
    <div class="unlock-screen" data-testid="unlock-screen" data-lock={lock.state}>
      <h1>Lawyers Hub</h1>
      {lock.state === "needs_passphrase" && lock.has_passphrase && (
        <form
          class="card"
          onSubmit={(e) => {
            e.preventDefault();
            submit(false);
          }}
        >
          <h2>Enter your passphrase</h2>
          <p>Your matters and drafts on this computer are protected by a passphrase.</p>
          <label class="field">
            Passphrase
            <input type="password" value={passphrase} autoFocus onInput={(e) => setPassphrase(e.currentTarget.value)} data-testid="unlock-passphrase" />
          </label>
          {error && <p class="error" data-testid="unlock-error">{error}</p>}
          <div class="actions">
            <button class="primary" type="submit" disabled={busy || passphrase.length === 0} data-testid="unlock-submit">
              {busy ? "Opening…" : "Open"}
            </button>
          </div>
        </form>
      )}
      {lock.state === "needs_passphrase" && !lock.has_passphrase && (
        <form
          class="card"
          onSubmit={(e) => {
            e.preventDefault();
            submit(true);
          }}
        >
          <h2>Protect your data with a passphrase</h2>
          <p>
            Lawyers Hub keeps your matters and drafts on this computer encrypted. Its key normally goes in the system
            keychain, but this computer's keychain cannot be used:
          </p>
          <p class="hint" data-testid="unlock-reason">{lock.reason}</p>
          <p>
            Choose a passphrase instead. You will enter it each time Lawyers Hub starts. It cannot be recovered: if it
            is lost, work that has reached the firm's server is safe there, but anything only on this computer is not.
          </p>
          <label class="field">
            Passphrase (at least 10 characters)
            <input type="password" value={passphrase} autoFocus onInput={(e) => setPassphrase(e.currentTarget.value)} data-testid="unlock-passphrase" />
          </label>
          <label class="field">
            The same passphrase again
            <input type="password" value={again} onInput={(e) => setAgain(e.currentTarget.value)} data-testid="unlock-passphrase-again" />
          </label>
          {error && <p class="error" data-testid="unlock-error">{error}</p>}
          <div class="actions">
            <button class="primary" type="submit" disabled={busy} data-testid="unlock-create">
              {busy ? "Protecting…" : "Protect and open"}
            </button>
          </div>
        </form>
      )}
      {lock.state === "keychain_refused" && (
        <div class="card">
          <h2>Your keychain is locked</h2>
          <p>
            The key to your Lawyers Hub data is in the system keychain, which refused to give it. Unlock the keychain
            (your login keyring), then try again.
          </p>
          <p class="hint" data-testid="unlock-reason">{lock.reason}</p>
          {error && <p class="error" data-testid="unlock-error">{error}</p>}
          <div class="actions">
            <button
              class="primary"
              disabled={busy}
              onClick={() => {
                setBusy(true);
                ipc
                  .retryKeychain()
                  .then(onOpened)
                  .catch((e: unknown) => setError(errorMessage(e)))
                  .finally(() => setBusy(false));
              }}
              data-testid="unlock-retry"
            >
              Try again
            </button>
          </div>
        </div>
      )}
      {lock.state === "cannot_open" && (
        <div class="card">
          <h2>Lawyers Hub cannot open your data</h2>
          <p class="error" data-testid="unlock-reason">{lock.reason}</p>
          <p>Nothing was changed. Copy the details below for your help desk.</p>
          <div class="actions">
            <button onClick={() => void ipc.diagnostics().then((text) => setError(text))} data-testid="unlock-diagnostics">
              Show diagnostics
            </button>
          </div>
          {error && <pre class="diagnostics">{error}</pre>}
        </div>
      )}
    </div>
  );
}
