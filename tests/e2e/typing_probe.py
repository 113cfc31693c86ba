#!/usr/bin/env python3
"""Where the editor's per-keystroke edit time goes (issue 18's typing p99; docs/BENCHMARKS.md,
"Session 18"). In the release app, 300 real keystrokes in the middle of the 1,500-paragraph
draft, timing in the page: `dispatch` (the whole transaction), `apply` (EditorState's
applyTransaction: every plugin's state), `update` (view.updateState: ProseMirror's DOM update
and the plugin views, y-sync writing the change into Yjs among them), `transact` (every Yjs
transaction, nested ones included) and `yemit` (the Yjs 'update' event: the save queue's
hand-off to Rust). The page's clock has 1 ms resolution: read the means. Run with the
environment scripts/bench-app sets:

  HUB_APP=$CARGO_TARGET_DIR/release/lawyers-hub HUB_SERVER_BIN=/bin/false \
  TAURI_DRIVER="$(scripts/setup --tauri-driver-path)" HOME="$(mktemp -d)" \
  dbus-run-session -- xvfb-run -a -s "-screen 0 1280x800x24" /usr/bin/python3 tests/e2e/typing_probe.py
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import app_bench as b  # noqa: E402
e2e = b.e2e
subprocess.run("echo -n bench | gnome-keyring-daemon --unlock --components=secrets >/dev/null", shell=True, check=True)
data = os.path.join(e2e.WORK, "probe")
app = b.start_app(data)
b.MATTERS = 3  # seed() reads the module global: three matters are enough here
b.seed(app)
app.quit()
app = b.start_app(data)
app.click_text("[data-testid=cases] td", "Matter 0 ")
b.new_draft(app, "Probe")
b.fill_draft(app)
app.js("""
const { editor, ydoc } = window.__hub;
const view = editor.view;
const T = window.__probe = { apply: [], update: [], yemit: [], dispatch: [], transact: [] };
const tx = ydoc.transact.bind(ydoc);
ydoc.transact = (f, o) => { const t = performance.now(); const r = tx(f, o); T.transact.push(performance.now() - t); return r; };
const proto = Object.getPrototypeOf(view.state);
const applyTr = proto.applyTransaction;
proto.applyTransaction = function (tr) { const t = performance.now(); const r = applyTr.call(this, tr); if (tr.docChanged) T.apply.push(performance.now() - t); return r; };
const upd = view.updateState.bind(view);
view.updateState = (s) => { const t = performance.now(); upd(s); T.update.push(performance.now() - t); };
const emit = ydoc.emit.bind(ydoc);
ydoc.emit = (name, args) => { if (name !== 'update') return emit(name, args); const t = performance.now(); emit(name, args); T.yemit.push(performance.now() - t); };
const d = view.dispatch.bind(view);
view.dispatch = (tr) => { const t = performance.now(); d(tr); if (tr.docChanged) T.dispatch.push(performance.now() - t); };
window.__bench.timeKeys(view.dom);
""")
time.sleep(1)
b.type_keys(app)
r = app.js("return window.__probe")


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))] if xs else float("nan")


for k, xs in r.items():
    print(f"{k}: n={len(xs)} mean {sum(xs)/max(1,len(xs)):.2f} p50 {pct(xs,.5):.2f} p90 {pct(xs,.9):.2f} p99 {pct(xs,.99):.2f} max {max(xs) if xs else 0:.2f} ms")
app.quit()
