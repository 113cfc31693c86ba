#!/usr/bin/env node
// Interop check: the stock @hocuspocus/provider edits one document together with a Rust client
// through our sync-server. Spawned by the Rust integration test as `node tests/node/interop.mjs`.
//
// Env:
//   HUB_URL         WebSocket URL, e.g. ws://127.0.0.1:PORT/api/v1/sync   (required)
//   HUB_TOKEN       token sent in the Hocuspocus Auth message               (required, may be "")
//   HUB_DOC         document name, e.g. cases/<uuid>/drafts/<uuid>          (required)
//   HUB_TIMEOUT_MS  hard timeout for the whole run                          (default 20000)
//   HUB_LINGER_MS   optional pause after the last step, before reporting ok (default 0)
//
// Steps (one JSON line each on stdout):
//   {"step":"authenticated","scope":"read-write"}
//   {"step":"synced"}
//   {"step":"saw-rust-text"}        Y.Text "body" contains "from-rust"
//   {"step":"inserted"}             appended " from-node" to "body"
//   {"step":"awareness-set"}        local awareness field user = {name:"Node Lawyer",color:"#0a7"}
//   {"step":"saw-rust-awareness","clientId":N}   another client with user.name "Rust Lawyer"
//   {"step":"acked"}                provider.hasUnsyncedChanges is false (server sent SyncStatus acks)
// then {"ok":true,"text":"<body text>"} and exit 0.
// On any error or timeout: {"ok":false,"error":"...","waitingFor":"<step>",...} and exit 1.

import { HocuspocusProvider, HocuspocusProviderWebsocket } from '@hocuspocus/provider'
import WebSocket from 'ws'
import * as Y from 'yjs'

const env = process.env
const url = env.HUB_URL
const token = env.HUB_TOKEN
const docName = env.HUB_DOC
const timeoutMs = Number(env.HUB_TIMEOUT_MS || 20000)
const lingerMs = Number(env.HUB_LINGER_MS || 0)

let finished = false
let waitingFor = 'start'
let lastClose = null
let provider = null
let socket = null
const ydoc = new Y.Doc()
const body = ydoc.getText('body')

function emit(object) {
  process.stdout.write(`${JSON.stringify(object)}\n`)
}

function step(name, extra = {}) {
  emit({ step: name, ...extra })
}

function teardown() {
  try {
    provider?.destroy()
  } catch {}
  try {
    socket?.destroy()
  } catch {}
}

function finish(code, object) {
  if (finished) return
  finished = true
  clearTimeout(hardTimer)
  teardown()
  // Write the last line, then exit once stdout has flushed (pipes are async in Node).
  process.stdout.write(`${JSON.stringify(object)}\n`, () => process.exit(code))
  // Belt and braces: never hang on a stuck stdout.
  setTimeout(() => process.exit(code), 2000).unref()
}

function fail(error) {
  const message = error instanceof Error ? error.message : String(error)
  finish(1, {
    ok: false,
    error: message,
    waitingFor,
    text: safeText(),
    lastClose,
    awareness: safeAwareness(),
  })
}

function safeText() {
  try {
    return body.toString()
  } catch {
    return null
  }
}

function safeAwareness() {
  try {
    if (!provider?.awareness) return null
    return Array.from(provider.awareness.getStates().entries()).map(([clientId, state]) => ({ clientId, ...state }))
  } catch {
    return null
  }
}

const hardTimer = setTimeout(() => fail(new Error(`timeout after ${timeoutMs} ms`)), timeoutMs)

process.on('uncaughtException', (error) => fail(error))
process.on('unhandledRejection', (error) => fail(error))

/** Resolve when `check()` is true, re-checking whenever one of `events` fires on `target`. */
function waitUntil(name, check, target, events) {
  waitingFor = name
  return new Promise((resolve) => {
    if (check()) return resolve()
    const handler = () => {
      if (finished) return
      if (check()) {
        for (const event of events) target.off(event, handler)
        resolve()
      }
    }
    for (const event of events) target.on(event, handler)
  })
}

async function main() {
  if (!url) throw new Error('HUB_URL is not set')
  if (token === undefined) throw new Error('HUB_TOKEN is not set')
  if (!docName) throw new Error('HUB_DOC is not set')
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new Error('HUB_TIMEOUT_MS must be a positive number')

  socket = new HocuspocusProviderWebsocket({
    url,
    WebSocketPolyfill: WebSocket,
    // Retry quickly while the server is starting; the hard timeout bounds the total.
    delay: 200,
    minDelay: 200,
    maxDelay: 1000,
    onClose: ({ event }) => {
      lastClose = { code: event?.code ?? null, reason: event?.reason ? String(event.reason) : '' }
    },
  })

  let authenticated = false
  let scope = null
  provider = new HocuspocusProvider({
    websocketProvider: socket,
    name: docName,
    document: ydoc,
    token,
    onAuthenticated: ({ scope: s }) => {
      authenticated = true
      scope = s
    },
    onAuthenticationFailed: ({ reason }) => fail(new Error(`authentication failed: ${reason}`)),
    onClose: ({ event }) => {
      lastClose = { code: event?.code ?? null, reason: event?.reason ? String(event.reason) : '' }
    },
  })
  // With a shared HocuspocusProviderWebsocket the provider must be attached explicitly.
  provider.attach()

  // 1. authenticated + synced
  await waitUntil('authenticated', () => authenticated, provider, ['authenticated'])
  step('authenticated', { scope })
  await waitUntil('synced', () => provider.synced, provider, ['synced'])
  step('synced')

  // 2. the Rust side's text
  await waitUntil('saw-rust-text', () => body.toString().includes('from-rust'), ydoc, ['update'])
  step('saw-rust-text')

  // 3. our edit
  waitingFor = 'inserted'
  body.insert(body.length, ' from-node')
  step('inserted')

  // 4. our presence
  waitingFor = 'awareness-set'
  provider.setAwarenessField('user', { name: 'Node Lawyer', color: '#0a7' })
  step('awareness-set')

  // 5. the Rust side's presence
  const rustClient = () => {
    for (const [clientId, state] of provider.awareness.getStates()) {
      if (clientId !== ydoc.clientID && state?.user?.name === 'Rust Lawyer') return clientId
    }
    return null
  }
  await waitUntil('saw-rust-awareness', () => rustClient() !== null, provider.awareness, ['change', 'update'])
  step('saw-rust-awareness', { clientId: rustClient() })

  // 6. every update we sent was acknowledged with SyncStatus(true)
  await waitUntil('acked', () => !provider.hasUnsyncedChanges, provider, ['unsyncedChanges'])
  step('acked')

  if (lingerMs > 0) {
    waitingFor = 'linger'
    await new Promise((resolve) => setTimeout(resolve, lingerMs))
  }

  finish(0, { ok: true, text: body.toString() })
}

main().catch(fail)
