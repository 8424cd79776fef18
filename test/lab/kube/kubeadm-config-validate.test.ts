import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  kubeadmApiVersionFor,
  renderInitConfig,
  renderJoinConfig,
  renderTokenCreateConfig,
  renderUploadCertsConfig,
} from '../../../agent/kubeadm/kubeadm-config.ts';
import { kubeadmInitStep } from '../../../agent/steps/kubeadm-init.ts';
import { kubeadmJoinStep } from '../../../agent/steps/kubeadm-join.ts';
import { requireClusterSpec } from '../../../coordinator/cluster-spec/parse-cluster-spec.ts';
import { planRun } from '../../../coordinator/plan/plan-run.ts';
import { type BuildKubeResult, buildKube, kubeCacheDir } from './build-kube.ts';

// Real kubeadm's `config validate` on every configuration the agent renders, for every supported minor, with the
// kubeadm that deploys it: 1.34 with kubeadm 1.34.4; 1.36 and 1.37 with kubeadm 1.37.2; 1.35 with kubeadm 1.34.4,
// since kubeadm 1.37 refuses to deploy a control plane older than 1.36. kubeadm runs in a network namespace of its
// own with no interface but loopback: without a kubernetesVersion it would ask dl.k8s.io for the stable release.
const goMissing = spawnSync('go', ['version'], { stdio: 'ignore' }).error !== undefined;

const token = 'abcdef.0123456789abcdef';
const certificateKey = 'e6a2eb8581237ab72a4f494f30285ec12a9694d750b9785706a83bfcbbbd2204';
const caCertHash = `sha256:${'7a'.repeat(32)}`;
const versions = ['1.34.4', '1.35.4', '1.36.3', '1.37.2'];

const validDir = join(import.meta.dirname, '../../fixtures/specs-valid');
const specFiles = readdirSync(validDir);

/** The configurations the agent writes for a spec's deploy at one Kubernetes version: init, control-plane and worker joins. */
function renderedConfigs(file: string, version: string, allowCgroupV1: boolean): [string, string][] {
  const text = readFileSync(join(validDir, file), 'utf8');
  const raw = file.endsWith('.json') ? JSON.parse(text) : text;
  const spec = requireClusterSpec(raw);
  spec.spec.kubernetesVersion = version;
  spec.spec.hostPolicy.allowCgroupV1 = allowCgroupV1;
  const out: [string, string][] = [];
  let worker = false;
  let controlPlane = false;
  for (const step of planRun('deploy', spec).steps) {
    if (step.kind === 'kubeadm-init') {
      const params = kubeadmInitStep.parseParams({ ...step.params, bootstrapToken: token, certificateKey });
      out.push([`init ${step.node}`, renderInitConfig(params)]);
    }
    if (step.kind !== 'kubeadm-join') continue;
    const isControlPlane = step.params['controlPlane'] === true;
    if ((isControlPlane && controlPlane) || (!isControlPlane && worker)) continue;
    const params = kubeadmJoinStep.parseParams({
      ...step.params,
      bootstrapToken: token,
      caCertHashes: [caCertHash],
      ...(isControlPlane ? { certificateKey } : {}),
    });
    out.push([`join ${step.node}`, renderJoinConfig(params)]);
    if (isControlPlane) controlPlane = true;
    else worker = true;
  }
  const apiVersion = kubeadmApiVersionFor(version);
  out.push(
    ['token create', renderTokenCreateConfig({ apiVersion, token, ttlSeconds: 1800, description: 'kubeha join w1' })],
    ['upload-certs', renderUploadCertsConfig(apiVersion, certificateKey)],
  );
  return out;
}

describe.skipIf(goMissing)('real kubeadm config validate on what the agent renders', () => {
  let built: BuildKubeResult;
  let dir: string;
  const kubeadmFor = (version: string) => {
    const moduleDir = version.startsWith('1.36.') || version.startsWith('1.37.') ? 'kubeadm-newest' : 'k8s';
    return built.components.find((c) => c.moduleDir === moduleDir)!.programs['kubeadm']!;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubeha-kubeadm-validate-'));
    built = await buildKube({ cacheDir: kubeCacheDir(process.env), env: process.env, log: (l) => console.log(l) });
  }, 120 * 60_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // Every spec shape at every version; the cgroup v1 settings once per version.
  const cases = versions.flatMap((version) => [
    ...specFiles.map((file) => [version, file, false] as const),
    [version, 'design-example.yaml', true] as const,
  ]);
  it.each(cases)('Kubernetes %s, %s, allowCgroupV1 %s', (version, file, allowCgroupV1) => {
    const kubeadm = kubeadmFor(version);
    for (const [what, config] of renderedConfigs(file, version, allowCgroupV1)) {
      const path = join(dir, 'config.yaml');
      writeFileSync(path, config);
      const result = spawnSync('unshare', ['--net', kubeadm, 'config', 'validate', '--config', path], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(result.error, 'unshare runs (as root)').toBeUndefined();
      expect(
        { what, status: result.status, stdout: result.stdout.trim(), stderr: result.stderr.trim() },
        `${what}:\n${config}`,
      ).toMatchObject({ what, status: 0, stdout: 'ok' });
    }
  });

  it('kubeadm 1.37 refuses to deploy 1.35, which is why 1.35 is validated by kubeadm 1.34', () => {
    const [, init] = renderedConfigs('design-example.yaml', '1.35.4', false)[0]!;
    const path = join(dir, 'init-1.35.yaml');
    writeFileSync(path, init);
    const newest = built.components.find((c) => c.moduleDir === 'kubeadm-newest')!.programs['kubeadm']!;
    const result = spawnSync('unshare', ['--net', newest, 'config', 'validate', '--config', path], {
      encoding: 'utf8',
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('only supports deploying clusters with the control plane version >= 1.36.0');
  });

  it('kubeadm decodes strictly: a field it does not know is refused', () => {
    const [, init] = renderedConfigs('design-example.yaml', '1.37.2', true)[0]!;
    const path = join(dir, 'init-unknown-field.yaml');
    writeFileSync(path, init.replace('failCgroupV1: false', 'failCgroupVOne: false'));
    const result = spawnSync('unshare', ['--net', kubeadmFor('1.37.2'), 'config', 'validate', '--config', path], {
      encoding: 'utf8',
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('strict decoding error: unknown field "failCgroupVOne"');
  });
});
