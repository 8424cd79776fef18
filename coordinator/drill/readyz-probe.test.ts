import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestPki } from '../../test/support/test-pki.ts';
import { createReadyzProbe } from './readyz-probe.ts';

let server: Server;
let endpoint = '';
let status = 200;
let caPem = '';

beforeAll(async () => {
  const pki = await makeTestPki();
  caPem = pki.caPem;
  server = createServer({ key: pki.keyPem, cert: pki.certPem }, (req, res) => {
    res.statusCode = req.url === '/readyz' ? status : 404;
    res.end(status === 200 ? 'ok' : '[-]etcd failed');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
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

  it('GIVEN no CA WHEN probed THEN a certificate from a CA it does not know is accepted', async () => {
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
