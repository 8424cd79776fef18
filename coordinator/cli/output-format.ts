import { stringify as toYaml } from 'yaml';
import { CliUsageError } from './cli-usage-error.ts';
import { renderTable } from './table.ts';

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

/**
 * A list as `-o` asks for it: the API's items as JSON or YAML, else a table of one row per item (the wide format
 * adds columns). Returns the exit code.
 */
export function printList<T>(
  out: (text: string) => void,
  format: OutputFormat,
  items: readonly T[],
  table: { header: (wide: boolean) => string[]; row: (item: T, wide: boolean) => string[] },
): number {
  if (isStructured(format)) {
    out(formatStructured(format, items));
    return 0;
  }
  const wide = format === 'wide';
  out(
    renderTable(
      table.header(wide),
      items.map((item) => table.row(item, wide)),
    ),
  );
  return 0;
}
