import pino, { type DestinationStream, type Logger } from 'pino';
import { redactSecrets } from './redact.ts';

export type { Logger } from 'pino';

export interface LoggerOptions {
  name: string;
  level?: string;
  /** Where the JSON lines go; stdout (for journald) when absent. Tests pass a capturing stream. */
  destination?: DestinationStream;
}

/**
 * pino JSON logs. Known secret fields are censored by path, and every line is scrubbed once more for
 * secret shapes, so a token pasted into an error message does not leak either.
 */
export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      name: options.name,
      level: options.level ?? 'info',
      redact: {
        paths: [
          'token',
          '*.token',
          'secret',
          '*.secret',
          'privateKey',
          '*.privateKey',
          'authorization',
          '*.authorization',
          'req.headers.authorization',
          'certificateKey',
          '*.certificateKey',
          'csr_pem',
          '*.csr_pem',
        ],
        censor: '<redacted>',
      },
      hooks: { streamWrite: (line: string) => redactSecrets(line) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
