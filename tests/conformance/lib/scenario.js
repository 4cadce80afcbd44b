// One scenario in its own Node process (`node lib/scenario.js NAME BIN`):
// every SDK instance keeps timers and reconnects on its own, so a process of
// its own is the only clean end for it. Starts a simulator, runs the steps,
// stops the simulator, exits 0 only if every step passed.
'use strict';

const path = require('path');
const { startSim } = require('./sim');
const { runScenario } = require('./check');

/** Set once the steps are over: the simulator then goes away under the SDK's timers. */
let finished = false;

/**
 * An SDK that fails inside its own event handlers leaves unhandled rejections,
 * which end a Node process: report them as the failure they are, unless the
 * scenario says one is expected (`tolerate(reason)` returns true).
 */
function watchUnhandled(tolerate) {
  process.on('unhandledRejection', (reason) => {
    if (finished || (tolerate && tolerate(reason))) return;
    console.error(`  FAIL the SDK left an unhandled rejection: ${reason && reason.stack ? reason.stack : reason}`);
    process.exit(1);
  });
}

async function main() {
  // run.js ends a scenario that overstays with SIGTERM: exit, so that the
  // 'exit' hooks (lib/sim.js kills its simulator) run.
  process.on('SIGTERM', () => process.exit(1));
  const [name, bin] = process.argv.slice(2);
  const { title, steps, tolerate } = require(path.join(__dirname, '..', `${name}-scenario`));
  watchUnhandled(tolerate);
  const sim = await startSim(bin);
  let failures;
  try {
    failures = await runScenario(`${title} against ${sim.base}`, steps(sim));
  } finally {
    finished = true;
    await sim.stop();
  }
  process.exit(failures.length ? 1 : 0);
}

main().catch((e) => {
  console.error(`conformance: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
