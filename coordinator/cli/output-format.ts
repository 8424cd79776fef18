import { stringify as toYaml } from 'yaml';
import { CliUsageError } from './cli-usage-error.ts';

/** `-o`: a table (the default), a wider table, or the API's data as JSON or YAML. */
export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml';

const formats: readonly OutputFormat[] = ['json', 'yaml', 'wide'];

export function parseOutputFormat(value: string | undefined): OutputFormat {
  if (value === undefined) return 'table';
  if ((formats as readonly string[]).includes(value)) return value as OutputFormat;
  throw new CliUsageError(`-o/--output: "${value}" is not one of ${formats.join(', ')}`);
}

export function isStructured(format: OutputFormat): format is 'json' | 'yaml' {
  return format === 'json' || format === 'yaml';
}

/** The value as JSON or YAML, without a trailing newline. */
export function formatStructured(format: 'json' | 'yaml', value: unknown): string {
  return format === 'json' ? JSON.stringify(value, null, 2) : toYaml(value).trimEnd();
}
