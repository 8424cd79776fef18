import Type, { type Static } from 'typebox';
import { kubeadmPatterns, patterns } from './value-patterns.ts';

/*
 * Roles: restore, on the first control plane, its member made anew from the snapshot (the only member).
 * add-member: on the first control plane, another control plane's member added through the restored one, as a learner.
 * join: on that other control plane, its member started empty, caught up and promoted to voting.
 */
export const EtcdRestoreMemberParamsSchema = Type.Object(
  {
    restoreId: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }),
    role: Type.Union([Type.Literal('restore'), Type.Literal('add-member'), Type.Literal('join')]),
    /** The member the step makes: this node's for restore and join, the joining node's for add-member. */
    memberName: Type.String({ pattern: patterns.hostname }),
    memberPeerUrl: Type.String({ pattern: kubeadmPatterns.etcdPeerUrl }),
    /** join: the restored member's client URL, through which this member is promoted. */
    restoredClientUrl: Type.Optional(Type.String({ pattern: kubeadmPatterns.etcdPeerUrl })),
    /** join: NAME=PEER_URL of every member once this one has joined, for its manifest's --initial-cluster. */
    initialCluster: Type.Optional(
      Type.String({ pattern: '^[a-z0-9.-]+=https://[^,=\\s]+(,[a-z0-9.-]+=https://[^,=\\s]+)*$' }),
    ),
    /** restore: the snapshot, and the sha256 its file on this node must have. */
    snapshotId: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' })),
    snapshotSha256: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
    waitTimeoutSeconds: Type.Integer({ minimum: 10, maximum: 3600, default: 300 }),
  },
  { additionalProperties: false },
);
export type EtcdRestoreMemberParams = Static<typeof EtcdRestoreMemberParamsSchema>;
