import { expect, it } from 'vitest';
import { reconnectDelayMs } from './reconnect-backoff.ts';

it('grows from 1 s to at most 30 s, jittered within the upper half', () => {
  const low = () => 0;
  const high = () => 1;
  expect([0, 1, 2, 3, 4, 5, 10].map((n) => reconnectDelayMs(n, 1000, 30_000, high))).toEqual([
    1000, 2000, 4000, 8000, 16000, 30000, 30000,
  ]);
  expect(reconnectDelayMs(0, 1000, 30_000, low)).toBe(500);
  expect(reconnectDelayMs(40, 1000, 30_000, low)).toBe(15000);
});
