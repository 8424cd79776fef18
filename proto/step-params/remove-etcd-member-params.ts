import Type, { type Static } from 'typebox';
import { kubeadmPatterns, patterns } from './value-patterns.ts';

export const RemoveEtcdMemberParamsSchema = Type.Object(
  {
    memberName: Type.Optional(Type.String({ pattern: patterns.hostname })),
    /** The member's peer URL as kubeadm registers it: "https://192.168.1.11:2380", "https://[fd00::11]:2380". */
    memberPeerUrl: Type.Optional(Type.String({ pattern: kubeadmPatterns.etcdPeerUrl })),
  },
  { additionalProperties: false },
);
export type RemoveEtcdMemberParams = Static<typeof RemoveEtcdMemberParamsSchema>;
