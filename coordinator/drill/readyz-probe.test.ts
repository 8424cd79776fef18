import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReadyzProbe } from './readyz-probe.ts';

const dir = mkdtempSync(join(tmpdir(), 'kubeha-readyz-'));
let server: Server;
let endpoint = '';
let status = 200;
let caPem = '';

beforeAll(async () => {
  const key = join(dir, 'key.pem');
  const crt = join(dir, 'crt.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      crt,
      '-subj',
      '/CN=kube-apiserver',
      '-days',
      '1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  caPem = readFileSync(crt, 'utf8');
  server = createServer({ key: readFileSync(key), cert: caPem }, (req, res) => {
    res.statusCode = req.url === '/readyz' ? status : 404;
    res.end(status === 200 ? 'ok' : '[-]etcd failed');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe('createReadyzProbe', () => {
  it('GIVEN an apiserver that is ready WHEN probed with its CA THEN true; not ready THEN false', async () => {
    const probe = createReadyzProbe({ endpoint, caPem });
    status = 200;
    expect(await probe()).toBe(true);
    status = 500;
    expect(await probe()).toBe(false);
    status = 200;
  });

  it('GIVEN no CA WHEN probed THEN the self-signed certificate is accepted', async () => {
    expect(await createReadyzProbe({ endpoint })()).toBe(true);
  });

  it('GIVEN nothing listening WHEN probed THEN false, not an error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expect(await createReadyzProbe({ endpoint: `127.0.0.1:${port}`, timeoutMs: 500 })()).toBe(false);
  });
});
