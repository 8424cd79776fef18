import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { day2Scenarios } from './day2/scenarios.ts';
import { goAvailable } from './kube-binaries.ts';
import type { LabReport } from './lab-run.ts';
import { expectNothingLeft, labRunner } from './lab-test-helpers.ts';

// One real lab for every day-2 scenario, in registry order: a deploy is the expensive part.
const buildAndRunMs = 150 * 60_000;
const lab = labRunner();
let result: { code: number; output: string; report: LabReport } | undefined;
afterAll(() => lab.cleanup());

describe.skipIf(!goAvailable())('npm run lab --day2 all (day 2 on the real control plane)', () => {
  beforeAll(async () => {
    result = await lab.run('day2', ['--skip-drill', '--day2', 'all']);
  }, buildAndRunMs);

  it('deploys the cluster the scenarios run on', () => {
    const { report, output } = result!;
    expect(report.run_succeeded, output.slice(-6000)).toBe(true);
    expect(report.verify_ok).toBe(true);
  });

  for (const scenario of day2Scenarios) {
    it(`${scenario.name}: ${scenario.summary}`, () => {
      const { report, output } = result!;
      const figures = report.day2[scenario.name];
      expect(figures, `the scenario did not run:\n${output.slice(-4000)}`).toBeDefined();
      expect(figures?.['error'], output.slice(-6000)).toBeUndefined();
      scenario.check(figures!);
    });
  }

  it('exits 0 and leaves nothing behind', () => {
    const { report, code, output } = result!;
    expect(code, output.slice(-3000)).toBe(0);
    expectNothingLeft(report);
  });
});
