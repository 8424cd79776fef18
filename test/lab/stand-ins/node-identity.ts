// Who this lab node is: written by the lab into the node's own /etc when it builds the node.
import { readFileSync } from 'node:fs';

export const nodeIdentityPath = '/etc/khlab/node.json';

export interface NodeIdentity {
  name: string;
  address: string;
  /** The lab-wide directory the stand-in apiservers share (the etcd stand-in). */
  clusterDir: string;
}

export function readNodeIdentity(): NodeIdentity {
  return JSON.parse(readFileSync(nodeIdentityPath, 'utf8')) as NodeIdentity;
}
