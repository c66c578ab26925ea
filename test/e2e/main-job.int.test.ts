/**
 * The README's main job as a user runs it (`npm start` is `lambdamart demo`), for a short while
 * on the shared stack: it must say where to look, print status lines, stop by itself, account for
 * every event it generated (realtime database and warehouse, revenue to the cent) and log no
 * error on the way. It runs on the real topics and databases, as `npm start` does, so it first
 * saves and loads whatever they hold: on a fresh stack (CI) it takes about 35 s; a backlog left by
 * long `lambdamart generate` runs makes it slower, and past 200 s it is killed and fails.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '@lambdamart/cli-launch';

describe('the main job (npm start)', { timeout: 240_000 }, () => {
  it('runs the whole pipeline for 15 s, stops by itself and accounts for every event', async () => {
    const run = await runCli(['demo', '--duration', '15s', '--rate', '400', '--status-every', '5'], {
      env: { ...process.env, LOG_LEVEL: 'info' },
      timeout: 200_000,
      killSignal: 'SIGKILL',
    });
    const output = `${run.stdout}\n${run.stderr}`;
    assert.equal(run.code, 0, output);

    // Where to look, as the README promises.
    assert.match(run.stdout, /Pipeline running: generator at 400 events\/s -> Kafka -> savers -> realtime DB/);
    assert.match(run.stdout, /Saver health and metrics: http:\/\/127\.0\.0\.1:\d+\/health/);
    assert.match(run.stdout, /Warehouse: +psql postgres:\/\/\S+\/lambdamart_warehouse/);
    assert.match(run.stdout, /REST API: +http:\/\/\S+\/api\/v1\/kpis/);

    // Status lines while it runs, then the closing account.
    const statusLines = run.stdout.split('\n').filter((line) => /sent \d+ +realtime \d+ +dead letters \d+/.test(line));
    assert.ok(statusLines.length >= 2, `status lines every 5 s:\n${run.stdout}`);
    assert.match(run.stdout, /generator stopped \(duration\): \d+ events acknowledged by Kafka/);
    const generated = Number(
      /generated \(acknowledged by Kafka, catalog records apart\) +([\d,]+)/.exec(run.stdout)?.[1]?.replaceAll(',', ''),
    );
    assert.ok(generated >= 1_000, `a 15 s run at 400 events/s generates thousands of events (got ${generated})`);
    // Kafka took exactly the generator's messages (no other producer ran).
    assert.match(run.stdout, /messages Kafka took into the topics \(catalog records included\) +([\d,]+) +\1$/m);
    assert.match(run.stdout, /Every generated event is accounted for/);
    assert.doesNotMatch(run.stdout, /MISMATCH/);
    assert.match(run.stdout, /Pipeline stopped\./);

    // The layers log warnings and errors only (JSON lines, pino levels): a clean run has no error.
    const errors = output.split('\n').filter((line) => /^\{"level":(50|60)/.test(line));
    assert.deepEqual(errors, [], 'no error logged');
  });
});
