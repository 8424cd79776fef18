import type { TSchema } from 'typebox';
import Value from 'typebox/value';

/** "/nodes/3/address" under root "spec" -> "spec.nodes[3].address". */
export function jsonPointerToPath(root: string, pointer: string): string {
  let path = root;
  for (const raw of pointer.split('/').slice(1)) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    path += /^\d+$/.test(part) ? `[${part}]` : path === '' ? part : `.${part}`;
  }
  return path || '(root)';
}

/** Every problem of `value` against `schema`, each as "path: what is wrong". Empty when it conforms. */
export function schemaProblems(schema: TSchema, value: unknown, root: string): string[] {
  const problems: string[] = [];
  const unknownFieldPaths = new Set<string>();
  for (const error of Value.Errors(schema, value)) {
    if (error.keyword === 'boolean' && error.message === 'schema is false') {
      const path = jsonPointerToPath(root, error.instancePath);
      unknownFieldPaths.add(path);
      problems.push(`${path}: unknown field`);
      continue;
    }
    if (error.keyword === 'additionalProperties') continue;
    problems.push(`${jsonPointerToPath(root, error.instancePath)}: ${error.message}`);
  }
  return [...new Set(problems)];
}
