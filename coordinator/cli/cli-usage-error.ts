/** A mistake in the command line (a bad flag value, a missing argument): printed with its flag, exit code 2. */
export class CliUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliUsageError';
  }
}
