import { describe, expect, it } from 'vitest';
import { quorumProblemOfRemoval } from './etcd-quorum.ts';
import type { EtcdMember } from './etcdctl.ts';

const member = (n: number, isLearner = false): EtcdMember => ({
  id: `a${n}`,
  name: `cp${n}`,
  peerUrls: [`https://10.0.0.${n}:2380`],
  clientUrls: [`https://10.0.0.${n}:2379`],
  isLearner,
});
const cp = [member(1), member(2), member(3), member(4), member(5)];
const health = (...healthy: number[]) =>
  [1, 2, 3, 4, 5].map((n) => ({ endpoint: `https://10.0.0.${n}:2379`, healthy: healthy.includes(n) }));

describe('quorumProblemOfRemoval', () => {
  it.each([
    ['3 members, the dead one removed', cp.slice(0, 3), health(1, 2), [cp[2]!], undefined],
    ['3 healthy members, one removed', cp.slice(0, 3), health(1, 2, 3), [cp[1]!], undefined],
    [
      '3 members with cp3 dead, a healthy one removed',
      cp.slice(0, 3),
      health(1, 2),
      [cp[1]!],
      'removing cp2 leaves 1 of 2 etcd members healthy; etcd needs 2 for quorum',
    ],
    [
      '3 members with two dead',
      cp.slice(0, 3),
      health(1),
      [cp[2]!],
      'etcd has no quorum now: 1 of 3 voting members healthy (cp1), 2 needed; a member can only be removed with quorum',
    ],
    ['5 members, two dead removed together', cp, health(1, 2, 3), [cp[3]!, cp[4]!], undefined],
    [
      '5 members with two dead, two healthy ones removed',
      cp,
      health(1, 2, 3),
      [cp[1]!, cp[2]!],
      'removing cp2, cp3 leaves 1 of 3 etcd members healthy; etcd needs 2 for quorum',
    ],
    ['a learner removed', [...cp.slice(0, 3), member(4, true)], health(1, 2), [member(4, true)], undefined],
  ])('GIVEN %s', (_name, members, h, targets, expected) => {
    expect(quorumProblemOfRemoval(members, h, targets)).toBe(expected);
  });
});
