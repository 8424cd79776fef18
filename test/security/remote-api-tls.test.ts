import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.ts';
import { resolveConnection } from '../../coordinator/cli/cli-config.ts';
import { apiServesTls, parseCoordinatorConfig } from '../../coordinator/config.ts';
import { type RunningCoordinator, startCoordinator } from '../../coordinator/coordinator-service.ts';
import { kubehaCliMain, runCommand } from '../support/run-command.ts';

let coordinator: RunningCoordinator | undefined;
let dir: string | undefined;

afterEach(async () => {
  await coordinator?.stop();
  coordinator = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

const kubeha = (args: string[], env: Record<string, string>) =>
  runCommand(process.execPath, [kubehaCliMain, ...args], { env: { ...process.env, ...env } });

describe('the REST API off loopback', () => {
  it('GIVEN api.listen on a non-loopback address THEN the API serves HTTPS, and without api.serverSans the coordinator refuses to start', () => {
    for (const listen of ['0.0.0.0:7444', '10.0.0.5:7444', '[fd00::5]:7444']) {
      expect(apiServesTls(parseCoordinatorConfig({ api: { listen, serverSans: ['admin.example.com'] } }, 't'))).toBe(
        true,
      );
      expect(() => parseCoordinatorConfig({ api: { listen } }, 'coordinator.yaml')).toThrow(
        /api\.serverSans: required when the API serves HTTPS/,
      );
    }
    for (const listen of ['127.0.0.1:7444', '127.0.0.2:7444', '[::1]:7444', 'localhost:7444']) {
      expect(apiServesTls(parseCoordinatorConfig({ api: { listen } }, 't'))).toBe(false);
    }
  });

  it('GIVEN a CLI configured with http:// to a non-loopback server THEN it refuses before sending the token', () => {
    expect(() => resolveConnection({ server: 'http://10.0.0.5:7444', token: 't' }, {}, undefined)).toThrow(
      /refusing plain http:\/\/ to a non-loopback address/,
    );
    expect(resolveConnection({ server: 'http://127.0.0.1:7444', token: 't' }, {}, undefined).server).toBe(
      'http://127.0.0.1:7444',
    );
  });

  it('GIVEN an HTTPS API (its certificate from the coordinator CA) WHEN the CLI pins the CA hash THEN it works; a wrong hash or no CA is refused; TLS 1.2 CBC is refused', async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubeha-api-tls-'));
    const config = parseCoordinatorConfig(
      {
        dataDir: join(dir, 'data'),
        grpc: { listen: '127.0.0.1:0' },
        // Loopback with tls: always stands in for a remote address: the test's server stays on loopback.
        api: { listen: '127.0.0.1:0', tls: 'always', serverSans: ['127.0.0.1', 'localhost'] },
      },
      'test',
    );
    coordinator = await startCoordinator(config, { logger: createLogger({ name: 'tls-test', level: 'fatal' }) });
    expect(coordinator.apiUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const home = join(dir, 'home');
    mkdirSync(join(home, '.kube'), { recursive: true });
    writeFileSync(join(home, '.kube', 'kubeha-token'), `${coordinator.adminToken}\n`, { mode: 0o600 });
    const env = {
      HOME: home,
      KUBEHA_TOKEN_FILE: join(home, '.kube', 'kubeha-token'),
      KUBEHA_SERVER: coordinator.apiUrl,
    };

    const pinned = await kubeha(['--ca-cert-hash', coordinator.caCertHash, 'get', 'agents'], env);
    expect(pinned.stderr).toBe('');
    expect(pinned.code).toBe(0);
    writeFileSync(join(home, 'ca.crt'), coordinator.caCertificatePem);
    expect((await kubeha(['--ca-cert', join(home, 'ca.crt'), 'get', 'clusters'], env)).code).toBe(0);

    const wrong = await kubeha(['--ca-cert-hash', `sha256:${'0'.repeat(64)}`, 'get', 'agents'], env);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/hash|KUBEHA_CA_HASH_MISMATCH/i);
    const untrusted = await kubeha(['get', 'agents'], env);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(/cannot reach the coordinator/);

    const token = await kubeha(['--ca-cert-hash', coordinator.caCertHash, 'token', 'create', '--node', 'cp1'], env);
    expect(token.code).toBe(0);
    expect(token.stdout).toContain(`  server: ${coordinator.apiUrl}\n  caCertHash: ${coordinator.caCertHash}\n`);

    const port = Number(new URL(coordinator.apiUrl).port);
    const cbc = await new Promise<string>((resolve) => {
      const socket = connect({
        host: '127.0.0.1',
        port,
        ca: coordinator!.caCertificatePem,
        maxVersion: 'TLSv1.2',
        ciphers: 'ECDHE-ECDSA-AES128-SHA',
      });
      socket.once('secureConnect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.once('error', (error) => resolve(error.message));
    });
    expect(cbc).not.toBe('connected');
  });
});
