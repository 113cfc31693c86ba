#!/usr/bin/env node
// The comparison server for our benchmark: a stock @hocuspocus/server 4.7.
//
//   node tests/node/hocuspocus-server.mjs --port 0                                  # in memory
//   node tests/node/hocuspocus-server.mjs --port 0 --persist sqlite:/tmp/hp.sqlite  # SQLite
//
// Options:
//   --port N               port on 127.0.0.1 (0 = any free port; default 0)
//   --persist sqlite:PATH  persist documents with @hocuspocus/extension-sqlite into PATH
//                          (needs `bash tests/node/setup.sh` once, to build better-sqlite3)
//   --debounce MS          Hocuspocus store debounce (default: Hocuspocus' own, 2000)
//   --max-debounce MS      Hocuspocus maxDebounce (default: Hocuspocus' own, 10000)
//
// Any token is accepted. Quiet: no start screen, no per-connection logs. Prints exactly one line
// `{"listening":PORT}` on stdout once it accepts connections. SIGTERM/SIGINT store every loaded
// document, then exit 0. Any WebSocket path is accepted (e.g. ws://127.0.0.1:PORT/api/v1/sync).

import { Server } from '@hocuspocus/server'

function usage(message) {
  process.stderr.write(`hocuspocus-server.mjs: ${message}\n`)
  process.stderr.write('usage: node hocuspocus-server.mjs [--port N] [--persist sqlite:PATH] [--debounce MS] [--max-debounce MS]\n')
  process.exit(2)
}

const options = { port: 0, persist: null, debounce: undefined, maxDebounce: undefined }
const args = process.argv.slice(2)
for (let i = 0; i < args.length; i += 1) {
  let [flag, value] = args[i].split(/=(.*)/s, 2)
  const next = () => {
    if (value !== undefined) return value
    i += 1
    if (i >= args.length) usage(`${flag} needs a value`)
    return args[i]
  }
  const integer = (text) => {
    const number = Number(text)
    if (!Number.isInteger(number) || number < 0) usage(`${flag} needs a non-negative integer, got ${text}`)
    return number
  }
  switch (flag) {
    case '--port':
      options.port = integer(next())
      if (options.port > 65535) usage('--port out of range')
      break
    case '--persist':
      options.persist = next()
      break
    case '--debounce':
      options.debounce = integer(next())
      break
    case '--max-debounce':
      options.maxDebounce = integer(next())
      break
    case '--help':
    case '-h':
      usage('help')
      break
    default:
      usage(`unknown argument ${args[i]}`)
  }
}

const extensions = []
if (options.persist) {
  if (!options.persist.startsWith('sqlite:') || options.persist.length <= 'sqlite:'.length) {
    usage(`--persist must be sqlite:PATH, got ${options.persist}`)
  }
  const database = options.persist.slice('sqlite:'.length)
  let SQLite
  try {
    ;({ SQLite } = await import('@hocuspocus/extension-sqlite'))
    // Load the native addon now so a missing build fails loudly at start, not on first store.
    const { default: BetterSqlite3 } = await import('better-sqlite3')
    new BetterSqlite3(':memory:').close()
  } catch (error) {
    process.stderr.write(
      `hocuspocus-server.mjs: SQLite persistence is unavailable (${error.message}).\n` +
        'Run `bash tests/node/setup.sh` once to build better-sqlite3 from source.\n',
    )
    process.exit(1)
  }
  extensions.push(new SQLite({ database }))
}

const configuration = {
  port: options.port,
  address: '127.0.0.1',
  quiet: true,
  stopOnSignals: true,
  extensions,
  // Accept any token: the hook exists so that providers go through the normal auth round trip.
  async onAuthenticate() {},
}
if (options.debounce !== undefined) configuration.debounce = options.debounce
if (options.maxDebounce !== undefined) configuration.maxDebounce = options.maxDebounce

const server = new Server(configuration)
await server.listen()
process.stdout.write(`${JSON.stringify({ listening: server.address.port })}\n`)
