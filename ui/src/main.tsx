import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { App } from "./app";
import { ipc, errorMessage, type Lock } from "./ipc";
import { UnlockScreen } from "./shell/UnlockScreen";
import "./styles.css";

/** The app once this computer's data is open; until then, what it takes to open it. */
function Boot() {
  const [lock, setLock] = useState<Lock | null>(null);
  useEffect(() => {
    ipc
      .lockState()
      .then(setLock)
      .catch((error: unknown) => setLock({ state: "cannot_open", reason: errorMessage(error) }));
  }, []);
  if (!lock) return null;
  if (lock.state === "open") return <App />;
  return <UnlockScreen lock={lock} onOpened={setLock} />;
}

const root = document.getElementById("app");
if (root) render(<Boot />, root);
