import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../common/logger.ts';

/** A logger whose JSON lines are kept in memory, so tests can read every line that was logged. */
export function capturedLogger(
  name: string,
  lines: string[] = [],
  level = 'debug',
): { logger: Logger; lines: string[] } {
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      callback();
    },
  });
  return { logger: createLogger({ name, level, destination }), lines };
}
