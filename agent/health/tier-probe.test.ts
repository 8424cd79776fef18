import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StandInApiserver, startStandInApiserver } from '../../test/netns/stand-in-apiserver.ts';
import { freePort } from '../../test/support/free-port.ts';
import { makeTestPki, type TestPki } from '../../test/support/test-pki.ts';
import { KeptAliveConnection, probeTier } from './tier-probe.ts';

let pki: TestPki;
let otherCa: string;
let apiserver: StandInApiserver;

beforeAll(async () => {
  pki = await makeTestPki();
  otherCa = (await makeTestPki()).caPem;
  apiserver = await startStandInApiserver({ certPem: pki.certPem, keyPem: pki.keyPem, port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await apiserver.close();
});

describe('probeTier', () => {
  it('is ok on HTTP 200 with the chain verified by the cluster CA', async () => {
    apiserver.setStatus(200);
    expect(await probeTier(`https://127.0.0.1:${apiserver.port}/readyz`, pki.caPem, 1000)).toEqual({
      ok: true,
      detail: 'HTTP 200',
    });
  });

  it('fails on a certificate the cluster CA did not sign', async () => {
    const result = await probeTier(`https://127.0.0.1:${apiserver.port}/readyz`, otherCa, 1000);
    expect(result.ok).toBe(false);
    expect(result.detail).toMatch(/certificate/i);
  });

  it('accepts any certificate before the cluster CA is known, and says so', async () => {
    const result = await probeTier(`https://127.0.0.1:${apiserver.port}/readyz`, '', 1000);
    expect(result).toEqual({ ok: true, detail: 'HTTP 200 (cluster CA not known yet: unverified)' });
  });

  it('fails on a non-200 answer and on a refused connection', async () => {
    apiserver.setStatus(500);
    expect(await probeTier(`https://127.0.0.1:${apiserver.port}/readyz`, pki.caPem, 1000)).toEqual({
      ok: false,
      detail: 'HTTP 500',
    });
    apiserver.setStatus(200);
    const refused = await probeTier(`https://127.0.0.1:${await freePort()}/readyz`, pki.caPem, 1000);
    expect(refused.ok).toBe(false);
    expect(refused.detail).toContain('ECONNREFUSED');
  });
});

describe('KeptAliveConnection', () => {
  it('GIVEN probes over it THEN they share one TLS connection, renewed every requestsPerConnection requests', async () => {
    const connections: unknown[] = [];
    const count = (socket: unknown) => connections.push(socket);
    apiserver.server.on('secureConnection', count);
    const lost: number[] = [];
    const reuse = new KeptAliveConnection({ requestsPerConnection: 3, onLost: () => lost.push(Date.now()) });
    try {
      const url = `https://127.0.0.1:${apiserver.port}/readyz`;
      for (let i = 0; i < 6; i++) expect((await probeTier(url, pki.caPem, 1000, { reuse })).ok).toBe(true);
      // Requests 1-3 on the first connection (the third asks to close it), 4-6 on the second.
      expect(connections).toHaveLength(2);
      expect(lost).toEqual([]);
    } finally {
      reuse.close();
      apiserver.server.off('secureConnection', count);
    }
  });

  it('GIVEN the tier drops the connection (it died) THEN onLost is called at once; drop() and close() are not losses', async () => {
    const lost: number[] = [];
    const reuse = new KeptAliveConnection({ onLost: () => lost.push(Date.now()) });
    try {
      const url = `https://127.0.0.1:${apiserver.port}/readyz`;
      await probeTier(url, pki.caPem, 1000, { reuse });
      reuse.drop();
      await new Promise((r) => setTimeout(r, 50));
      expect(lost).toEqual([]);
      await probeTier(url, pki.caPem, 1000, { reuse });
      apiserver.server.closeAllConnections();
      await expect.poll(() => lost.length, { timeout: 2_000, interval: 10 }).toBe(1);
      await probeTier(url, pki.caPem, 1000, { reuse });
    } finally {
      reuse.close();
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(lost).toHaveLength(1);
  });
});
