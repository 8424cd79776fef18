import { connect, type SecureVersion } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { type SimCoordinator, startSimCoordinator } from '../sim/sim-coordinator.ts';

let sim: SimCoordinator | undefined;

afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

/** A TLS handshake with the given client limits: the negotiated protocol and suite, or the error. */
function handshake(
  port: number,
  ca: string,
  options: { maxVersion?: SecureVersion; minVersion?: SecureVersion; ciphers?: string },
): Promise<{ ok: true; protocol: string; cipher: string } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', ALPNProtocols: ['h2'], ...options });
    socket.once('secureConnect', () => {
      resolve({ ok: true, protocol: socket.getProtocol() ?? '', cipher: socket.getCipher().name });
      socket.destroy();
    });
    socket.once('error', (error) => resolve({ ok: false, error: error.message }));
  });
}

describe("the agent gateway's TLS", () => {
  it('GIVEN clients offering CBC-SHA1 suites or TLS 1.1 THEN the handshake fails; TLS 1.3 and TLS 1.2 with AEAD pass', async () => {
    sim = await startSimCoordinator();
    const port = sim.coordinator.grpcPort;
    const ca = sim.coordinator.caCertificatePem;
    const tls12 = { maxVersion: 'TLSv1.2' as const };
    expect(await handshake(port, ca, { ...tls12, ciphers: 'ECDHE-ECDSA-AES128-SHA' })).toMatchObject({ ok: false });
    expect(await handshake(port, ca, { ...tls12, ciphers: 'ECDHE-ECDSA-AES256-SHA384' })).toMatchObject({ ok: false });
    expect(
      await handshake(port, ca, { maxVersion: 'TLSv1.1', minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' }),
    ).toMatchObject({ ok: false });
    expect(await handshake(port, ca, { ...tls12, ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' })).toEqual({
      ok: true,
      protocol: 'TLSv1.2',
      cipher: 'ECDHE-ECDSA-AES128-GCM-SHA256',
    });
    expect(await handshake(port, ca, {})).toMatchObject({ ok: true, protocol: 'TLSv1.3' });
  });
});
