// kubeadm's certificates, made with openssl as kubeadm makes them: RSA 2048 keys, a cluster CA, an etcd CA, a
// front-proxy CA and the leaf certificates signed by them.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const pkiDir = '/etc/kubernetes/pki';

function openssl(args: string[], input?: string): string {
  return execFileSync('openssl', args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

function write(path: string, content: string, mode: number): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content, { mode });
}

/** A self-signed CA at `<base>.crt` / `<base>.key` under the pki directory. */
export function createCa(base: string, commonName: string): void {
  const keyPath = join(pkiDir, `${base}.key`);
  const certPath = join(pkiDir, `${base}.crt`);
  mkdirSync(dirname(keyPath), { recursive: true });
  openssl(['genrsa', '-out', keyPath, '2048']);
  openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    keyPath,
    '-subj',
    `/CN=${commonName}`,
    '-days',
    '3650',
    '-out',
    certPath,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign',
  ]);
}

export interface LeafRequest {
  ca: string;
  base: string;
  subject: string;
  sans?: string[];
  usage: 'server' | 'client' | 'both';
}

/** A key and a certificate signed by the CA `<ca>.crt`/`<ca>.key`. */
export function issueLeaf(request: LeafRequest): void {
  const keyPath = join(pkiDir, `${request.base}.key`);
  const certPath = join(pkiDir, `${request.base}.crt`);
  mkdirSync(dirname(keyPath), { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'kubeadm-certs-'));
  try {
    openssl(['genrsa', '-out', keyPath, '2048']);
    const csr = join(work, 'req.csr');
    openssl(['req', '-new', '-key', keyPath, '-subj', request.subject, '-out', csr]);
    const eku = { server: 'serverAuth', client: 'clientAuth', both: 'serverAuth,clientAuth' }[request.usage];
    const ext = [
      'keyUsage=critical,digitalSignature,keyEncipherment',
      `extendedKeyUsage=${eku}`,
      ...(request.sans && request.sans.length > 0
        ? [`subjectAltName=${request.sans.map((s) => (isIP(s) ? `IP:${s}` : `DNS:${s}`)).join(',')}`]
        : []),
    ].join('\n');
    writeFileSync(join(work, 'ext.cnf'), `${ext}\n`);
    openssl([
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      join(pkiDir, `${request.ca}.crt`),
      '-CAkey',
      join(pkiDir, `${request.ca}.key`),
      '-CAcreateserial',
      '-days',
      '365',
      '-extfile',
      join(work, 'ext.cnf'),
      '-out',
      certPath,
    ]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export function readPki(base: string): { cert: string; key: string } {
  return {
    cert: readFileSync(join(pkiDir, `${base}.crt`), 'utf8'),
    key: readFileSync(join(pkiDir, `${base}.key`), 'utf8'),
  };
}

/** The certificates kubeadm shares between control planes through the kubeadm-certs Secret. */
export const sharedCertificateFiles = [
  'ca.crt',
  'ca.key',
  'sa.key',
  'sa.pub',
  'front-proxy-ca.crt',
  'front-proxy-ca.key',
  'etcd/ca.crt',
  'etcd/ca.key',
];

/** The Secret data key kubeadm uses for a shared file (etcd/ca.crt -> etcd-ca.crt). */
export function secretKeyFor(file: string): string {
  return file.replace('/', '-');
}

export function createServiceAccountKeys(): void {
  const key = join(pkiDir, 'sa.key');
  openssl(['genrsa', '-out', key, '2048']);
  write(join(pkiDir, 'sa.pub'), openssl(['rsa', '-in', key, '-pubout']), 0o644);
}

/** The per-node certificates of a control plane (apiserver, kubelet client, etcd server/peer/healthcheck). */
export function issueControlPlaneLeaves(options: {
  nodeName: string;
  address: string;
  endpointHost: string;
  serviceIp: string;
}): void {
  const apiserverSans = [
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    'kubernetes.default.svc.cluster.local',
    options.nodeName,
    options.serviceIp,
    options.address,
    options.endpointHost,
    '127.0.0.1',
  ];
  issueLeaf({
    ca: 'ca',
    base: 'apiserver',
    subject: '/CN=kube-apiserver',
    sans: [...new Set(apiserverSans)],
    usage: 'server',
  });
  issueLeaf({
    ca: 'ca',
    base: 'apiserver-kubelet-client',
    subject: '/O=kubeadm:cluster-admins/CN=kube-apiserver-kubelet-client',
    usage: 'client',
  });
  issueLeaf({ ca: 'front-proxy-ca', base: 'front-proxy-client', subject: '/CN=front-proxy-client', usage: 'client' });
  const etcdSans = [options.nodeName, 'localhost', options.address, '127.0.0.1'];
  issueLeaf({ ca: 'etcd/ca', base: 'etcd/server', subject: `/CN=${options.nodeName}`, sans: etcdSans, usage: 'both' });
  issueLeaf({ ca: 'etcd/ca', base: 'etcd/peer', subject: `/CN=${options.nodeName}`, sans: etcdSans, usage: 'both' });
  issueLeaf({
    ca: 'etcd/ca',
    base: 'etcd/healthcheck-client',
    subject: '/CN=kube-etcd-healthcheck-client',
    usage: 'client',
  });
  issueLeaf({
    ca: 'etcd/ca',
    base: 'apiserver-etcd-client',
    subject: '/CN=kube-apiserver-etcd-client',
    usage: 'client',
  });
}
