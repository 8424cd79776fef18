// The etcd stand-in: one cluster's API objects as JSON files in a directory every stand-in apiserver of the lab
// shares. Each write is a rename, so a reader never sees half an object.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    creationTimestamp?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string }[];
  };
  [field: string]: unknown;
}

export interface EtcdMember {
  id: string;
  name: string;
  peerURL: string;
  clientURL: string;
}

function safe(part: string): string {
  if (!/^[a-z0-9][a-z0-9.-]*$/.test(part)) throw new Error(`not a valid object name: ${part}`);
  return part;
}

export class ClusterStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  private path(resource: string, namespace: string | undefined, name?: string): string {
    const ns = namespace === undefined ? '_cluster' : safe(namespace);
    const dir = join(this.dir, 'objects', safe(resource), ns);
    return name === undefined ? dir : join(dir, `${safe(name)}.json`);
  }

  get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    try {
      return JSON.parse(readFileSync(this.path(resource, namespace, name), 'utf8')) as KubeObject;
    } catch {
      return undefined;
    }
  }

  /** Objects of a resource in one namespace, or everywhere (cluster-scoped and all namespaces) when undefined. */
  list(resource: string, namespace?: string): KubeObject[] {
    const namespaces = namespace !== undefined ? [namespace] : readDir(join(this.dir, 'objects', safe(resource)));
    const objects: KubeObject[] = [];
    for (const ns of namespaces) {
      for (const file of readDir(join(this.dir, 'objects', resource, ns)).filter((f) => f.endsWith('.json'))) {
        const object = this.get(resource, ns === '_cluster' ? undefined : ns, file.slice(0, -5));
        if (object) objects.push(object);
      }
    }
    return objects.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  }

  put(resource: string, object: KubeObject): KubeObject {
    const old = this.get(resource, object.metadata.namespace, object.metadata.name);
    const stored: KubeObject = {
      ...object,
      metadata: {
        ...object.metadata,
        uid: old?.metadata.uid ?? object.metadata.uid ?? randomUUID(),
        creationTimestamp: old?.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        resourceVersion: String(Date.now()),
      },
    };
    const path = this.path(resource, object.metadata.namespace, object.metadata.name);
    mkdirSync(this.path(resource, object.metadata.namespace), { recursive: true });
    const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(temp, JSON.stringify(stored, null, 2));
    renameSync(temp, path);
    return stored;
  }

  delete(resource: string, namespace: string | undefined, name: string): boolean {
    const existed = this.get(resource, namespace, name) !== undefined;
    rmSync(this.path(resource, namespace, name), { force: true });
    return existed;
  }

  etcdMembers(): EtcdMember[] {
    try {
      return JSON.parse(readFileSync(join(this.dir, 'etcd-members.json'), 'utf8')) as EtcdMember[];
    } catch {
      return [];
    }
  }

  setEtcdMembers(members: EtcdMember[]): void {
    mkdirSync(this.dir, { recursive: true });
    const temp = join(this.dir, `etcd-members.${randomBytes(4).toString('hex')}.tmp`);
    writeFileSync(temp, JSON.stringify(members, null, 2));
    renameSync(temp, join(this.dir, 'etcd-members.json'));
  }

  /** Adds (or keeps) a member for the node; ids are 16 hex digits as etcd prints them. */
  addEtcdMember(name: string, address: string): EtcdMember {
    const members = this.etcdMembers();
    const existing = members.find((m) => m.name === name);
    if (existing) return existing;
    const member = {
      id: randomBytes(8).toString('hex'),
      name,
      peerURL: `https://${address}:2380`,
      clientURL: `https://${address}:2379`,
    };
    this.setEtcdMembers([...members, member]);
    return member;
  }

  removeEtcdMember(id: string): boolean {
    const members = this.etcdMembers();
    const wanted = BigInt(`0x${id}`);
    const left = members.filter((m) => BigInt(`0x${m.id}`) !== wanted);
    this.setEtcdMembers(left);
    return left.length !== members.length;
  }
}

function readDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}
