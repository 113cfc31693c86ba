#!/usr/bin/env bash
# Install the Node test/benchmark dependencies offline-safely (npm registry only), idempotently.
#
#   bash tests/node/setup.sh            # install if needed, build better-sqlite3 from source if needed
#   FORCE=1 bash tests/node/setup.sh    # always `npm ci` and rebuild
#
# Why the rebuild: better-sqlite3 (needed by @hocuspocus/extension-sqlite) is a native addon. Its
# install script tries `prebuild-install` (a download from GitHub: unreachable here) and then
# `node-gyp rebuild`, which would download Node headers from nodejs.org (also unreachable). npm 11
# also skips that install script during `npm ci` (allowScripts). So we run the build ourselves with
# npm_config_nodedir pointing at the headers that ship with the machine's Node.js (Debian/NodeSource
# package `nodejs` installs them in /usr/include/node). Needs g++, make, python3. ~1 min on 2 cores.
set -euo pipefail
cd "$(dirname "$0")"

sqlite_ok() {
  node -e "const D=require('better-sqlite3'); new D(':memory:').prepare('select 1').get()" >/dev/null 2>&1
}

if [[ "${FORCE:-0}" == 1 ]] || ! npm ls --depth=0 >/dev/null 2>&1; then
  echo "setup.sh: npm ci" >&2
  npm ci --no-audit --no-fund --ignore-scripts
fi

if [[ "${FORCE:-0}" == 1 ]] || ! sqlite_ok; then
  nodedir="${npm_config_nodedir:-}"
  if [[ -z "$nodedir" ]]; then
    prefix="$(dirname "$(dirname "$(node -p process.execPath)")")"
    for candidate in "$prefix" /usr /usr/local; do
      if [[ -f "$candidate/include/node/node.h" && -f "$candidate/include/node/common.gypi" ]]; then
        nodedir="$candidate"
        break
      fi
    done
  fi
  if [[ -z "$nodedir" ]]; then
    echo "setup.sh: no Node headers (include/node/node.h) next to $(node -p process.execPath), in /usr or /usr/local;" >&2
    echo "          install the headers of this exact Node version (e.g. Debian: apt-get install -y libnode-dev" >&2
    echo "          when node comes from Debian) or set npm_config_nodedir" >&2
    exit 1
  fi
  for tool in g++ make python3; do
    command -v "$tool" >/dev/null || { echo "setup.sh: $tool is required to build better-sqlite3" >&2; exit 1; }
  done
  echo "setup.sh: building better-sqlite3 from source against $nodedir/include/node" >&2
  npm_config_nodedir="$nodedir" npm_config_build_from_source=true nice -n 10 npm rebuild better-sqlite3 --no-audit --no-fund >&2
  sqlite_ok || { echo "setup.sh: better-sqlite3 still does not load after the rebuild" >&2; exit 1; }
fi
echo "setup.sh: ok (node $(node -v), better-sqlite3 loads)" >&2
