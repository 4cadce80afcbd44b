#!/usr/bin/env node
// The conformance suite: Cisco's own Webex clients against `webex-hitl sim`.
// Usage: node run.js /path/to/webex-hitl   (exit 1 on any failure)
//
// Each scenario runs in its own process against its own simulator; a step
// that fails says what the client expected and what the simulator did.
'use strict';

const { spawn } = require('child_process');
const path = require('path');

const SCENARIOS = ['sdk', 'framework'];
const SCENARIO_TIMEOUT_MS = 60000;

function runOne(name, bin) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'lib', 'scenario.js'), name, bin], { stdio: 'inherit' });
    let kill;
    const timer = setTimeout(() => {
      console.error(`conformance: scenario ${name} still running after ${SCENARIO_TIMEOUT_MS} ms, stopped`);
      child.kill('SIGTERM'); // it stops its simulator on the way out
      kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    }, SCENARIO_TIMEOUT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(kill);
      resolve(code === 0 ? null : `${name} (exit ${code ?? signal})`);
    });
  });
}

async function main() {
  const bin = process.argv[2];
  if (!bin) {
    console.error('usage: node run.js /path/to/webex-hitl');
    process.exit(2);
  }
  const started = Date.now();
  const failed = [];
  for (const name of SCENARIOS) {
    const failure = await runOne(name, path.resolve(bin));
    if (failure) failed.push(failure);
  }
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (failed.length) {
    console.error(`\nconformance: FAILED in ${secs} s: ${failed.join(', ')} (see FAIL lines above; SDK_LOG=info shows the SDK's own log)`);
    process.exit(1);
  }
  console.log(`\nconformance: every scenario passed in ${secs} s`);
}

main();
