import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { FakeHost } from '../host/fake-host.ts';
import { sealLikeKubeadm } from '../kubeadm/kubeadm-certs-secret.fixture.ts';
import { fixtureCertificateKey, fixtureToken } from '../kubeadm/kubeadm-init-output.fixture.ts';
import { runStep } from '../step-execution/step-runner.ts';
import { joinCredentialsStep } from './join-credentials.ts';

const admin = ['--kubeconfig', '/etc/kubernetes/admin.conf'];
const getSecret = (name: string) => [
  ...admin,
  '-n',
  'kube-system',
  'get',
  'secret',
  name,
  '--ignore-not-found',
  '-o',
  'json',
];
const b64 = (s: string) => Buffer.from(s).toString('base64');
const tokenSecret = (secret: string, expiration?: string) =>
  JSON.stringify({
    data: {
      'token-id': b64('abcdef'),
      'token-secret': b64(secret),
      ...(expiration ? { expiration: b64(expiration) } : {}),
    },
  });
const base = { token: '', ttlSeconds: 0, certificateKey: '', description: '', minRemainingSeconds: 0 };

function controlPlane(): FakeHost {
  return new FakeHost({ files: { '/etc/kubernetes/admin.conf': 'apiVersion: v1\n' } });
}

describe('join-credentials create-token', () => {
  const params = {
    ...base,
    action: 'create-token',
    token: fixtureToken,
    ttlSeconds: 1800,
    kubernetesVersion: '1.34.4',
  };
  const tokenConfig = '/var/lib/kubeha/kubeadm/token-create-abcdef.yaml';

  it('GIVEN no such token WHEN run THEN kubeadm token create with the TTL; a second run changes nothing', async () => {
    const host = controlPlane();
    const present = { stdout: tokenSecret('0123456789abcdef') };
    host.expect('kubectl', getSecret('bootstrap-token-abcdef')); // check
    host.expect('kubectl', getSecret('bootstrap-token-abcdef')); // apply
    let configAtRun: string | undefined;
    let modeAtRun: number | undefined;
    host.expect('kubeadm', ['token', 'create', '--config', tokenConfig, ...admin], {
      stdout: `${fixtureToken}\n`,
      effect: (h) => {
        configAtRun = h.file(tokenConfig);
        void h.fileMode(tokenConfig).then((m) => {
          modeAtRun = m;
        });
      },
    });
    host.expect('kubectl', getSecret('bootstrap-token-abcdef'), present); // check again
    const lines: string[] = [];
    const result = await runStep(joinCredentialsStep, params, { host, onLog: (_s, t) => lines.push(t) });
    host.assertNoPendingExpectations();
    expect(result).toMatchObject({ outcome: 'succeeded', changed: true });
    expect(result.changes).toEqual(['kubeadm token create abcdef.<redacted> --ttl 30m0s']);
    expect(JSON.stringify({ result, lines })).not.toContain(fixtureToken.slice(7));
    expect(lines.join('\n')).not.toContain(b64('0123456789abcdef'));
    // THEN the token reached kubeadm through a 0600 file, removed afterwards, never through its arguments
    expect(host.commandLines().join('\n')).not.toContain(fixtureToken.slice(7));
    expect(parse(configAtRun ?? '')).toMatchObject({
      apiVersion: 'kubeadm.k8s.io/v1beta4',
      kind: 'InitConfiguration',
      bootstrapTokens: [{ token: fixtureToken, ttl: '30m0s', description: 'kubeha join token' }],
    });
    expect(modeAtRun).toBe(0o600);
    expect(await host.exists(tokenConfig)).toBe(false);

    host.expect('kubectl', getSecret('bootstrap-token-abcdef'), present);
    const again = await runStep(joinCredentialsStep, params, { host });
    host.assertNoPendingExpectations();
    expect(again).toMatchObject({ outcome: 'succeeded', changed: false });
  });

  it('GIVEN a token with the same id but another secret WHEN run THEN it refuses', async () => {
    const host = controlPlane();
    host.stub('kubectl', getSecret('bootstrap-token-abcdef'), { stdout: tokenSecret('ffffffffffffffff') });
    const result = await runStep(joinCredentialsStep, params, { host });
    expect(result.outcome).toBe('failed');
    expect(result.error?.code).toBe('KUBEHA_CONFLICT');
  });

  it('GIVEN a node without admin.conf WHEN run THEN it says it is not a control plane', async () => {
    const result = await runStep(joinCredentialsStep, params, { host: new FakeHost() });
    expect(result.error?.message).toMatch(/admin\.conf does not exist: not a control plane/);
  });
});

describe('join-credentials delete-token', () => {
  it('GIVEN the token exists WHEN deleted THEN by id only (no secret on the command line); gone -> no-op', async () => {
    const host = controlPlane();
    const present = { stdout: tokenSecret('0123456789abcdef') };
    host.expect('kubectl', getSecret('bootstrap-token-abcdef'), present);
    host.expect('kubectl', getSecret('bootstrap-token-abcdef'), present);
    host.expect('kubeadm', ['token', 'delete', 'abcdef', ...admin]);
    host.expect('kubectl', getSecret('bootstrap-token-abcdef'));
    const result = await runStep(
      joinCredentialsStep,
      { ...base, action: 'delete-token', token: fixtureToken },
      { host },
    );
    host.assertNoPendingExpectations();
    expect(result).toMatchObject({ outcome: 'succeeded', changed: true, changes: ['kubeadm token delete abcdef'] });

    host.expect('kubectl', getSecret('bootstrap-token-abcdef'));
    const again = await runStep(joinCredentialsStep, { ...base, action: 'delete-token', token: 'abcdef' }, { host });
    host.assertNoPendingExpectations();
    expect(again).toMatchObject({ outcome: 'succeeded', changed: false });
  });
});

describe('join-credentials upload-certs', () => {
  const params = { ...base, action: 'upload-certs', certificateKey: fixtureCertificateKey };
  const uploadConfig = '/var/lib/kubeha/kubeadm/upload-certs.yaml';
  const uploadArgs = ['init', 'phase', 'upload-certs', '--upload-certs', '--config', uploadConfig, ...admin];
  const certsSecret = (key: string) =>
    JSON.stringify({
      metadata: { ownerReferences: [{ kind: 'Secret', name: 'bootstrap-token-q1w2e3' }] },
      data: { 'ca.crt': sealLikeKubeadm('-----BEGIN CERTIFICATE-----\n', key) },
    });
  const inHours = (h: number) => new Date(Date.now() + h * 3600_000).toISOString();

  it('GIVEN kubeadm-certs sealed with this key and 90 minutes to live WHEN run THEN nothing to do', async () => {
    const host = controlPlane();
    host.stub('kubectl', getSecret('kubeadm-certs'), { stdout: certsSecret(fixtureCertificateKey) });
    host.stub('kubectl', getSecret('bootstrap-token-q1w2e3'), { stdout: tokenSecret('x', inHours(1.5)) });
    const result = await runStep(joinCredentialsStep, params, { host });
    expect(result).toMatchObject({ outcome: 'succeeded', changed: false });
  });

  it.each([
    ['absent', undefined, inHours(2), /kubeadm-certs does not exist/],
    ['sealed with another key', randomBytes(32).toString('hex'), inHours(2), /sealed with another certificate key/],
    ['about to expire', fixtureCertificateKey, inHours(0.1), /kubeadm-certs expires in [0-9]+ min/],
  ])('GIVEN kubeadm-certs %s WHEN run THEN upload-certs with the given key', async (_l, sealedWith, expiry, why) => {
    const host = controlPlane();
    const expectReadsBeforeUpload = () => {
      host.expect('kubectl', getSecret('kubeadm-certs'), { stdout: sealedWith ? certsSecret(sealedWith) : '' });
      if (sealedWith === fixtureCertificateKey) {
        host.expect('kubectl', getSecret('bootstrap-token-q1w2e3'), { stdout: tokenSecret('x', expiry) });
      }
    };
    expectReadsBeforeUpload(); // check
    expectReadsBeforeUpload(); // apply
    let configAtRun: string | undefined;
    host.expect('kubeadm', uploadArgs, {
      stdout: `[upload-certs] Using certificate key:\n${fixtureCertificateKey}\n`,
      effect: (h) => {
        configAtRun = h.file(uploadConfig);
      },
    });
    host.expect('kubectl', getSecret('kubeadm-certs'), { stdout: certsSecret(fixtureCertificateKey) });
    host.expect('kubectl', getSecret('bootstrap-token-q1w2e3'), { stdout: tokenSecret('x', inHours(2)) });
    const lines: string[] = [];
    const result = await runStep(joinCredentialsStep, params, { host, onLog: (_s, t) => lines.push(t) });
    host.assertNoPendingExpectations();
    expect(result).toMatchObject({ outcome: 'succeeded', changed: true });
    expect(result.changes[0]).toMatch(why);
    expect(lines).toContain('<redacted>');
    expect(JSON.stringify({ result, lines })).not.toContain(fixtureCertificateKey);
    expect(host.commandLines().join('\n')).not.toContain(fixtureCertificateKey);
    // v1beta3 without a version: every supported kubeadm reads it
    expect(parse(configAtRun ?? '')).toEqual({
      apiVersion: 'kubeadm.k8s.io/v1beta3',
      kind: 'InitConfiguration',
      certificateKey: fixtureCertificateKey,
    });
    expect(await host.exists(uploadConfig)).toBe(false);
  });
});
