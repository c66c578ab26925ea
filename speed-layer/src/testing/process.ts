/** `lambdamart speed` as a child process, for the crash, scale-out and outage tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

const main = resolve(import.meta.dirname, '..', '..', '..', 'cli', 'src', 'main.ts');

export interface SaverProcess {
  child: ChildProcess;
  /** Every log line so far (pino JSON), parsed. */
  logs: Record<string, unknown>[];
  /** The port of /health and /metrics, chosen free before the saver starts (it may not answer yet). */
  metricsPort: Promise<number>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A TCP port no one listens on right now (the OS picks it). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Starts a saver on a free port of its own, so that tests wait for its /health (healthOf), not for
 * a line of its log.
 */
export async function spawnSaver(options: {
  databaseUrl: string;
  group: string;
  topicSuffix: string;
  extraArgs?: string[];
}): Promise<SaverProcess> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      main,
      'speed',
      '--group',
      options.group,
      '--topic-suffix',
      options.topicSuffix,
      '--metrics-port',
      String(port),
      ...(options.extraArgs ?? []),
    ],
    {
      env: { ...process.env, REALTIME_DATABASE_URL: options.databaseUrl, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const logs: Record<string, unknown>[] = [];
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => logs.push({ stderr: chunk.toString('utf8') }));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => {
    child.once('exit', (code, signal) => r({ code, signal }));
  });
  return { child, logs, metricsPort: Promise.resolve(port), exited };
}

/** The saver's /health; rejects while it does not listen yet (waitFor retries it). */
export async function healthOf(saver: SaverProcess): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${await saver.metricsPort}/health`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
