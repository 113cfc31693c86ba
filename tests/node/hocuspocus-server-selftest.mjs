#!/usr/bin/env node
// Checks tests/node/hocuspocus-server.mjs: in-memory and SQLite-persisted modes.
//
//   bash tests/node/setup.sh && node tests/node/hocuspocus-server-selftest.mjs   → "server-selftest: ok"
//
// 1. in memory: starts, prints {"listening":PORT}, a provider syncs, writes, gets acked.
// 2. --persist sqlite:FILE: a provider writes; after SIGTERM the file has a `documents` row whose
//    Yjs state holds the text; a restarted server on the same file serves the text back.

import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider'
import BetterSqlite3 from 'better-sqlite3'
import WebSocket from 'ws'
import * as Y from 'yjs'

const here = dirname(fileURLToPath(import.meta.url))
const DOC = 'cases/0b8f5a7e-2c1d-4e3f-9a8b-7c6d5e4f3a2b'

function assert(condition, message) {
  if (!condition) throw new Error(`assertion failed: ${message}`)
}

function startServer(args) {
  const child = spawn(process.execPath, [join(here, 'hocuspocus-server.mjs'), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const lines = []
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start; stderr: ${stderr}`)), 10000)
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line)
      try {
        const { listening } = JSON.parse(line)
        if (listening) {
          clearTimeout(timer)
          resolve(listening)
        }
      } catch {}
    })
    child.on('exit', (code) => reject(new Error(`server exited early (${code}); stderr: ${stderr}`)))
  })
  const stop = () =>
    new Promise((resolve) => {
      child.on('exit', (code, signal) => resolve({ code, signal, lines, stderr }))
      child.kill('SIGTERM')
    })
  return { ready, stop, child }
}

async function session(port, edit) {
  const doc = new Y.Doc()
  const socket = new HocuspocusProviderWebsocket({ url: `ws://127.0.0.1:${port}/api/v1/sync`, WebSocketPolyfill: WebSocket })
  const provider = new HocuspocusProvider({ websocketProvider: socket, name: DOC, document: doc, token: 'anything' })
  provider.attach()
  await new Promise((resolve) => (provider.synced ? resolve() : provider.on('synced', resolve)))
  if (edit) {
    edit(doc)
    await new Promise((resolve) => {
      const check = () => !provider.hasUnsyncedChanges && resolve()
      provider.on('unsyncedChanges', check)
      check()
    })
  }
  const text = doc.getText('body').toString()
  provider.destroy()
  socket.destroy()
  return text
}

async function main() {
  // 1. in memory
  {
    const server = startServer(['--port', '0'])
    const port = await server.ready
    const text = await session(port, (doc) => doc.getText('body').insert(0, 'in-memory'))
    assert(text === 'in-memory', `in-memory text (${text})`)
    const { code, lines, stderr } = await server.stop()
    assert(code === 0, `in-memory server exit 0 (got ${code}; ${stderr})`)
    assert(lines.length === 1, `exactly one stdout line (${JSON.stringify(lines)})`)
    assert(stderr === '', `quiet stderr (${stderr})`)
    console.log(`server-selftest: in-memory ok (port ${port})`)
  }

  // 2. SQLite
  const dir = mkdtempSync(join(tmpdir(), 'hp-selftest-'))
  const file = join(dir, 'hocuspocus.sqlite')
  try {
    const server = startServer(['--port', '0', '--persist', `sqlite:${file}`])
    const port = await server.ready
    await session(port, (doc) => doc.getText('body').insert(0, 'persisted in sqlite'))
    const stopped = await server.stop()
    assert(stopped.code === 0, `sqlite server exit 0 (got ${stopped.code}; ${stopped.stderr})`)

    const db = new BetterSqlite3(file, { readonly: true })
    const rows = db.prepare('SELECT name, data FROM documents').all()
    db.close()
    assert(rows.length === 1 && rows[0].name === DOC, `one documents row for ${DOC} (${rows.map((r) => r.name)})`)
    const stored = new Y.Doc()
    Y.applyUpdate(stored, rows[0].data)
    assert(stored.getText('body').toString() === 'persisted in sqlite', 'stored state holds the text')
    console.log(`server-selftest: sqlite row ok (${rows[0].data.length} bytes for ${rows[0].name})`)

    const again = startServer(['--port', '0', '--persist', `sqlite:${file}`])
    const port2 = await again.ready
    const text = await session(port2)
    await again.stop()
    assert(text === 'persisted in sqlite', `reloaded text (${text})`)
    console.log('server-selftest: sqlite reload ok')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  console.log('server-selftest: ok')
  process.exit(0)
}

setTimeout(() => {
  console.error('server-selftest: FAILED: overall timeout')
  process.exit(1)
}, 60000).unref()

main().catch((error) => {
  console.error(`server-selftest: FAILED: ${error.stack || error}`)
  process.exit(1)
})
