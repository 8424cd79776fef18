import type { TSchema } from 'typebox';
import Value from 'typebox/value';
import { jsonPointerToPath } from '../../common/schema-check.ts';
import { describeValue, phraseOf } from './cluster-spec-document.ts';

/** A field that breaks its schema: where (a JSON pointer and the dotted path) and what is wrong. */
export interface DocumentProblem {
  pointer: string;
  path: string;
  message: string;
}

/**
 * Every field of `value` that breaks `schema`, at most one problem per field, worded for an operator
 * ("spec.endpoint.port: must be between 1 and 65535, got 70000") rather than in JSON Schema's terms.
 */
export function documentProblems(schema: TSchema, value: unknown): DocumentProblem[] {
  const byPointer = new Map<string, DocumentProblem>();
  const add = (pointer: string, message: string) => {
    if (!byPointer.has(pointer)) byPointer.set(pointer, { pointer, path: jsonPointerToPath('', pointer), message });
  };
  for (const error of Value.Errors(schema, value)) {
    const node = schemaAt(schema, error.schemaPath);
    if (error.keyword === 'additionalProperties') continue;
    if (error.keyword === 'boolean') {
      add(error.instancePath, 'unknown field');
      continue;
    }
    if (error.keyword === 'required') {
      const properties = (node as { properties?: Record<string, TSchema> }).properties ?? {};
      for (const key of (error.params as { requiredProperties: string[] }).requiredProperties) {
        const child = properties[key];
        add(
          `${error.instancePath}/${escapePointer(key)}`,
          (child && phraseOf(child)?.(undefined, 'required')) ?? 'required',
        );
      }
      continue;
    }
    const found = valueAt(value, error.instancePath);
    add(
      error.instancePath,
      (node && phraseOf(node)?.(found, error.keyword)) ??
        genericMessage(error.keyword, error.params as Record<string, unknown>, node, found),
    );
  }
  return [...byPointer.values()];
}

function genericMessage(keyword: string, params: Record<string, unknown>, node: TSchema | undefined, value: unknown) {
  const got = describeValue(value);
  switch (keyword) {
    case 'type':
      return typeMessage(String(params['type']), got);
    case 'enum':
      return typeof value === 'string'
        ? `"${value}" is not one of ${(params['allowedValues'] as string[]).join(', ')}`
        : typeMessage('string', got);
    case 'const':
      return typeof value === 'string'
        ? `"${value}" is not ${String(params['allowedValue'])}`
        : typeMessage('string', got);
    case 'minimum':
    case 'maximum': {
      const { minimum, maximum } = node as { minimum?: number; maximum?: number };
      const bounds = maximum === undefined ? `at least ${minimum}` : `between ${minimum} and ${maximum}`;
      return `must be ${bounds}, got ${String(value)}`;
    }
    default:
      return `must satisfy ${keyword} ${JSON.stringify(params)}, got ${got}`;
  }
}

function typeMessage(type: string, got: string): string {
  if (type === 'string') return `must be a string, got ${got}`;
  if (type === 'integer' || type === 'number') return `must be an integer, got ${got}`;
  if (type === 'boolean') return `must be true or false, got ${got}`;
  if (type === 'array') return `must be a list, got ${got}`;
  return 'must be an object';
}

/** The schema node a TypeBox error's schemaPath ("#/properties/spec/properties/nodes/items") points at. */
function schemaAt(schema: TSchema, schemaPath: string): TSchema | undefined {
  let node: unknown = schema;
  for (const segment of schemaPath.split('/').slice(1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[unescapePointer(segment)];
  }
  return node as TSchema | undefined;
}

/** The value a JSON pointer ("/spec/nodes/0/name") names, or undefined when the document has none there. */
export function valueAt(document: unknown, pointer: string): unknown {
  let node: unknown = document;
  for (const segment of pointer.split('/').slice(1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[unescapePointer(segment)];
  }
  return node;
}

function escapePointer(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

function unescapePointer(segment: string): string {
  if (!segment.includes('~')) return segment;
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}
