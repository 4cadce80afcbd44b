// A tiny runner: named steps in order, each bounded in time; a failed step
// makes the later steps of its scenario skip (they depend on it).
'use strict';

const STEP_TIMEOUT_MS = 20000;
const WAIT_MS = 10000;

/** Resolves with the first value `probe` returns that is not undefined. */
async function eventually(what, probe, within = WAIT_MS) {
  const deadline = Date.now() + within;
  let last;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not within ${within} ms${last ? ` (last error: ${last.message})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Resolves with the first event `emitter` emits as `name` that satisfies `accept`. */
function nextEvent(emitter, name, accept = () => true, within = WAIT_MS) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(name, listener);
      reject(new Error(`no "${name}" event within ${within} ms`));
    }, within);
    function listener(...args) {
      if (!accept(...args)) return;
      clearTimeout(timer);
      emitter.off(name, listener);
      resolve(args.length > 1 ? args : args[0]);
    }
    emitter.on(name, listener);
  });
}

function assert(condition, message) {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

function assertEqual(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs `steps` ([name, async fn]) in order; returns the failures. */
async function runScenario(title, steps, log = console.log) {
  log(`\n== ${title}`);
  const failures = [];
  let broken = null;
  for (const [name, fn] of steps) {
    if (broken) {
      log(`  SKIP ${name} (after "${broken}" failed)`);
      failures.push(`${title}: ${name}: skipped`);
      continue;
    }
    const started = Date.now();
    try {
      await withTimeout(Promise.resolve().then(fn), STEP_TIMEOUT_MS, name);
      log(`  PASS ${name} (${Date.now() - started} ms)`);
    } catch (e) {
      log(`  FAIL ${name}: ${e && e.stack ? e.stack : e}`);
      failures.push(`${title}: ${name}: ${e && e.message}`);
      broken = name;
    }
  }
  return failures;
}

module.exports = { eventually, nextEvent, assert, assertEqual, runScenario };
