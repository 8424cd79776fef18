import { describe, expect, it } from 'vitest';
import { ErrorCode, KubehaError } from '../../common/errors.ts';
import { FakeHost } from '../host/fake-host.ts';
import { canonicalJson, paramsChecksum } from './params-checksum.ts';
import { plannedStep, type StepDefinition } from './step.ts';
import { runStep } from './step-runner.ts';

interface MarkerParams {
  text: string;
}

/** A step that keeps /etc/marker equal to params.text and runs `touch-marker` when it writes. */
const markerStep: StepDefinition<MarkerParams> = plannedStep<MarkerParams>({
  kind: 'marker',
  parseParams(raw) {
    const text = (raw as { text?: unknown }).text;
    if (typeof text !== 'string' || !/^[a-z]+$/.test(text)) {
      throw new KubehaError(ErrorCode.paramsInvalid, 'marker.text: must be lowercase letters');
    }
    return { text };
  },
  async plan(ctx) {
    if ((await ctx.host.readFile('/etc/marker')) === ctx.params.text) return [];
    return [
      {
        description: 'write /etc/marker',
        apply: async () => {
          await ctx.host.exec('touch-marker', [ctx.params.text]);
          await ctx.host.writeFileAtomic('/etc/marker', ctx.params.text, 0o644);
        },
      },
    ];
  },
});

describe('runStep', () => {
  it('GIVEN work to do WHEN run THEN it applies, re-checks and reports changed', async () => {
    const host = new FakeHost().expect('touch-marker', ['abc'], { stdout: 'touched\n' });
    const logs: string[] = [];
    const result = await runStep(markerStep, { text: 'abc' }, { host, onLog: (s, t) => logs.push(`${s}:${t}`) });
    expect(result).toMatchObject({ outcome: 'succeeded', changed: true, changes: ['write /etc/marker'] });
    expect(host.file('/etc/marker')).toBe('abc');
    expect(logs).toEqual(['info:change: write /etc/marker', 'info:$ touch-marker abc', 'stdout:touched']);
    host.assertNoPendingExpectations();
  });

  it('GIVEN the machine is already as wanted WHEN run THEN changed is false and no command runs', async () => {
    const host = new FakeHost({ files: { '/etc/marker': 'abc' } });
    const result = await runStep(markerStep, { text: 'abc' }, { host });
    expect(result).toMatchObject({ outcome: 'succeeded', changed: false, changes: [] });
    expect(host.commands).toEqual([]);
  });

  it('GIVEN a dry run THEN it lists what would change and changes nothing', async () => {
    const host = new FakeHost();
    const result = await runStep(markerStep, { text: 'abc' }, { host, dryRun: true });
    expect(result).toMatchObject({ outcome: 'succeeded', changed: true, changes: ['write /etc/marker'] });
    expect(host.commands).toEqual([]);
    expect(host.writes).toEqual([]);
  });

  it('GIVEN invalid params THEN it fails deterministically before anything runs', async () => {
    const host = new FakeHost();
    const result = await runStep(markerStep, { text: 'a;rm -rf /' }, { host });
    expect(result.outcome).toBe('failed');
    expect(result.error).toMatchObject({ code: ErrorCode.paramsInvalid, deterministic: true });
    expect(host.commands).toEqual([]);
  });

  it('GIVEN a failing command THEN the error carries the command line, exit code and the last 20 stderr lines', async () => {
    const stderr = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join('\n');
    const host = new FakeHost().expect('touch-marker', ['abc'], { exitCode: 3, stderr });
    const result = await runStep(markerStep, { text: 'abc' }, { host });
    expect(result.outcome).toBe('failed');
    expect(result.error).toMatchObject({ code: ErrorCode.commandFailed, command: 'touch-marker abc', exitCode: 3 });
    const tail = result.error?.stderrTail?.split('\n') ?? [];
    expect(tail).toHaveLength(20);
    expect(tail[0]).toBe('line 11');
    expect(tail[19]).toBe('line 30');
    expect(host.file('/etc/marker')).toBeUndefined();
  });

  it('GIVEN a step whose second check still finds work THEN it fails', async () => {
    const stubborn = plannedStep<MarkerParams>({
      kind: 'stubborn',
      parseParams: (raw) => raw as MarkerParams,
      plan: async () => [{ description: 'never sticks', apply: async () => {} }],
    });
    const result = await runStep(stubborn, { text: 'x' }, { host: new FakeHost() });
    expect(result.outcome).toBe('failed');
    expect(result.error?.code).toBe(ErrorCode.stepFailed);
    expect(result.error?.message).toContain('never sticks');
  });

  it('GIVEN a hanging command WHEN the step is cancelled THEN the outcome is cancelled', async () => {
    const host = new FakeHost().expect('touch-marker', ['abc'], { hang: true });
    const controller = new AbortController();
    const pending = runStep(markerStep, { text: 'abc' }, { host, signal: controller.signal });
    await new Promise((r) => setImmediate(r));
    controller.abort();
    const result = await pending;
    expect(result.outcome).toBe('cancelled');
    expect(host.file('/etc/marker')).toBeUndefined();
  });

  it('GIVEN a hanging command WHEN the timeout passes THEN the outcome is timed-out', async () => {
    const host = new FakeHost().expect('touch-marker', ['abc'], { hang: true });
    const result = await runStep(markerStep, { text: 'abc' }, { host, timeoutMs: 20 });
    expect(result.outcome).toBe('timed-out');
    expect(result.error?.message).toContain('timed out');
  });
});

describe('paramsChecksum', () => {
  it('does not depend on key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 2], c: 'x' } })).toBe('{"a":{"c":"x","d":[1,2]},"b":1}');
    expect(paramsChecksum({ b: 1, a: 2 })).toBe(paramsChecksum({ a: 2, b: 1 }));
    expect(paramsChecksum({ a: 1 })).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe('FakeHost', () => {
  it('refuses unexpected commands and reports pending expectations', async () => {
    const host = new FakeHost().expect('systemctl', ['enable', 'kubelet']);
    await expect(host.exec('rm', ['-rf', '/'])).rejects.toThrow(/unexpected command: rm -rf \//);
    expect(() => host.assertNoPendingExpectations()).toThrow(/systemctl enable kubelet.*rm -rf/);
  });
});
