import { describe, expect, it } from 'vitest';
import { dialAnswered, dialRejected, dialTimedOut, proxyUnreachableStderr } from './pod-network-probe.fixture.ts';
import {
  dialPath,
  kubectlErrorMessage,
  lastEvent,
  parseDialReply,
  probePodList,
  probePodName,
  probePodStates,
  ringPairs,
} from './pod-network-probe.ts';

describe('the pod-network probe', () => {
  it('GIVEN agnhost answered with the peer pod name WHEN parsed THEN ok', () => {
    expect(parseDialReply(dialAnswered('kubeha-pod-probe-w2'), 'kubeha-pod-probe-w2')).toEqual({ ok: true });
  });

  it('GIVEN agnhost could not reach the peer WHEN parsed THEN the dial error, as agnhost wrote it', () => {
    expect(parseDialReply(dialRejected, 'kubeha-pod-probe-w2')).toEqual({
      ok: false,
      error: 'Get "http://10.244.3.4:8080/hostname": dial tcp 10.244.3.4:8080: connect: no route to host',
    });
    expect(parseDialReply(dialTimedOut, 'kubeha-pod-probe-w2')).toMatchObject({
      ok: false,
      error: expect.stringContaining('Client.Timeout exceeded'),
    });
  });

  it('GIVEN another pod answered at the peer IP, no answer, or not JSON WHEN parsed THEN each is a failure that says so', () => {
    expect(parseDialReply(dialAnswered('coredns-7db6d8ff4d-x2x9k'), 'kubeha-pod-probe-w2')).toEqual({
      ok: false,
      error: 'answered as coredns-7db6d8ff4d-x2x9k, not kubeha-pod-probe-w2',
    });
    expect(parseDialReply('{}', 'kubeha-pod-probe-w2')).toEqual({
      ok: false,
      error: 'no answer and no error from the peer',
    });
    expect(parseDialReply('<html>bad gateway</html>', 'x')).toEqual({
      ok: false,
      error: "agnhost's /dial did not answer JSON: <html>bad gateway</html>",
    });
  });

  it("GIVEN kubectl's stderr of a failed proxy request WHEN read THEN the server's message", () => {
    expect(kubectlErrorMessage(proxyUnreachableStderr)).toBe(
      'Error from server (ServiceUnavailable): error trying to reach service: dial tcp 10.244.3.4:8080: connect: no route to host',
    );
    expect(kubectlErrorMessage('I1202 warning\nerror: timed out\n')).toBe('error: timed out');
  });

  it('GIVEN nodes WHEN paired THEN a ring in name order: every node sends once and receives once', () => {
    expect(ringPairs(['w1', 'cp1', 'cp2'])).toEqual([
      { from: 'cp1', to: 'cp2' },
      { from: 'cp2', to: 'w1' },
      { from: 'w1', to: 'cp1' },
    ]);
    expect(ringPairs(['cp1', 'w1'])).toEqual([
      { from: 'cp1', to: 'w1' },
      { from: 'w1', to: 'cp1' },
    ]);
    expect(ringPairs(['cp1'])).toEqual([]);
  });

  it('GIVEN a node name WHEN named THEN a pod name that is also a valid hostname (at most 63, no dots)', () => {
    expect(probePodName('w1')).toBe('kubeha-pod-probe-w1');
    const long = probePodName('worker-with-a-rather-long-name-in-rack-17-row-b-zone-3');
    expect(long).toMatch(/^kubeha-pod-probe-[0-9a-f]{16}$/);
    expect(probePodName('w1.example.com')).toMatch(/^kubeha-pod-probe-[0-9a-f]{16}$/);
  });

  it('GIVEN a pair WHEN the proxy path is made THEN it asks the source pod to GET /hostname of the target once', () => {
    expect(dialPath('kubeha-pod-probe-cp1', '10.244.3.4')).toBe(
      '/api/v1/namespaces/kube-system/pods/kubeha-pod-probe-cp1:8080/proxy/dial?request=hostname&protocol=http&host=10.244.3.4&port=8080&tries=1',
    );
    expect(dialPath('p', 'fd00:10:244::4')).toContain('host=fd00%3A10%3A244%3A%3A4');
  });

  it('GIVEN nodes and an image WHEN the pods are made THEN bound to each node, tolerating every taint, short-lived, unprivileged', () => {
    const list = probePodList(['cp1', 'w1'], 'registry.example.com/k8s/e2e-test-images/agnhost:2.56') as {
      items: { metadata: { name: string; labels: Record<string, string> }; spec: Record<string, unknown> }[];
    };
    expect(list.items.map((p) => [p.metadata.name, p.spec['nodeName']])).toEqual([
      ['kubeha-pod-probe-cp1', 'cp1'],
      ['kubeha-pod-probe-w1', 'w1'],
    ]);
    const spec = list.items[0]!.spec as {
      tolerations: unknown;
      restartPolicy: string;
      activeDeadlineSeconds: number;
      securityContext: { runAsNonRoot: boolean };
      containers: { image: string; args: string[] }[];
    };
    expect(spec.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(spec.restartPolicy).toBe('Never');
    expect(spec.activeDeadlineSeconds).toBe(300);
    expect(spec.securityContext.runAsNonRoot).toBe(true);
    expect(spec.containers[0]!.image).toBe('registry.example.com/k8s/e2e-test-images/agnhost:2.56');
    expect(spec.containers[0]!.args).toEqual(['netexec', '--http-port=8080']);
    expect(list.items[0]!.metadata.labels['app.kubernetes.io/managed-by']).toBe('kubeha');
  });

  it('GIVEN the pod list WHEN read THEN Ready pods with their IP, and why the others are not', () => {
    const states = probePodStates(
      {
        items: [
          {
            metadata: { name: 'kubeha-pod-probe-cp1' },
            status: { phase: 'Running', podIP: '10.244.0.5', conditions: [{ type: 'Ready', status: 'True' }] },
          },
          {
            metadata: { name: 'kubeha-pod-probe-w1' },
            status: {
              phase: 'Pending',
              conditions: [{ type: 'Ready', status: 'False' }],
              containerStatuses: [
                {
                  state: {
                    waiting: {
                      reason: 'ImagePullBackOff',
                      message: 'Back-off pulling image "registry.k8s.io/e2e-test-images/agnhost:2.56"',
                    },
                  },
                },
              ],
            },
          },
        ],
      },
      ['cp1', 'w1', 'w2'],
    );
    expect(states.get('cp1')).toEqual({ name: 'kubeha-pod-probe-cp1', ready: true, podIP: '10.244.0.5' });
    expect(states.get('w1')).toEqual({
      name: 'kubeha-pod-probe-w1',
      ready: false,
      why: 'Pending, ImagePullBackOff: Back-off pulling image "registry.k8s.io/e2e-test-images/agnhost:2.56"',
    });
    expect(states.get('w2')).toEqual({ name: 'kubeha-pod-probe-w2', ready: false, why: 'the pod is gone' });
  });

  it('GIVEN events WHEN read THEN the newest one', () => {
    expect(
      lastEvent({
        items: [
          { reason: 'Scheduled', message: 'bound', lastTimestamp: '2026-12-02T10:00:00Z' },
          {
            reason: 'FailedCreatePodSandBox',
            message: 'plugin type="flannel" failed',
            lastTimestamp: '2026-12-02T10:00:09Z',
          },
          { reason: 'Pulling', message: 'pulling', lastTimestamp: '2026-12-02T10:00:01Z' },
        ],
      }),
    ).toBe('FailedCreatePodSandBox: plugin type="flannel" failed');
    expect(lastEvent({ items: [] })).toBeUndefined();
  });
});
