/** `lambdamart speed` as a child process, for the crash, scale-out and outage tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';

const main = resolve(import.meta.dirname, '..', '..', '..', 'cli', 'src', 'main.ts');

export interface SaverProcess {
  child: ChildProcess;
  /** Every log line so far (pino JSON), parsed. */
  logs: Record<string, unknown>[];
  /** Resolves with the port of /health once the saver logged it. */
  metricsPort: Promise<number>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnSaver(options: { databaseUrl: string; group: string; topicSuffix: string; extraArgs?: string[] }): SaverProcess {
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
      '0',
      ...(options.extraArgs ?? []),
    ],
    {
      env: { ...process.env, REALTIME_DATABASE_URL: options.databaseUrl, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const logs: Record<string, unknown>[] = [];
  let resolvePort: (port: number) => void = () => undefined;
  const metricsPort = new Promise<number>((r) => {
    resolvePort = r;
  });
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (typeof entry.metricsPort === 'number') resolvePort(entry.metricsPort);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => logs.push({ stderr: chunk.toString('utf8') }));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => {
    child.once('exit', (code, signal) => r({ code, signal }));
  });
  return { child, logs, metricsPort, exited };
}

export async function healthOf(saver: SaverProcess): Promise<{ status: number; body: Record<string, unknown> }> {
  const port = await saver.metricsPort;
  const response = await fetch(`http://127.0.0.1:${port}/health`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
