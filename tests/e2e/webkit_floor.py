#!/usr/bin/env python3
"""The memory floor of any app on WebKitGTK 4.1 (the library the desktop app runs on): a bare
window with one web view showing one line of HTML, hardware acceleration off as in the app.
Prints its process tree's summed RSS and PSS after 8 idle seconds. Run under Xvfb and a D-Bus
session by scripts/bench-app (needs Debian's python3-gi and gir1.2-webkit2-4.1).

With a file argument (the negotiated draft's HTML, written by app_bench.py), the window shows that
HTML instead, in an element with the editor's white-space rule: the floor of keeping that draft
on screen, with no editor, Yjs or comments panel."""

import os
import sys

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("WebKit2", "4.1")
from gi.repository import GLib, Gtk, WebKit2  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from app_bench import tree_memory  # noqa: E402


DRAFT = sys.argv[1] if len(sys.argv) > 1 else None


def report() -> bool:
    rss, pss, parts, count = tree_memory(os.getpid())
    what = f"the negotiated draft's HTML ({os.path.getsize(DRAFT):,} bytes)" if DRAFT else "one line of HTML"
    print(f"| bare WebKitGTK window, {what}, {count} processes (RSS/PSS/anonymous MiB: {parts}) "
          f"| RSS {rss:.0f} MiB, PSS {pss:.0f} MiB | (floor) |", flush=True)
    Gtk.main_quit()
    return False


window = Gtk.Window()
window.set_default_size(1280, 800)
view = WebKit2.WebView()
view.get_settings().set_hardware_acceleration_policy(WebKit2.HardwareAccelerationPolicy.NEVER)
if DRAFT:
    with open(DRAFT) as handle:
        body = handle.read()
    view.load_html(f'<div style="white-space: break-spaces; max-width: 800px">{body}</div>', "about:blank")
else:
    view.load_html("<p>Hello</p>", "about:blank")
window.add(view)
window.show_all()
GLib.timeout_add(8000, report)
Gtk.main()
