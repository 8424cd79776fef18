import { type ChildProcess, spawn } from 'node:child_process';
import type { AddressMonitor } from './vip-watcher.ts';

/**
 * `ip -o monitor address`: one line per address the kernel adds or deletes, as it happens (netlink). `ipOptions` go
 * before the command (tests watch a network namespace with `-n NAME`).
 */
export function ipAddressMonitor(ipOptions: readonly string[] = [], command = 'ip'): AddressMonitor {
  let child: ChildProcess | undefined;
  return {
    start(onLine, onExit) {
      const started = spawn(command, [...ipOptions, '-o', 'monitor', 'address'], { stdio: ['ignore', 'pipe', 'pipe'] });
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
        for (const line of lines) if (line.trim()) onLine(line);
      });
      started.stderr?.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-500);
      });
      started.on('error', (error) => end(`${command} -o monitor address: ${error.message}`));
      started.on('close', (code, signal) =>
        end(`${command} -o monitor address exited with ${code ?? signal}${stderr.trim() ? `: ${stderr.trim()}` : ''}`),
      );
    },
    stop() {
      const running = child;
      child = undefined;
      running?.kill();
    },
  };
}
