import type { SimExecution } from './sim-agent.ts';

const secretParams = ['bootstrapToken', 'certificateKey', 'token', 'authPass'];

/** Every secret value the coordinator handed to the simulated agents during a test. */
export function secretsSentToAgents(executions: readonly SimExecution[]): string[] {
  const values = new Set<string>();
  for (const e of executions) {
    for (const name of secretParams) {
      const value = e.params[name];
      if (typeof value === 'string' && value.length > 0) values.add(value);
    }
  }
  return [...values];
}

/** The secrets among `secrets` that occur in any of `texts`. */
export function leakedSecrets(secrets: readonly string[], texts: readonly string[]): string[] {
  const all = texts.join('\n');
  return secrets.filter((s) => all.includes(s));
}
