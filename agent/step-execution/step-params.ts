import { isIP } from 'node:net';
import type { Static, TSchema } from 'typebox';
import Value from 'typebox/value';
import { ErrorCode, KubehaError } from '../../common/errors.ts';
import { schemaProblems } from '../../common/schema-check.ts';
import { withoutUnsetFields } from '../../proto/convert.ts';

export { type NodeRole, patterns, roles } from '../../proto/step-params/value-patterns.ts';

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
  const withDefaults = Value.Default(schema, structuredClone(withoutUnsetFields(kind, raw)));
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
