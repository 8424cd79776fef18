// What the lab's tests share: `npm run lab` as a separate process with its JSON report, and the check that a lab
// left nothing behind.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { labPrefix, listNetns, processesInNetns, projectRoot } from './lab-node.ts';
import type { LabReport } from './lab-run.ts';

export interface LabRunner {
  run(name: string, args: string[]): Promise<{ code: number; output: string; report: LabReport }>;
  /** Removes the reports' directory. */
  cleanup(): void;
}

/** Runs `npm run lab` as a separate process (as CI does) and returns its JSON report and its output. */
export function labRunner(): LabRunner {
  const work = mkdtempSync(join(tmpdir(), 'khlab-test-'));
  return {
    run(name, args) {
      const reportFile = join(work, `${name}.json`);
      const child = spawn(process.execPath, ['test/lab/lab.ts', '--report', reportFile, ...args], {
        cwd: projectRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (c: Buffer) => {
        output += c.toString();
      });
      child.stderr.on('data', (c: Buffer) => {
        output += c.toString();
      });
      return new Promise((resolve, reject) => {
        child.once('close', (code) => {
          if (!existsSync(reportFile)) {
            reject(new Error(`the lab wrote no report (exit ${code}):\n${output.slice(-4000)}`));
            return;
          }
          resolve({ code: code ?? -1, output, report: JSON.parse(readFileSync(reportFile, 'utf8')) as LabReport });
        });
      });
    },
    cleanup: () => rmSync(work, { recursive: true, force: true }),
  };
}

export function expectNothingLeft(report: LabReport): void {
  const prefix = `${labPrefix}${report.lab.id}-`;
  expect(report.lab.id).toMatch(/^[0-9a-f]{6}$/);
  expect(listNetns(prefix)).toEqual([]);
  expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(prefix);
  expect(existsSync(`/var/tmp/${labPrefix}${report.lab.id}`)).toBe(false);
  expect(report.lab.netns_inodes.length).toBeGreaterThan(0);
  for (const inode of report.lab.netns_inodes) expect(processesInNetns(inode)).toEqual([]);
}
