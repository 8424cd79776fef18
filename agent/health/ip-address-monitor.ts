import { type ChildProcess, spawn } from 'node:child_process';
import type { AddressMonitor } from './vip-watcher.ts';

/**
 * `ip -ts -o monitor address`: one line per address the kernel adds or deletes, as it happens (netlink), stamped by
 * `ip` when it read the event. The stamp, not the moment this process reads the line, is the event's time: a busy
 * agent may read it tens of milliseconds later, and the drill compares these times across nodes. `ipOptions` go before
 * the command (tests watch a network namespace with `-n NAME`).
 */
export function ipAddressMonitor(ipOptions: readonly string[] = [], command = 'ip'): AddressMonitor {
  let child: ChildProcess | undefined;
  return {
    start(onLine, onExit) {
      const started = spawn(command, [...ipOptions, '-ts', '-o', 'monitor', 'address'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = started;
      let rest = '';
      let stderr = '';
      let ended = false;
      const end = (reason: string) => {
        if (ended) return;
        ended = true;
        if (child === started) child = undefined;
        onExit(reason);
      };
      started.stdout?.on('data', (chunk: Buffer) => {
        rest += chunk.toString();
        const lines = rest.split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) {
          if (!line.trim()) continue;
          const stamped = splitTimestamp(line, Date.now());
          onLine(stamped.line, stamped.atMs);
        }
      });
      started.stderr?.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-500);
      });
      started.on('error', (error) => end(`${command} -ts -o monitor address: ${error.message}`));
      started.on('close', (code, signal) =>
        end(
          `${command} -ts -o monitor address exited with ${code ?? signal}${stderr.trim() ? `: ${stderr.trim()}` : ''}`,
        ),
      );
    },
    stop() {
      const running = child;
      child = undefined;
      running?.kill();
    },
  };
}

/** How far a stamp may be from the moment its line is read before it is taken for a clock step and not trusted. */
const stampToleranceMs = 5_000;

/**
 * "[2026-12-02T16:21:48.429414] 3: v0 inet ..." into the line after the stamp and the stamp in ms since the epoch.
 * `ip` writes the stamp in local time without a zone, which is how JavaScript reads a date-time without an offset. A
 * line without a stamp, or with one far from `readAtMs`, is dated `readAtMs`.
 */
export function splitTimestamp(line: string, readAtMs: number): { line: string; atMs: number } {
  const match = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{1,9})\]\s*(.*)$/.exec(line);
  if (!match) return { line, atMs: readAtMs };
  const fraction = Number(`0.${match[2]}`);
  const atMs = new Date(match[1]!).getTime() + Math.floor(fraction * 1000);
  const trusted = Number.isFinite(atMs) && Math.abs(atMs - readAtMs) <= stampToleranceMs;
  return { line: match[3]!, atMs: trusted ? atMs : readAtMs };
}
