#!/usr/bin/env node
// Proves interop.mjs works before our Rust server exists: runs it against a stock, in-memory
// @hocuspocus/server, while a second HocuspocusProvider plays the "Rust side".
//
//   node tests/node/interop-selftest.mjs      → exit 0 and "selftest: ok" when all cases pass
//
// Cases:
//   1. happy path: interop.mjs exits 0, prints every step and {"ok":true,"text":...} containing
//      both "from-rust" and "from-node"; the "Rust side" sees "from-node" and "Node Lawyer".
//   2. wrong token: interop.mjs exits 1 quickly with {"ok":false,"error":"authentication failed: ..."}.
//   3. nothing listening: interop.mjs exits 1 with a timeout error within HUB_TIMEOUT_MS (+ slack).

import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'
import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider'
import { Server } from '@hocuspocus/server'
import WebSocket from 'ws'
import * as Y from 'yjs'

const here = dirname(fileURLToPath(import.meta.url))
const TOKEN = 'selftest-token'
const DOC = 'cases/0b8f5a7e-2c1d-4e3f-9a8b-7c6d5e4f3a2b/drafts/1b8f5a7e-2c1d-4e3f-9a8b-7c6d5e4f3a2b'

function assert(condition, message) {
  if (!condition) throw new Error(`assertion failed: ${message}`)
}

function runInterop(env, limitMs) {
  return new Promise((resolve, reject) => {
    const started = Date.now()
    const child = spawn(process.execPath, [join(here, 'interop.mjs')], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    child.stderr.on('data', (chunk) => (stderr += chunk))
    const killer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`interop.mjs did not exit within ${limitMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`))
    }, limitMs)
    child.on('exit', (code) => {
      clearTimeout(killer)
      const lines = stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          try {
            return JSON.parse(line)
          } catch {
            return { unparsed: line }
          }
        })
      resolve({ code, lines, stdout, stderr, elapsed: Date.now() - started })
    })
  })
}

async function freePort() {
  return new Promise((resolve) => {
    const probe = createServer()
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })
}

async function main() {
  const server = new Server({
    port: 0,
    address: '127.0.0.1',
    quiet: true,
    stopOnSignals: false,
    async onAuthenticate({ token }) {
      if (token !== TOKEN) throw { reason: 'bad-token' }
    },
  })
  await server.listen()
  const url = `ws://127.0.0.1:${server.address.port}/api/v1/sync`
  console.log(`selftest: hocuspocus listening at ${url}`)

  // The "Rust side".
  const rustDoc = new Y.Doc()
  const rustBody = rustDoc.getText('body')
  const rustSocket = new HocuspocusProviderWebsocket({ url, WebSocketPolyfill: WebSocket })
  const rust = new HocuspocusProvider({ websocketProvider: rustSocket, name: DOC, document: rustDoc, token: TOKEN })
  rust.attach()
  await new Promise((resolve) => (rust.synced ? resolve() : rust.on('synced', resolve)))
  rustBody.insert(0, 'from-rust')
  rust.setAwarenessField('user', { name: 'Rust Lawyer', color: '#b00' })

  let rustSawNode = false
  let rustSawNodeAwareness = false
  rustDoc.on('update', () => {
    if (rustBody.toString().includes('from-node')) rustSawNode = true
  })
  rust.awareness.on('change', () => {
    for (const state of rust.awareness.getStates().values()) {
      if (state?.user?.name === 'Node Lawyer') rustSawNodeAwareness = true
    }
  })

  // 1. happy path
  // HUB_LINGER_MS: Hocuspocus coalesces awareness updates per tick (flushDelay 0), so without a pause
  // the Node state and its removal on exit can reach the "Rust side" as one update (removal only).
  const happy = await runInterop(
    { HUB_URL: url, HUB_TOKEN: TOKEN, HUB_DOC: DOC, HUB_TIMEOUT_MS: '15000', HUB_LINGER_MS: '300' },
    25000,
  )
  const last = happy.lines.at(-1)
  const steps = happy.lines.filter((line) => line.step).map((line) => line.step)
  if (happy.code !== 0) console.error(happy.stdout, happy.stderr)
  assert(happy.code === 0, `interop exit code 0 (got ${happy.code})`)
  assert(
    JSON.stringify(steps) ===
      JSON.stringify(['authenticated', 'synced', 'saw-rust-text', 'inserted', 'awareness-set', 'saw-rust-awareness', 'acked']),
    `steps in order (got ${JSON.stringify(steps)})`,
  )
  assert(happy.lines[0].scope === 'read-write', 'scope read-write')
  assert(last.ok === true, 'final line ok:true')
  assert(last.text.includes('from-rust') && last.text.includes('from-node'), `text has both edits (${last.text})`)
  await new Promise((resolve) => setTimeout(resolve, 200))
  assert(rustSawNode, 'rust side saw from-node')
  assert(rustSawNodeAwareness, 'rust side saw Node Lawyer awareness')
  assert(rustBody.toString() === 'from-rust from-node', `rust side text (${rustBody.toString()})`)
  console.log(`selftest: happy path ok in ${happy.elapsed} ms: ${last.text}`)

  // 2. wrong token fails fast
  const denied = await runInterop({ HUB_URL: url, HUB_TOKEN: 'wrong', HUB_DOC: DOC, HUB_TIMEOUT_MS: '15000' }, 25000)
  assert(denied.code === 1, `wrong token exit code 1 (got ${denied.code})`)
  assert(denied.lines.at(-1).ok === false, 'wrong token ok:false')
  assert(/authentication failed: bad-token/.test(denied.lines.at(-1).error), `auth error (${denied.stdout})`)
  assert(denied.elapsed < 10000, `wrong token fails fast (${denied.elapsed} ms)`)
  console.log(`selftest: wrong token ok in ${denied.elapsed} ms`)

  // 3. nothing listening: hard timeout
  const port = await freePort()
  const dead = await runInterop(
    { HUB_URL: `ws://127.0.0.1:${port}/api/v1/sync`, HUB_TOKEN: TOKEN, HUB_DOC: DOC, HUB_TIMEOUT_MS: '1500' },
    10000,
  )
  assert(dead.code === 1, `dead server exit code 1 (got ${dead.code})`)
  assert(dead.lines.at(-1).ok === false && /timeout/.test(dead.lines.at(-1).error), `timeout error (${dead.stdout})`)
  assert(dead.elapsed < 6000, `timeout honoured (${dead.elapsed} ms)`)
  console.log(`selftest: timeout ok in ${dead.elapsed} ms`)

  // 4. missing env
  const noEnv = await runInterop({ HUB_URL: '', HUB_TOKEN: TOKEN, HUB_DOC: DOC }, 10000)
  assert(noEnv.code === 1 && /HUB_URL/.test(noEnv.lines.at(-1).error), `missing env (${noEnv.stdout})`)

  rust.destroy()
  rustSocket.destroy()
  await server.destroy()
  console.log('selftest: ok')
  process.exit(0)
}

const guard = setTimeout(() => {
  console.error('selftest: FAILED: overall timeout')
  process.exit(1)
}, 90000)
guard.unref()

main().catch((error) => {
  console.error(`selftest: FAILED: ${error.stack || error}`)
  process.exit(1)
})
