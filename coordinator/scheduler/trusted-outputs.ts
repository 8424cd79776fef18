import { parse } from 'yaml';

/**
 * The outputs the coordinator keeps and acts on, and the only step kinds that make them: an agent can report any
 * output on any step, so a value that reaches other nodes or the operator's workstation is taken only from its maker.
 * Outputs not listed (a drill action's measurements, verify's report) are kept on the step as reported.
 */
export const outputProducers: Readonly<Record<string, readonly string[]>> = {
  caCertHash: ['kubeadm-init'],
  caCertPem: ['kubeadm-init'],
  kubeconfig: ['kubeadm-init', 'certs-renew'],
  manifestSha256: ['cni'],
};

/** Why an admin kubeconfig is refused, or undefined: it may only reach the cluster's endpoint and run nothing. */
export function kubeconfigProblem(text: string, endpoint: string): string | undefined {
  let doc: unknown;
  try {
    doc = parse(text, { maxAliasCount: 10 });
  } catch (error) {
    return `not YAML: ${(error as Error).message.split('\n')[0]}`;
  }
  const config = doc as {
    kind?: unknown;
    clusters?: { cluster?: { server?: unknown } }[];
    users?: { name?: unknown; user?: Record<string, unknown> }[];
  } | null;
  if (config?.kind !== 'Config') return 'not a kubeconfig (kind: Config)';
  const clusters = Array.isArray(config.clusters) ? config.clusters : [];
  if (clusters.length === 0) return 'names no cluster';
  const expected = `https://${endpoint}`;
  for (const entry of clusters) {
    const server = String(entry?.cluster?.server ?? '');
    if (server.replace(/\/$/, '') !== expected) return `its server ${server} is not the cluster's endpoint ${expected}`;
  }
  for (const entry of Array.isArray(config.users) ? config.users : []) {
    const user = entry?.user ?? {};
    for (const key of ['exec', 'auth-provider', 'tokenFile']) {
      // exec and auth-provider would run a program on the workstation of whoever uses the kubeconfig.
      if (key in user) return `user ${String(entry?.name ?? '')} has ${key}, which kubeha never writes`;
    }
  }
  return undefined;
}

/** The reported outputs split into those the coordinator takes and those it refuses (with the reason). */
export function trustedOutputs(
  stepKind: string,
  outputs: Record<string, string>,
  endpoint: string,
): { accepted: Record<string, string>; refused: { name: string; reason: string }[] } {
  const accepted: Record<string, string> = {};
  const refused: { name: string; reason: string }[] = [];
  for (const [name, value] of Object.entries(outputs)) {
    const producers = outputProducers[name];
    if (producers && !producers.includes(stepKind)) {
      const who =
        producers.length === 1
          ? `${producers[0]} reports`
          : `${producers.slice(0, -1).join(', ')} and ${producers.at(-1)} report`;
      refused.push({ name, reason: `only ${who} ${name}, not ${stepKind}` });
      continue;
    }
    if (name === 'kubeconfig') {
      const problem = kubeconfigProblem(value, endpoint);
      if (problem) {
        refused.push({ name, reason: `the kubeconfig is refused: ${problem}` });
        continue;
      }
    }
    accepted[name] = value;
  }
  return { accepted, refused };
}
