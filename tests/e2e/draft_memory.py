"""What opening and closing a negotiated draft costs WebKit's web process, and whether closing it
lets the editor go (issue 18's desktop memory targets; docs/BENCHMARKS.md).

The real app under Xvfb over WebDriver, a fresh data directory: the 100-page draft with 1,000
suggestions and 500 comment threads is written as app_bench.py writes it; then, in a new session,
it is opened and closed N times (HUB_DRAFT_OPENS, default 8), the web process's RSS and anonymous
memory read 3 s after each open and each close. Both are JavaScript clicks on elements found in
the page, not app_bench.py's `open_draft`/`reopen`, which click elements WebDriver found and
keeps (with what they belong to) for the rest of the session. Every opened editor's Y.Doc and DOM are watched with WeakRefs. At the end the
page allocates short-lived garbage until none is left or 400 rounds have passed (JavaScriptCore
collects when allocation asks it to, and young collections leave older objects alone: it has no
API to collect on demand), and prints how many watched objects are still reachable and what the
web process holds then.

Run through scripts/bench-app (after app_bench.py). Prints a Markdown table."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
os.environ.setdefault("HUB_BENCH_MATTERS", "3")
import app_e2e as e2e  # noqa: E402
import app_bench as bench  # noqa: E402

OPENS = int(os.environ.get("HUB_DRAFT_OPENS", "8"))
TITLE = "Negotiated agreement"
OPEN_JS = """
const done = arguments[arguments.length - 1];
const row = [...document.querySelectorAll('[data-testid=drafts] li')].find((li) => li.textContent.includes('Negotiated agreement'));
const t0 = performance.now();
row.querySelector('.draft-open').click();
const check = () => {
  const hub = window.__hub;
  const threads = document.querySelectorAll('[data-testid=comment-thread]').length;
  const marked = document.querySelectorAll('[data-testid=editor] ins, [data-testid=editor] del').length;
  if (hub && hub.editor.state.doc.childCount >= 1500 && threads > 0 && marked > 0) {
    window.__watched.push(new WeakRef(hub.ydoc), new WeakRef(hub.editor.view.dom));
    done(performance.now() - t0);
  } else requestAnimationFrame(check);
};
check();
"""
CLOSE_JS = """
const done = arguments[arguments.length - 1];
document.querySelector('.crumbs button').click();
const check = () => document.querySelector('[data-testid=drafts] li') && !window.__hub ? done(true) : requestAnimationFrame(check);
check();
"""
GARBAGE_JS = """
const done = arguments[arguments.length - 1];
const reachable = () => window.__watched.flatMap((ref, index) => (ref.deref() !== undefined ? [index] : []));
let rounds = 0;
const step = () => {
  let junk = [];
  for (let i = 0; i < 200000; i++) junk.push({ a: i, b: [i, i + 1], c: 'x' + i });
  junk = null;
  rounds++;
  // Young collections leave older objects alone: go on until a full one has run (nothing
  // watched is left) or for at most 400 rounds (80 million short-lived objects).
  const left = reachable();
  if (left.length && rounds < 400) setTimeout(step, 10);
  else done([left, rounds]);
};
step();
"""


def web_process(app: e2e.App) -> tuple[float, float]:
    """The web process's RSS and anonymous memory, MiB."""
    for pid in bench.process_tree(bench.app_pid(app.driver_process.pid)):
        with open(f"/proc/{pid}/comm") as handle:
            if handle.read().startswith("WebKitWebProces"):
                return bench.rss_kib(pid) / 1024, bench.anon_kib(pid) / 1024
    raise RuntimeError("no web process")


def main() -> int:
    subprocess.run("echo -n bench | gnome-keyring-daemon --unlock --components=secrets >/dev/null", shell=True, check=True)
    data = os.path.join(e2e.WORK, "draft-memory")
    app = bench.start_app(data)
    bench.seed(app)
    app.quit()
    app = bench.start_app(data)
    app.click_text("[data-testid=cases] td", "Matter 0 ")
    bench.new_draft(app, TITLE)
    app.js_async(bench.NEGOTIATE_JS)
    app.quit()

    app = bench.start_app(data)
    app.click_text("[data-testid=cases] td", "Matter 0 ")
    bench.wait_for_draft_row(app, TITLE)
    app.js("window.__watched = [];")
    time.sleep(3)
    before = web_process(app)
    rows = []
    for index in range(OPENS):
        opened_ms = app.js_async(OPEN_JS)
        time.sleep(3)
        opened = web_process(app)
        app.js_async(CLOSE_JS)
        time.sleep(3)
        closed = web_process(app)
        rows.append((index + 1, opened_ms, opened, closed))
    reachable, rounds = app.js_async(GARBAGE_JS)
    time.sleep(5)
    after = web_process(app)
    app.quit()

    print("| web process (the matter's page on screen) | RSS MiB | anonymous MiB |")
    print("| --- | ---: | ---: |")
    print(f"| before the first open | {before[0]:.0f} | {before[1]:.0f} |")
    for index, opened_ms, opened, closed in rows:
        print(f"| open {index} ({opened_ms:.0f} ms to painted), 3 s later | {opened[0]:.0f} | {opened[1]:.0f} |")
        print(f"| … closed, 3 s later | {closed[0]:.0f} | {closed[1]:.0f} |")
    left = f"{len(reachable)} of {2 * OPENS} watched Y.Docs and editor DOMs still reachable" + (f" (opens {sorted({i // 2 + 1 for i in reachable})})" if reachable else "")
    print(f"| after {rounds} rounds of allocation made JavaScriptCore collect; {left} | {after[0]:.0f} | {after[1]:.0f} |")
    return 0 if len(reachable) <= 1 else 1


if __name__ == "__main__":
    e2e.run_main(main)
