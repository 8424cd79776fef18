import { isIP } from 'node:net';
import { ErrorCode, KubehaError } from '../../common/errors.ts';
import { defaultLbPort } from '../../proto/step-params/load-balancer-params.ts';

export const apiserverPort = 6443;
export { defaultLbPort };

export interface HaproxyBackend {
  name: string;
  address: string;
}

export interface HaproxyConfigInput {
  /** The frontend port on every address; never 6443 where a local apiserver binds it. */
  lbPort: number;
  /** A control plane (the apiserver binds 6443 here), not a dedicated load-balancer node. */
  apiserverOnThisNode: boolean;
  /** Every control plane's apiserver (port 6443). */
  backends: readonly HaproxyBackend[];
  /** Health checks of each backend (HTTPS /healthz). */
  checkIntervalMs: number;
  checkFall: number;
  checkRise: number;
}

const serverName = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export function haproxyConfigProblems(input: HaproxyConfigInput): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(input.lbPort) || input.lbPort < 1 || input.lbPort > 65535) {
    problems.push(`lbPort: ${input.lbPort} is not a TCP port (1..65535)`);
  } else if (input.lbPort === apiserverPort && input.apiserverOnThisNode) {
    problems.push(
      `lbPort: ${apiserverPort} is the apiserver's own port on every control plane; use another (default ${defaultLbPort})`,
    );
  }
  if (input.backends.length === 0) problems.push('backends: at least one control plane is needed');
  const seen = new Set<string>();
  input.backends.forEach((backend, i) => {
    if (!serverName.test(backend.name)) problems.push(`backends[${i}].name: "${backend.name}" is not an RFC 1123 name`);
    else if (seen.has(backend.name)) problems.push(`backends[${i}].name: "${backend.name}" appears twice`);
    seen.add(backend.name);
    if (isIP(backend.address) === 0) {
      problems.push(`backends[${i}].address: "${backend.address}" is not an IPv4 or IPv6 address`);
    }
  });
  if (!Number.isInteger(input.checkIntervalMs) || input.checkIntervalMs < 100 || input.checkIntervalMs > 60_000) {
    problems.push(`checkIntervalMs: ${input.checkIntervalMs} is outside 100..60000`);
  }
  for (const [field, value] of [
    ['checkFall', input.checkFall],
    ['checkRise', input.checkRise],
  ] as const) {
    if (!Number.isInteger(value) || value < 1 || value > 100) problems.push(`${field}: ${value} is outside 1..100`);
  }
  return problems;
}

/**
 * haproxy.cfg: TCP passthrough to every apiserver with HTTPS /healthz checks, using only keywords that
 * HAProxy 1.8 (EL8) and 2.x both parse (no "http-check connect/send", no "log stdout").
 */
export function renderHaproxyConfig(input: HaproxyConfigInput): string {
  const problems = haproxyConfigProblems(input);
  if (problems.length > 0) {
    throw new KubehaError(ErrorCode.paramsInvalid, `HAProxy configuration refused:\n  ${problems.join('\n  ')}`, {
      details: problems,
    });
  }
  const servers = input.backends.map((b) => {
    const address = isIP(b.address) === 6 ? `ipv6@${b.address}` : b.address;
    return `    server ${b.name} ${address}:${apiserverPort} check check-ssl verify none`;
  });
  return [
    '# Written by kubeha (load-balancer step). Local changes are replaced on the next run.',
    'global',
    '    log /dev/log local0',
    '    maxconn 4000',
    '    daemon',
    '',
    'defaults',
    '    mode tcp',
    '    log global',
    '    option tcplog',
    '    option dontlognull',
    '    retries 3',
    '    option redispatch',
    '    timeout connect 5s',
    '    timeout client 35s',
    '    timeout server 35s',
    // Watches, exec and logs -f hold a connection open for long quiet stretches.
    '    timeout tunnel 1h',
    '    timeout check 2s',
    '',
    'frontend kubeha-apiserver',
    `    bind *:${input.lbPort}`,
    '    mode tcp',
    '    option tcplog',
    '    default_backend kubeha-apiservers',
    '',
    'backend kubeha-apiservers',
    '    mode tcp',
    '    option httpchk GET /healthz',
    '    http-check expect status 200',
    '    balance roundrobin',
    `    default-server inter ${input.checkIntervalMs}ms fall ${input.checkFall} rise ${input.checkRise}`,
    ...servers,
    '',
  ].join('\n');
}
