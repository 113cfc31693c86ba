#!/usr/bin/env python3
"""The installers as IT ships them, and updates from the firm's own server, end to end.

Run through scripts/test-installers, which builds two signed releases of the .deb/.rpm
(N = 1.0.0 and N+1 = 1.0.1) with a throwaway update key, then runs this under dbus-run-session
and xvfb-run. This machine is the lawyer's laptop: the .deb is really installed with dpkg (so
this must run as root, as CI does), launched from /usr/bin, updated through a real sync-server
feed (TLS through nginx with the firm CA's certificate), and removed.

Environment: HUB_BUNDLES (the built bundles and .sig files), HUB_UPDATE_PUBKEY (the key the
builds carry), HUB_SERVER_BIN, TAURI_DRIVER, DATABASE_ADMIN_URL.
"""

import glob
import os
import re
import subprocess
import sys
import time

os.environ.setdefault("HUB_APP", "/usr/bin/lawyers-hub")
import app_e2e as e2e  # noqa: E402  (its helpers: servers, windows, waits)

INSTALLED = "/usr/bin/lawyers-hub"
PACKAGE = "lawyers-hub"
BUNDLES = os.environ["HUB_BUNDLES"]
PUBKEY = os.environ["HUB_UPDATE_PUBKEY"]
N, N1 = "1.0.0", "1.0.1"


def bundle(version: str, kind: str) -> str:
    pattern = {"deb": f"*_{version}_amd64.deb", "rpm": f"*-{version}-1.x86_64.rpm"}[kind]
    found = glob.glob(os.path.join(BUNDLES, pattern))
    assert len(found) == 1, (pattern, os.listdir(BUNDLES))
    return found[0]


JOURNEY_STARTED = time.monotonic()


def step(what: str) -> None:
    """A line per step in CI's log, with the time since the journey began."""
    print(f"  {time.monotonic() - JOURNEY_STARTED:6.1f} s  {what}", flush=True)


def run(*args, check=True, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), check=check, capture_output=True, text=True, **kwargs)


def installed_version() -> str | None:
    result = run("dpkg-query", "-W", "-f=${Status} ${Version}", PACKAGE, check=False)
    if result.returncode != 0 or "install ok installed" not in result.stdout:
        return None
    return result.stdout.split()[-1]


def releases(server: e2e.Server, *args) -> subprocess.CompletedProcess:
    return run(e2e.SERVER_BIN, "releases", *args, env=server.env, check=False)


def check_now(app: e2e.App, states: tuple[str, ...]) -> str:
    app.find("[data-testid=nav-settings]").click()
    app.find("[data-testid=check-updates]").click()
    return e2e.wait_for(f"update state in {states}", lambda: (
        state := app.find("[data-testid=update-status]").get_attribute("data-state")) in states and state, 120)


def test_the_rpm_is_a_well_formed_package():
    info = run("rpm", "-qpi", bundle(N, "rpm")).stdout
    assert re.search(r"Name\s*:\s*lawyers-hub", info) and re.search(r"Version\s*:\s*1\.0\.0", info), info
    files = run("rpm", "-qpl", bundle(N, "rpm")).stdout
    assert INSTALLED in files, files
    requires = run("rpm", "-qpR", bundle(N, "rpm")).stdout
    assert "webkit2gtk" in requires or "libwebkit2gtk" in requires, requires


def test_install_launch_update_from_the_firms_server_and_remove_the_deb():
    """Install N with dpkg; a pinned channel keeps it on N; a tampered N+1 on the server is
    refused with a clear message; the genuine N+1 is downloaded, verified, installed by the
    app, which restarts as N+1 with the lawyer's data intact; then the package is removed."""
    assert os.geteuid() == 0, "installs a .deb with dpkg: run as root (CI does)"
    assert installed_version() is None, f"{PACKAGE} is installed already; refusing to touch this machine's copy"
    server = e2e.Server()
    feed = os.path.join(e2e.WORK, "releases")
    server.env.update(HUB_RELEASES_DIR=feed, HUB_PUBLIC_URL=server.http)
    data = os.path.join(e2e.WORK, "installed")
    app = None
    try:
        # IT publishes N and N+1; a bundle whose signature does not match is refused at once.
        tampered_dir = os.path.join(e2e.WORK, "tampered")
        os.makedirs(tampered_dir)
        genuine = bundle(N1, "deb")
        tampered = os.path.join(tampered_dir, os.path.basename(genuine))
        with open(genuine, "rb") as source:
            body = bytearray(source.read())
        body[len(body) // 2] ^= 0xFF
        with open(tampered, "wb") as out:
            out.write(body)
        refused = releases(server, "add", tampered, "--sig", genuine + ".sig", "--pubkey", PUBKEY)
        assert refused.returncode != 0 and "signature does not match" in refused.stderr, refused
        for version in (N, N1):
            added = releases(server, "add", bundle(version, "deb"), "--sig", bundle(version, "deb") + ".sig",
                             "--pubkey", PUBKEY, "--notes", f"Release {version}")
            assert added.returncode == 0, added
        pinned = releases(server, "pin", N)
        assert pinned.returncode == 0 and "pinned to 1.0.0" in pinned.stdout, pinned
        step("feed: 1.0.0 and 1.0.1 added (a tampered copy refused by `releases add --pubkey`), pinned to 1.0.0")
        server.start()

        # The laptop: N installed from the .deb, launched from /usr/bin.
        run("dpkg", "-i", bundle(N, "deb"))
        assert installed_version() == N and os.access(INSTALLED, os.X_OK)
        assert run(INSTALLED, "--version").stdout.strip() == f"Lawyers Hub {N}"
        step(f"dpkg -i: {PACKAGE} {installed_version()} installed at {INSTALLED}")
        app = e2e.App("Ada", data, server, application=INSTALLED)
        e2e.create_matter(app, "Update v. Rollback", "Installer Ltd")
        # Pinned to N: nothing to take although N+1 is on the server.
        assert check_now(app, ("up_to_date", "failed")) == "up_to_date", app.find("[data-testid=update-status]").text
        step("pinned to 1.0.0: the app is up to date although 1.0.1 is on the server")

        # IT lifts the pin, but the N+1 file on the server was tampered with: refused, not installed.
        assert releases(server, "unpin").returncode == 0
        on_server = os.path.join(feed, os.path.basename(genuine))
        with open(on_server, "rb") as source:
            original = source.read()
        with open(on_server, "wb") as out:
            out.write(body)
        assert check_now(app, ("ready", "failed")) == "failed"
        message = app.find("[data-testid=update-error-message]").text
        assert "signature" in message and "nothing was installed" in message, message
        assert installed_version() == N
        step(f"tampered 1.0.1 refused: {message!r}; still {installed_version()}")
        app.screenshot("update-refused.png")

        # The genuine file back: downloaded, verified, "Update ready — restart to install".
        with open(on_server, "wb") as out:
            out.write(original)
        assert check_now(app, ("ready", "failed")) == "ready", app.find("[data-testid=update-status]").text
        ready = app.find("[data-testid=update-ready]")
        assert ready.get_attribute("data-version") == N1 and "restart to install" in ready.text.lower(), ready.text
        app.screenshot("update-ready.png")
        started = time.time()
        app.find("[data-testid=update-install]").click()
        e2e.wait_for("N+1 installed", lambda: installed_version() == N1, 180)
        step(f"genuine 1.0.1 downloaded, verified, installed by the app: dpkg says {installed_version()}")

        def restarted_as_n1():
            for name in os.listdir(e2e.LOG_DIR):
                path = os.path.join(e2e.LOG_DIR, name)
                if os.path.getmtime(path) >= started - 1:
                    with open(path, errors="replace") as handle:
                        if re.search(r"Lawyers Hub starting.*1\.0\.1", handle.read()):
                            return True
            return False
        e2e.wait_for("the app restarted as N+1", restarted_as_n1, 120)
        step("the app restarted itself as 1.0.1 (its log says so)")
    finally:
        if app:
            try:
                app.quit()
            except Exception:
                pass
        run("pkill", "-f", f"^{INSTALLED}", check=False)
    try:
        # The lawyer opens it again: N+1, and the matter made on N is there.
        assert run(INSTALLED, "--version").stdout.strip() == f"Lawyers Hub {N1}"
        server_app = e2e.App("Ada", data, server, application=INSTALLED)
        try:
            e2e.wait_for("the matter after the update", lambda: "Update v. Rollback" in
                         server_app.find("[data-testid=cases]").text)
            server_app.find("[data-testid=nav-settings]").click()
            assert f"Lawyers Hub {N1}" in server_app.find(".settings-page").text
            step("relaunched: 1.0.1, and the matter made on 1.0.0 is there")
        finally:
            server_app.quit()
            run("pkill", "-f", f"^{INSTALLED}", check=False)
    finally:
        server.drop()
        # Removed cleanly: the binary and the package are gone.
        removed = run("dpkg", "-r", PACKAGE, check=False)
        assert removed.returncode == 0, removed
        assert installed_version() is None and not os.path.exists(INSTALLED)
        step("dpkg -r: removed, /usr/bin/lawyers-hub gone")


def main() -> int:
    tests = [value for key, value in globals().items() if key.startswith("test_") and callable(value)]
    return e2e.run_tests(tests, "installers", log_dirs=(e2e.LOG_DIR,))


if __name__ == "__main__":
    sys.exit(main())
