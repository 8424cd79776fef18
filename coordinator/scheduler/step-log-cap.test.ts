import { describe, expect, it } from 'vitest';
import { StepLogCap } from './step-log-cap.ts';

describe('StepLogCap', () => {
  it('GIVEN a step attempt over the cap THEN one notice, then nothing; another attempt or step has its own count', () => {
    const cap = new StepLogCap({ linesPerAttempt: 3, lineLength: 10 });
    const admitted = Array.from({ length: 6 }, (_, i) => cap.admit('r1', 's1', 1, `line ${i}`));
    expect(admitted.slice(0, 3)).toEqual(['line 0', 'line 1', 'line 2']);
    expect(admitted[3]).toMatch(/more than 3 log lines/);
    expect(admitted.slice(4)).toEqual([undefined, undefined]);
    expect(cap.admit('r1', 's1', 2, 'retry')).toBe('retry');
    expect(cap.admit('r1', 's2', 1, 'other')).toBe('other');
    expect(cap.admit('r1', 's3', 1, 'x'.repeat(25))).toBe(`${'x'.repeat(10)} [cut]`);
    cap.forget('r1');
    expect(cap.admit('r1', 's1', 1, 'again')).toBe('again');
  });
});
