import { isIP } from 'node:net';
import type { Static, TSchema } from 'typebox';
import Value from 'typebox/value';
import { ErrorCode, KubehaError } from '../../common/errors.ts';
import { schemaProblems } from '../../common/schema-check.ts';

/** Strict patterns for every value that can reach a command line or a file we write. */
export const patterns = {
  /** RFC 1123 hostname, lowercase (Kubernetes node names). */
  hostname: '^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$',
  /** X.Y.Z, as kubeadm and the package repository spell it. */
  kubernetesVersion: '^(0|[1-9][0-9]{0,2})\\.(0|[1-9][0-9]{0,2})\\.(0|[1-9][0-9]{0,3})$',
  /** http(s) URL without quotes, spaces, shell or repo-file metacharacters. */
  url: '^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~:/%+@!=,-]*)?$',
  /** A registry host[:port] and an optional path, without tag: kubeadm's imageRepository. */
  imageRepository: '^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*$',
  /** A container registry host[:port]. */
  registry: '^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$',
  /** registry/path:tag or @sha256 digest. */
  image:
    '^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)+(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127}|@sha256:[0-9a-f]{64})$',
} as const;

export const roles = ['control-plane', 'worker', 'load-balancer'] as const;
export type NodeRole = (typeof roles)[number];

/** proto3 cannot tell an empty string from an absent field: both mean "use the default". */
function dropEmptyStrings(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== ''));
}

/**
 * Validates raw camelCase parameters against the step's schema, fills defaults, and runs the extra checks
 * a schema cannot say. Throws KubehaError(paramsInvalid) listing every problem as "kind.path: problem".
 */
export function parseStepParams<S extends TSchema>(
  kind: string,
  schema: S,
  raw: unknown,
  extraChecks: (params: Static<S>) => string[] = () => [],
): Static<S> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new KubehaError(ErrorCode.paramsInvalid, `${kind}: parameters must be a mapping`);
  }
  const withDefaults = Value.Default(schema, structuredClone(dropEmptyStrings(raw)));
  const problems = schemaProblems(schema, withDefaults, kind);
  if (problems.length === 0) {
    for (const p of extraChecks(withDefaults as Static<S>)) problems.push(`${kind}.${p}`);
  }
  if (problems.length > 0) {
    throw new KubehaError(ErrorCode.paramsInvalid, `${kind}: invalid parameters: ${problems.join('; ')}`, {
      details: problems,
    });
  }
  return withDefaults as Static<S>;
}

export function isIpAddress(value: string): boolean {
  return isIP(value) !== 0;
}

/** "1.31.4" -> "1.31". */
export function minorOf(version: string): string {
  return version.split('.').slice(0, 2).join('.');
}

/** -1, 0, 1 comparing dotted numeric versions ("1.35.0" vs "1.9"). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}
