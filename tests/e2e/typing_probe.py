#!/usr/bin/env python3
"""Where the editor's per-keystroke time goes (issue 18's typing p99; docs/BENCHMARKS.md,
"Session 19"). In the release app, 300 real keystrokes in the middle of the 1,500-paragraph
draft, each wrapped function timed in the page, and printed per keystroke (its total over the
run / 300), largest first:

- `dispatch(doc)`: the keystroke's transaction; inside it `applyTransaction` (every plugin's
  state) and `updateState` (ProseMirror's view update), in which `docView.update` (the DOM),
  `view.scrollToSelection` and each plugin view (`pv:<plugin key>`; `pv:y-sync$` writes the change
  into Yjs: `binding._prosemirrorChanged`, then the Yjs transaction's cleanup, `transact(outer)`);
- `apply:<field>`, `append:<plugin key>`, `decorations:<plugin key>`: each plugin's state,
  `appendTransaction` and decorations (the wrapping adds ~0.2 ms to the dispatch);
- `domObserver.flush`: ProseMirror reading the browser's edit back out of the DOM (it calls the
  dispatch, so it includes it);
- `yemit:<event>` and `L:<event>:<n>`: the Yjs document's events and each listener (the save
  queue's is `update`); `deep:<n>`: the body's deep observers;
- `window.fetch`: the IPC calls (saves, awareness) — since session 19 after the frame.

HUB_PROBE_NEGOTIATED=1 types in the negotiated draft (1,000 suggestions, 500 comment threads)
instead. The page's clock has 1 ms resolution: read the means. Run with the environment
scripts/bench-app sets:

  HUB_APP=$CARGO_TARGET_DIR/release/lawyers-hub HUB_SERVER_BIN=/bin/false \\
  TAURI_DRIVER="$(scripts/setup --tauri-driver-path)" HOME="$(mktemp -d)" \\
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
if os.environ.get("HUB_PROBE_NEGOTIATED"):
    # The negotiated draft (1,000 suggestions, 500 comment threads), reopened as a lawyer would.
    app.js_async(b.NEGOTIATE_JS)
    b.reopen(app, "Probe", negotiated=True, times=1)
    app.js(b.TYPING_JS)
    app.js("const e = window.__hub.editor; e.commands.focus(Math.floor(e.state.doc.content.size / 2));")
else:
    b.fill_draft(app)
app.js("""
const { editor, ydoc } = window.__hub;
const view = editor.view;
const T = window.__probe = {};
const rec = (k, t) => (T[k] = T[k] || []).push(performance.now() - t);
const wrap = (obj, name, key) => {
  const f = obj[name];
  obj[name] = function (...a) { const t = performance.now(); const r = f.apply(this, a); rec(key, t); return r; };
};
const withViews = view.state.plugins.filter((p) => p.spec.view).map((p) => p.key);
view.pluginViews.forEach((pv, i) => { if (pv.update) wrap(pv, 'update', 'pv:' + (withViews[i] || i)); });
wrap(view, 'updateState', 'updateState');
wrap(view, 'scrollToSelection', 'view.scrollToSelection');
wrap(view.docView, 'update', 'docView.update');
wrap(view.domObserver, 'flush', 'domObserver.flush');
wrap(Object.getPrototypeOf(view.state), 'applyTransaction', 'applyTransaction');
view.state.config.fields.forEach((field) => wrap(field, 'apply', 'apply:' + field.name));
view.state.config.plugins.forEach((plugin) => { if (plugin.spec.appendTransaction) wrap(plugin.spec, 'appendTransaction', 'append:' + plugin.key); });
const decoProps = view.state.config.plugins.filter((plugin) => plugin.props.decorations);
decoProps.forEach((plugin) => wrap(plugin.props, 'decorations', 'decorations:' + plugin.key));
const dispatch = view.dispatch.bind(view);
view.dispatch = (tr) => { const t = performance.now(); dispatch(tr); rec(tr.docChanged ? 'dispatch(doc)' : 'dispatch(other)', t); };
const sync = view.state.plugins.find((p) => p.key === 'y-sync$').getState(view.state).binding;
wrap(sync, '_prosemirrorChanged', 'binding._prosemirrorChanged');
const emit = ydoc.emit.bind(ydoc);
ydoc.emit = (name, args) => { const t = performance.now(); const r = emit(name, args); rec('yemit:' + name, t); return r; };
for (const [name, listeners] of ydoc._observers) {
  [...listeners].forEach((fn, i) => {
    listeners.delete(fn);
    listeners.add(function (...a) { const t = performance.now(); const r = fn.apply(this, a); rec(`L:${name}:${i}`, t); return r; });
  });
}
const body = ydoc.getXmlFragment('default');
body._dEH.l = body._dEH.l.map((fn, i) => function (...a) { const t = performance.now(); const r = fn.apply(this, a); rec('deep:' + i, t); return r; });
const transact = ydoc.transact.bind(ydoc);
ydoc.transact = (f, o) => { const outer = ydoc._transaction === null; const t = performance.now(); const r = transact(f, o); if (outer) rec('transact(outer)', t); return r; };
wrap(window, 'fetch', 'window.fetch');
window.__bench.timeKeys(view.dom);
""")
time.sleep(1)
b.type_keys(app)
time.sleep(1)
r = app.js("return window.__probe")


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))] if xs else float("nan")


for k, xs in sorted(r.items(), key=lambda kv: -sum(kv[1])):
    print(f"{sum(xs) / b.KEYS:5.2f} ms/keystroke  {k}: n={len(xs)} mean {sum(xs)/max(1,len(xs)):.2f} "
          f"p50 {pct(xs,.5):.2f} p90 {pct(xs,.9):.2f} p99 {pct(xs,.99):.2f} max {max(xs) if xs else 0:.2f} ms")
app.quit()
