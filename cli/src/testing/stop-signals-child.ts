/** A long-running command in miniature, for signals.test.ts: stopping takes 1.5 s. */
import { onStopSignals } from '../action.ts';

let stops = 0;
const alive = setInterval(() => undefined, 1000);
const release = onStopSignals(() => {
  stops++;
  process.stdout.write('stopping\n');
  setTimeout(() => {
    process.stdout.write(`stopped cleanly after ${stops} stop\n`);
    release();
    clearInterval(alive);
  }, 1500);
});
process.stdout.write('ready\n');
