/** The peak resident memory of a process so far (VmHWM in /proc), in kB; 0 once it has gone. */
import { readFileSync } from 'node:fs';

export function peakRssKb(pid: number | undefined): number {
  try {
    return Number(/^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}
