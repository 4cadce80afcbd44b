// Starts `webex-hitl sim` on a free loopback port and scripts its world through
// the `/_sim/` control API, as a human in Webex would act.
'use strict';

const { spawn } = require('child_process');
const readline = require('readline');

const ORG_UUID = '1eb65fdf-9643-417f-9974-ad72cae0e10f';
const OTHER_ORG_UUID = '5c7d2a91-3e48-4b6f-8d17-a2e9f0c4b863';

// A bot token shaped like Webex's (`<secret>_<realm>_<orgId>`): Cisco's SDK
// reads the organization out of it before it asks U2C for the catalog.
const TOKEN = `Y29uZm9ybWFuY2UtYm90LXRva2Vu_PF84_${ORG_UUID}`;

class Sim {
  constructor(child, base) {
    this.child = child;
    this.base = base;
  }

  async call(method, path, body) {
    const resp = await fetch(`${this.base}/_sim${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await resp.text();
    if (!resp.ok) throw new Error(`${method} /_sim${path}: ${resp.status} ${text}`);
    return text ? JSON.parse(text) : {};
  }

  get(path) { return this.call('GET', path); }
  post(path, body = {}) { return this.call('POST', path, body); }
  state() { return this.get('/state'); }

  stop() {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null) return resolve();
      this.child.once('exit', resolve);
      this.child.kill('SIGTERM');
    });
  }
}

/** Starts the simulator binary and resolves once it prints where it listens. */
function startSim(bin) {
  const child = spawn(bin, ['sim', '--listen', '127.0.0.1:0', '--token', TOKEN], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn' },
  });
  // The simulator never outlives this process, however it ends (see scenario.js).
  process.on('exit', () => child.exitCode === null && child.kill('SIGKILL'));
  const stderr = [];
  child.stderr.on('data', (chunk) => stderr.push(chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${bin} sim did not start within 10 s`)), 10000);
    child.once('error', (e) => { clearTimeout(timer); reject(e); });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${bin} sim exited with ${code}: ${Buffer.concat(stderr)}`));
    });
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const found = line.match(/listening on (\S+)/);
      if (found) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve(new Sim(child, found[1]));
      }
    });
  });
}

module.exports = { startSim, TOKEN, ORG_UUID, OTHER_ORG_UUID };
