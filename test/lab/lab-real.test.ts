import { afterAll, describe, expect, it } from 'vitest';
import { goAvailable } from './kube-binaries.ts';
import { expectNothingLeft, labRunner } from './lab-test-helpers.ts';

// Each run builds the real Kubernetes programs first if the cache lacks them (.ci/run fills it beforehand).
const buildAndRunMs = 150 * 60_000;
const lab = labRunner();

/** The drill's summary says the action succeeded on the holder and another node then held the VIP. */
function vipMovedOn(output: string, action: string): boolean {
  const block = new RegExp(`${action} on (cp\\d): ok\\n(?:[^\\n]*\\n){0,3}?[^\\n]*new VIP holder: (cp\\d)`).exec(
    output,
  );
  return block !== null && block[1] !== block[2];
}
afterAll(() => lab.cleanup());

describe.skipIf(!goAvailable())('npm run lab (the real Kubernetes control plane)', () => {
  it(
    'deploys 3 control planes and 2 workers with real kubeadm, etcd and apiservers, verifies them, drills a failover and leaves nothing behind',
    async () => {
      // WHEN the lab runs with its defaults
      const { code, output, report } = await lab.run('real', ['--drill-rounds', '2']);
      // THEN it ran the real programs
      expect(report.error, output.slice(-6000)).toBeUndefined();
      expect(report.kubernetes_version).toBe('1.34.4');
      expect(report.real_components).toEqual(
        expect.arrayContaining([
          'kubeadm',
          'kube-apiserver',
          'kube-controller-manager',
          'kube-scheduler',
          'etcd',
          'etcdctl',
          'kubectl',
          'crictl',
        ]),
      );
      // AND the deploy succeeded, /readyz answers through the VIP and verify is all green
      expect(report.run_succeeded).toBe(true);
      expect(report.readyz_through_vip).toBe(true);
      expect(report.verify_ok).toBe(true);
      // AND verify's probe pods (the real agnhost, run by the lab kubelet in pod sandboxes) reached each other across
      // every pair of nodes, through each node's real firewalld as host-prep configured it
      expect(output).toContain('pod traffic: 5/5 node pairs reach each other');
      // AND the real kubectl through the VIP lists 5 nodes Ready; etcd has 3 voting members, no learner, one leader
      expect(report.nodes_ready).toBe(5);
      expect(report.etcd_voting_members).toBe(3);
      expect(report.etcd_learners).toBe(0);
      expect(report.etcd_leaders).toBe(1);
      // AND the controller-manager and scheduler Leases are held by control planes
      expect(report.leases_held).toEqual([
        expect.stringMatching(/^kube-controller-manager=cp[123]$/),
        expect.stringMatching(/^kube-scheduler=cp[123]$/),
      ]);
      // AND the drill (apiserver, HAProxy and keepalived stopped on the holder) moved the VIP, never to two holders
      expect(new Set(report.vip_holders.flat()).size).toBeGreaterThanOrEqual(2);
      expect(report.vip_holders_max).toBe(1);
      expect(report.endpoint_recovered).toBe(true);
      expect(vipMovedOn(output, 'stop-haproxy')).toBe(true);
      // AND from the first load-balancer step on, the VIP was on exactly one control plane until the drill (the
      // init node kept it when kubeadm init finished)
      expect(report.deploy_vip).toMatchObject({ without_holder_ms: 0, with_two_ms: 0 });
      expect(report.deploy_vip?.first_held_after_lb_s).not.toBeNull();
      // AND over every drilled action (two rounds of three), the coordinator's outage and the worker watcher's gap
      // agree within 0.2 s, and the agents' holder timeline names the holders in the watcher's order (at the
      // watcher's resolution: a holder set shorter than its sampling can fall between two samples)
      expect(report.drill_agreement.length).toBeGreaterThanOrEqual(5);
      for (const a of report.drill_agreement) {
        expect(a.difference_s, JSON.stringify(a)).toBeLessThanOrEqual(0.2);
        expect(a.holders_agree, JSON.stringify(a)).toBe(true);
      }
      expect(code).toBe(0);
      // AND after teardown no namespace, mount, process or directory of the lab remains
      expectNothingLeft(report);
    },
    buildAndRunMs,
  );

  it(
    'with the VIP on the apiservers: finishes the deploy across a coordinator SIGKILL and a control-plane join killed after adding its etcd member; verify names a node that drops pod traffic; the VIP leaves a stopped apiserver',
    async () => {
      // WHEN the coordinator is killed mid-deploy and cp3's first kubeadm join dies once its etcd member is added
      const { code, output, report } = await lab.run('real-restart', [
        '--workers',
        '1',
        '--endpoint-mode',
        'keepalived',
        '--restart-coordinator-mid-deploy',
        '--fail-join',
        'cp3',
        '--pod-traffic-fault',
        'w1',
      ]);
      // THEN the run finished after the restart
      expect(report.error, output.slice(-6000)).toBeUndefined();
      expect(report.coordinator_restarted).toBe(true);
      expect(report.run_succeeded).toBe(true);
      expect(report.verify_ok).toBe(true);
      // AND while w1 dropped the pod traffic it forwards, verify failed naming exactly the two pairs through w1 (the
      // ring cp1 -> cp2 -> cp3 -> w1 -> cp1), and passed once the fault was lifted (verify_ok above)
      expect(report.pod_traffic_fault).toEqual({ node: 'w1', verify_ok: false, failed_pairs: ['cp3->w1', 'w1->cp1'] });
      // AND the half-joined member was removed from the real etcd, and the retried join made cp3 a voting member
      expect(output).toMatch(/--fail-join cp3: the killed join had added etcd member [0-9a-f]+ \(learner\)/);
      expect(report.failed_join).toMatchObject({ node: 'cp3', member_removed: true, retried: true });
      expect(report.failed_join?.member_id).toMatch(/^[0-9a-f]{1,16}$/);
      expect(report.etcd_voting_members).toBe(3);
      expect(report.etcd_learners).toBe(0);
      expect(report.nodes_ready).toBe(4);
      // AND the drill's stop-apiserver moved the VIP (keepalived tracks the local apiserver), never to two holders
      expect(vipMovedOn(output, 'stop-apiserver')).toBe(true);
      expect(report.vip_holders_max).toBe(1);
      expect(report.endpoint_recovered).toBe(true);
      expect(code).toBe(0);
      expectNothingLeft(report);
    },
    buildAndRunMs,
  );
});
