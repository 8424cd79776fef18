import { describe, expect, it } from 'vitest';
import { initializedPhase } from './cluster-phase.fixture.ts';
import type { ClusterPhase } from './cluster-phase.ts';
import { decideVrrpVerdict, type ProbeState, probeStateAfterPhaseChange } from './vrrp-verdict.ts';

const initialized = initializedPhase();
const now = 1_000_000;
const ok: ProbeState = { ok: true, detail: 'HTTP 200', finishedAtMs: now - 200 };
const failing: ProbeState = { ok: false, detail: 'connect ECONNREFUSED 127.0.0.1:16443', finishedAtMs: now - 100 };

describe('decideVrrpVerdict', () => {
  it.each([
    ['healthy', initialized, ok, true, 'local HAProxy ready: HTTP 200', 200],
    ['probe failing', initialized, failing, false, 'local HAProxy not ready: connect ECONNREFUSED', 100],
    [
      'probe stale (older than the limit)',
      initialized,
      { ...ok, finishedAtMs: now - 1501 },
      false,
      'probe result is stale: 1501 ms old (limit 1500 ms)',
      1501,
    ],
    ['probe at the staleness limit', initialized, { ...ok, finishedAtMs: now - 1500 }, true, 'ready', 1500],
    [
      'mode keepalived probes the apiserver',
      { ...initialized, endpointMode: 'keepalived' },
      failing,
      false,
      'local apiserver not ready',
      100,
    ],
    ['no probe result yet', initialized, undefined, false, 'no probe result yet', -1],
    [
      'bootstrap on the init node',
      { ...initialized, initialized: false, initNode: true },
      failing,
      true,
      'bootstrap: this node runs kubeadm init',
      -1,
    ],
    [
      'bootstrap on another node',
      { ...initialized, initialized: false, initNode: false },
      ok,
      false,
      'bootstrap: waiting for kubeadm init',
      -1,
    ],
    ['phase unknown', undefined, ok, false, 'has not told this agent the cluster phase', -1],
    ['mode external', { ...initialized, endpointMode: 'external' }, ok, false, 'endpoint mode external', -1],
  ] as const)('%s', (_name, phase, probe, healthy, reason, age) => {
    const verdict = decideVrrpVerdict(phase as ClusterPhase | undefined, probe, now, 1500);
    expect(verdict.healthy).toBe(healthy);
    expect(verdict.reason).toContain(reason);
    expect(verdict.probeAgeMs).toBe(age);
    // Only "cannot tell yet" sends the check script to its own probe.
    expect(verdict.unknown).toBe(probe === undefined || phase === undefined);
  });
});

describe('probeStateAfterPhaseChange', () => {
  const bootstrapInit: ClusterPhase = { ...initialized, initialized: false, initNode: true };
  const healthy = decideVrrpVerdict(bootstrapInit, failing, now, 500);

  it('GIVEN the init node healthy through bootstrap WHEN init has finished THEN the verdict carries over as a fresh healthy state', () => {
    expect(healthy.healthy).toBe(true);
    const carried = probeStateAfterPhaseChange(bootstrapInit, { ...bootstrapInit, initialized: true }, healthy, now);
    expect(carried).toMatchObject({ ok: true, finishedAtMs: now });
    expect(decideVrrpVerdict({ ...bootstrapInit, initialized: true }, carried, now, 500).healthy).toBe(true);
  });

  it.each([
    ['no earlier phase (an agent restart)', undefined, initialized],
    ['already initialised', initialized, { ...initialized, clusterCaPem: 'CA' }],
    ['still bootstrapping', bootstrapInit, { ...bootstrapInit, clusterCaPem: 'CA' }],
  ])('GIVEN %s THEN the probe state is kept', (_, before, after) => {
    expect(probeStateAfterPhaseChange(before, after, healthy, now)).toBeUndefined();
  });

  it('GIVEN an unknown verdict before THEN nothing is carried', () => {
    const unknown = decideVrrpVerdict(undefined, undefined, now, 500);
    expect(probeStateAfterPhaseChange(bootstrapInit, initialized, unknown, now)).toBeUndefined();
  });
});
