import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level, so equal parameters always serialise to the same bytes. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** "sha256:<hex>" of a step's parameters in canonical JSON: the identity of what a step applied. */
export function paramsChecksum(params: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(params)).digest('hex')}`;
}
