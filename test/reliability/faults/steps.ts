/**
 * The steps most faults share: a scenario set up and always torn down, events sent and saved (all
 * at once, or a stream caught part way through), the time to recover, the saver checked still
 * alive, and the figures recorded once the warehouse reconciles (or the test fails on the
 * mismatches).
 */
import assert from 'node:assert/strict';
import { type Expected, expectedSaved, makeEvents, type OutgoingLine, produceWithKcat } from './events.ts';
import { type Child, type FaultFigures, recordFigures, Scenario, type Stack } from './harness.ts';
import { describeReconciliation, type Reconciliation, type SavedCounts, untilSaved, waitForSavers } from './reconcile.ts';

/**
 * A fresh scenario for `label`, handed to `body`; whatever happens, `restore` (undoing the fault)
 * runs afterwards, then the scenario is closed and its databases dropped.
 */
export async function withScenario(
  stack: Stack,
  label: string,
  body: (scenario: Scenario) => Promise<void>,
  options: { topicConfig?: Record<string, string>; restore?: (scenario: Scenario) => Promise<unknown> } = {},
): Promise<void> {
  const scenario = await Scenario.create(stack, label, { topicConfig: options.topicConfig });
  try {
    await body(scenario);
  } finally {
    await options.restore?.(scenario);
    await scenario.close();
    await scenario.dropDatabases();
  }
}

/** `count` events from `seed` sent at once to one saver; returns once every one is saved. */
export async function sendAndSave(scenario: Scenario, options: { seed: number; count: number }): Promise<{ expected: Expected }> {
  const { lines, expected } = makeEvents({ seed: options.seed, count: options.count });
  scenario.spawnSaver();
  await produceWithKcat(scenario, lines);
  await waitForSavers(scenario, expected);
  return { expected };
}

/**
 * `count` events from `seed` streamed over 10 s to one saver; returns once it has saved `share` of
 * them, with the stream still going (`stream` ends when the last event is sent).
 */
export async function streamUntilShareSaved(
  scenario: Scenario,
  options: { seed: number; count: number; share: number },
): Promise<{ lines: OutgoingLine[]; expected: Expected; want: number; saver: Child; stream: Promise<void> }> {
  const { lines, expected } = makeEvents({ seed: options.seed, count: options.count });
  const want = expectedSaved(expected);
  const saver = scenario.spawnSaver();
  const stream = produceWithKcat(scenario, lines, { overMs: 10_000 });
  await untilSaved(scenario, want * options.share);
  return { lines, expected, want, saver, stream };
}

/**
 * waitForSavers, and the seconds from `since` (the fault's end, in ms) until every event was saved:
 * without the second waitForSavers waits after that, to see no duplicate turns up.
 */
export async function waitForSaversSince(
  scenario: Scenario,
  expected: Expected,
  since: number,
): Promise<{ counts: SavedCounts; recoverySeconds: number }> {
  const { counts } = await waitForSavers(scenario, expected);
  return { counts, recoverySeconds: (Date.now() - since) / 1000 - 1 };
}

/** Fails, with its output, unless the saver process is still running. */
export function assertStillRunning(saver: Child): void {
  assert.equal(saver.child.exitCode, null, `the saver is still running (it exited: ${saver.output().slice(-1500)})`);
}

/** Records the fault's figures with the reconcile check's outcome, then fails on any mismatch. */
export function recordReconciled(stack: Stack, result: Reconciliation, figures: Omit<FaultFigures, 'reconcile'>): void {
  recordFigures(stack, {
    fault: figures.fault,
    sent: figures.sent,
    before: figures.before,
    after: figures.after,
    recoverySeconds: figures.recoverySeconds,
    reconcile: result.problems.length ? result.problems.join('; ') : 'ok',
    note: figures.note,
  });
  assert.deepEqual(result.problems, [], describeReconciliation(result));
}
