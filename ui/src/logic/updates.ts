// How the state of updates reads in Settings and the top bar.
import type { UpdateState } from "../ipc";

export function updateLabel(state: UpdateState): { text: string; tone: "info" | "error" } {
  switch (state.state) {
    case "idle":
      return { text: "Not checked yet.", tone: "info" };
    case "off":
      return { text: state.reason, tone: "info" };
    case "checking":
      return { text: "Checking the firm's server…", tone: "info" };
    case "up_to_date":
      return { text: "Lawyers Hub is up to date.", tone: "info" };
    case "downloading":
      return { text: `Downloading Lawyers Hub ${state.version}…`, tone: "info" };
    case "ready":
      return { text: `Update ready — Lawyers Hub ${state.version}. Restart to install.`, tone: "info" };
    case "installing":
      return { text: `Installing Lawyers Hub ${state.version}…`, tone: "info" };
    case "failed":
      return { text: state.message, tone: "error" };
  }
}
