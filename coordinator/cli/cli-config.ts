import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { resolveSecret } from '../../common/secret-argument.ts';

export interface CliConnection {
  server: string;
  token: string;
  /** Said once on stderr: the token came from the command line. */
  warnings: string[];
}

/**
 * Where the CLI finds the coordinator: flags, then KUBEHA_SERVER / KUBEHA_TOKEN, then ~/.kube/kubeha.yaml
 * ({ server, token } or { server, tokenFile }). Only the composition root passes env and home in.
 */
export function resolveConnection(
  flags: { server?: string | undefined; token?: string | undefined; tokenFile?: string | undefined },
  env: Record<string, string | undefined>,
  home: string | undefined,
): CliConnection {
  let file: { server?: string; token?: string; tokenFile?: string } = {};
  const path = home ? join(home, '.kube', 'kubeha.yaml') : undefined;
  if (path && existsSync(path)) file = (parseYaml(readFileSync(path, 'utf8')) as typeof file) ?? {};
  const server = flags.server ?? env['KUBEHA_SERVER'] ?? file.server ?? 'http://127.0.0.1:7444';
  const warnings: string[] = [];
  const fromFlags = resolveSecret('token', { flag: flags.token, file: flags.tokenFile });
  if (fromFlags.warning) warnings.push(fromFlags.warning);
  let token = fromFlags.value ?? env['KUBEHA_TOKEN'] ?? file.token;
  const tokenFile = env['KUBEHA_TOKEN_FILE'] ?? file.tokenFile;
  if (!token && tokenFile && existsSync(tokenFile)) token = readFileSync(tokenFile, 'utf8').trim();
  if (!token && existsSync('/var/lib/kubeha-coordinator/admin-token')) {
    try {
      token = readFileSync('/var/lib/kubeha-coordinator/admin-token', 'utf8').trim();
    } catch {
      // not readable by this user: the error below says what to do
    }
  }
  if (!token) {
    throw new Error(
      'no API token: pass --token-file, set KUBEHA_TOKEN, or put "token:" in ~/.kube/kubeha.yaml ' +
        '(the coordinator writes it to /var/lib/kubeha-coordinator/admin-token)',
    );
  }
  return { server, token, warnings };
}
