import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { resolveSecret } from '../../common/secret-argument.ts';

export interface CliConnection {
  server: string;
  token: string;
  /** Said once on stderr: the token came from the command line. */
  warnings: string[];
  /** How an https:// server is verified: the coordinator's CA certificate (PEM), or its hash to pin. */
  caCertPem?: string;
  caCertHash?: string;
}

function isLoopbackServer(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Where the CLI finds the coordinator: flags, then KUBEHA_SERVER / KUBEHA_TOKEN, then ~/.kube/kubeha.yaml
 * ({ server, token } or { server, tokenFile }, with caCertHash or caCert for an https:// server). Plain http:// is
 * refused to anything but loopback. Only the composition root passes env and home in.
 */
export function resolveConnection(
  flags: {
    server?: string | undefined;
    token?: string | undefined;
    tokenFile?: string | undefined;
    caCert?: string | undefined;
    caCertHash?: string | undefined;
  },
  env: Record<string, string | undefined>,
  home: string | undefined,
): CliConnection {
  let file: { server?: string; token?: string; tokenFile?: string; caCert?: string; caCertHash?: string } = {};
  const path = home ? join(home, '.kube', 'kubeha.yaml') : undefined;
  if (path && existsSync(path)) file = (parseYaml(readFileSync(path, 'utf8')) as typeof file) ?? {};
  const server = flags.server ?? env['KUBEHA_SERVER'] ?? file.server ?? 'http://127.0.0.1:7444';
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new Error(`server ${server}: not a URL (https://HOST:7444)`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`server ${server}: http(s) only`);
  if (url.protocol === 'http:' && !isLoopbackServer(url)) {
    throw new Error(
      `server ${server}: refusing plain http:// to a non-loopback address (the admin token would cross the network ` +
        'in clear); use https:// with caCertHash (kubeha token create prints it)',
    );
  }
  const caCertFile = flags.caCert ?? env['KUBEHA_CA_CERT'] ?? file.caCert;
  const caCertHash = flags.caCertHash ?? env['KUBEHA_CA_CERT_HASH'] ?? file.caCertHash;
  if (caCertHash !== undefined && !/^sha256:[0-9a-f]{64}$/.test(caCertHash)) {
    throw new Error(`caCertHash ${caCertHash}: expected sha256: followed by 64 hex digits`);
  }
  const warnings: string[] = [];
  const fromFlags = resolveSecret('token', { flag: flags.token, file: flags.tokenFile });
  if (fromFlags.warning) warnings.push(fromFlags.warning);
  let token = fromFlags.value ?? env['KUBEHA_TOKEN'] ?? file.token;
  const tokenFile = (env['KUBEHA_TOKEN_FILE'] ?? file.tokenFile)?.replace(/^~(?=\/)/, home ?? '~');
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
  return {
    server,
    token,
    warnings,
    ...(caCertFile !== undefined ? { caCertPem: readFileSync(caCertFile, 'utf8') } : {}),
    ...(caCertHash !== undefined ? { caCertHash } : {}),
  };
}
