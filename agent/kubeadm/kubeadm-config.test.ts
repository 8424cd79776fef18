import { describe, expect, it } from 'vitest';
import { isMap, isScalar, isSeq, parseAllDocuments } from 'yaml';
import { goDuration, kubeadmApiVersionFor, renderInitConfig, renderJoinConfig } from './kubeadm-config.ts';

const token = 'abcdef.0123456789abcdef';
const certificateKey = 'e6a2eb8581237ab72a4f494f30285ec12a9694d750b9785706a83bfcbbbd2204';
const caHash = `sha256:${'7a'.repeat(32)}`;

function docs(text: string): Record<string, unknown>[] {
  return parseAllDocuments(text).map((d) => d.toJSON() as Record<string, unknown>);
}

const init = {
  controlPlaneEndpoint: '10.152.0.6:16443',
  advertiseAddress: '192.168.1.10',
  nodeName: 'k8s-master1',
  podSubnet: '10.244.0.0/16',
  serviceSubnet: '10.96.0.0/12',
  bootstrapToken: token,
  certificateKey,
  tokenTtlSeconds: 7200,
};

describe('kubeadmApiVersionFor', () => {
  it('GIVEN a Kubernetes version WHEN choosing the config API THEN v1beta4 from 1.31, v1beta3 before', () => {
    expect(kubeadmApiVersionFor('1.30.9')).toBe('kubeadm.k8s.io/v1beta3');
    expect(kubeadmApiVersionFor('1.31.0')).toBe('kubeadm.k8s.io/v1beta4');
    expect(kubeadmApiVersionFor('1.35.1')).toBe('kubeadm.k8s.io/v1beta4');
  });

  it('GIVEN seconds WHEN written as a Go duration THEN kubeadm can parse it', () => {
    expect(goDuration(86400)).toBe('24h0m0s');
    expect(goDuration(5430)).toBe('1h30m30s');
    expect(goDuration(900)).toBe('15m0s');
    expect(goDuration(45)).toBe('45s');
  });
});

describe('renderInitConfig', () => {
  it('GIVEN Kubernetes 1.31 WHEN rendered THEN v1beta4 documents with node-ip as a {name, value} list', () => {
    const [initCfg, clusterCfg, kubeletCfg, ...rest] = docs(renderInitConfig({ ...init, kubernetesVersion: '1.31.4' }));
    expect(rest).toEqual([]);
    expect(initCfg).toEqual({
      apiVersion: 'kubeadm.k8s.io/v1beta4',
      kind: 'InitConfiguration',
      bootstrapTokens: [
        {
          token,
          description: 'kubeha: created by kubeadm init',
          ttl: '2h0m0s',
          usages: ['signing', 'authentication'],
          groups: ['system:bootstrappers:kubeadm:default-node-token'],
        },
      ],
      certificateKey,
      localAPIEndpoint: { advertiseAddress: '192.168.1.10', bindPort: 6443 },
      nodeRegistration: {
        name: 'k8s-master1',
        criSocket: 'unix:///var/run/containerd/containerd.sock',
        kubeletExtraArgs: [{ name: 'node-ip', value: '192.168.1.10' }],
      },
    });
    expect(clusterCfg).toEqual({
      apiVersion: 'kubeadm.k8s.io/v1beta4',
      kind: 'ClusterConfiguration',
      kubernetesVersion: 'v1.31.4',
      controlPlaneEndpoint: '10.152.0.6:16443',
      networking: { podSubnet: '10.244.0.0/16', serviceSubnet: '10.96.0.0/12', dnsDomain: 'cluster.local' },
    });
    expect(kubeletCfg).toEqual({
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      cgroupDriver: 'systemd',
    });
  });

  it('GIVEN an image repository mirror WHEN rendered THEN ClusterConfiguration pulls the control plane from it', () => {
    const [, clusterCfg] = docs(
      renderInitConfig({ ...init, kubernetesVersion: '1.31.4', imageRepository: 'registry.example.com:5000/k8s' }),
    );
    expect(clusterCfg?.['imageRepository']).toBe('registry.example.com:5000/k8s');
  });

  it('GIVEN Kubernetes 1.30 WHEN rendered THEN v1beta3 documents with node-ip as a map', () => {
    const [initCfg, clusterCfg] = docs(renderInitConfig({ ...init, kubernetesVersion: '1.30.8' }));
    expect(initCfg?.apiVersion).toBe('kubeadm.k8s.io/v1beta3');
    expect((initCfg!.nodeRegistration as Record<string, unknown>).kubeletExtraArgs).toEqual({
      'node-ip': '192.168.1.10',
    });
    expect(clusterCfg?.apiVersion).toBe('kubeadm.k8s.io/v1beta3');
    expect(clusterCfg?.kubernetesVersion).toBe('v1.30.8');
  });
});

describe('renderJoinConfig', () => {
  const join = {
    controlPlaneEndpoint: '10.152.0.6:16443',
    advertiseAddress: '192.168.1.11',
    nodeName: 'k8s-master2',
    bootstrapToken: token,
    caCertHashes: [caHash],
  };

  it('GIVEN a control plane on 1.31 WHEN rendered THEN v1beta4 with controlPlane.certificateKey', () => {
    const [joinCfg, ...rest] = docs(
      renderJoinConfig({ ...join, kubernetesVersion: '1.31.4', controlPlane: true, certificateKey }),
    );
    expect(rest).toEqual([]);
    expect(joinCfg).toEqual({
      apiVersion: 'kubeadm.k8s.io/v1beta4',
      kind: 'JoinConfiguration',
      discovery: { bootstrapToken: { apiServerEndpoint: '10.152.0.6:16443', token, caCertHashes: [caHash] } },
      nodeRegistration: {
        name: 'k8s-master2',
        criSocket: 'unix:///var/run/containerd/containerd.sock',
        kubeletExtraArgs: [{ name: 'node-ip', value: '192.168.1.11' }],
      },
      controlPlane: { localAPIEndpoint: { advertiseAddress: '192.168.1.11', bindPort: 6443 }, certificateKey },
    });
  });

  it('GIVEN a worker on 1.29 WHEN rendered THEN v1beta3 without controlPlane', () => {
    const [joinCfg] = docs(
      renderJoinConfig({ ...join, nodeName: 'k8s-worker1', kubernetesVersion: '1.29.10', controlPlane: false }),
    );
    expect(joinCfg?.apiVersion).toBe('kubeadm.k8s.io/v1beta3');
    expect(joinCfg?.controlPlane).toBeUndefined();
    expect((joinCfg!.nodeRegistration as Record<string, unknown>).kubeletExtraArgs).toEqual({
      'node-ip': '192.168.1.11',
    });
  });
});

describe('allowCgroupV1', () => {
  const join = {
    controlPlaneEndpoint: '10.152.0.6:16443',
    advertiseAddress: '192.168.1.21',
    nodeName: 'k8s-worker1',
    bootstrapToken: token,
    caCertHashes: [caHash],
    controlPlane: false,
  };

  it('GIVEN Kubernetes 1.35 or later and allowCgroupV1 WHEN rendered THEN failCgroupV1 is off and SystemVerification ignored', () => {
    const [initCfg, , kubeletCfg] = docs(
      renderInitConfig({ ...init, kubernetesVersion: '1.37.2', allowCgroupV1: true }),
    );
    expect(kubeletCfg).toEqual({
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      cgroupDriver: 'systemd',
      failCgroupV1: false,
    });
    expect((initCfg!.nodeRegistration as Record<string, unknown>).ignorePreflightErrors).toEqual([
      'SystemVerification',
    ]);
    const [joinCfg] = docs(renderJoinConfig({ ...join, kubernetesVersion: '1.35.0', allowCgroupV1: true }));
    expect((joinCfg!.nodeRegistration as Record<string, unknown>).ignorePreflightErrors).toEqual([
      'SystemVerification',
    ]);
  });

  it('GIVEN 1.34 (which only warns about cgroup v1) or no allowCgroupV1 WHEN rendered THEN nothing is relaxed', () => {
    for (const [kubernetesVersion, allowCgroupV1] of [
      ['1.34.4', true],
      ['1.37.2', false],
    ] as const) {
      const [initCfg, , kubeletCfg] = docs(renderInitConfig({ ...init, kubernetesVersion, allowCgroupV1 }));
      expect(kubeletCfg).not.toHaveProperty('failCgroupV1');
      expect(initCfg!.nodeRegistration).not.toHaveProperty('ignorePreflightErrors');
      const [joinCfg] = docs(renderJoinConfig({ ...join, kubernetesVersion, allowCgroupV1 }));
      expect(joinCfg!.nodeRegistration).not.toHaveProperty('ignorePreflightErrors');
    }
  });
});

describe('kubeadm configs read with YAML 1.1 rules (go-yaml, as kubeadm reads them)', () => {
  // Each is a valid node name and, written plain, a boolean, a null or a number to YAML 1.1 or 1.2.
  const joinInput = {
    controlPlaneEndpoint: '10.152.0.6:16443',
    advertiseAddress: '192.168.1.11',
    bootstrapToken: token,
    caCertHashes: [caHash],
  };
  const names = ['on', 'yes', 'no', 'y', 'n', 'off', 'true', 'null', '1e3'];

  it.each(names)('keeps the node named "%s" a string in the init and join configs', (name) => {
    const texts = [
      renderInitConfig({ ...init, kubernetesVersion: '1.31.4', nodeName: name }),
      renderJoinConfig({ ...joinInput, kubernetesVersion: '1.31.4', nodeName: name, controlPlane: false }),
    ];
    for (const text of texts) {
      const docs = parseAllDocuments(text, { version: '1.1' }).map((d) => d.toJS());
      const registration = docs[0].nodeRegistration;
      expect(registration.name, text).toBe(name);
      expect(typeof registration.name).toBe('string');
    }
  });

  it('writes every string value of every document double-quoted', () => {
    const text = renderInitConfig({ ...init, kubernetesVersion: '1.31.4', nodeName: 'on' });
    const plainStrings: string[] = [];
    const walk = (node: unknown, path: string) => {
      if (isScalar(node)) {
        if (typeof node.value === 'string' && node.type !== 'QUOTE_DOUBLE') plainStrings.push(path);
      } else if (isMap(node)) {
        for (const pair of node.items) walk(pair.value, `${path}.${String((pair.key as { value?: unknown }).value)}`);
      } else if (isSeq(node)) {
        for (const [i, item] of node.items.entries()) walk(item, `${path}[${i}]`);
      }
    };
    for (const [i, doc] of parseAllDocuments(text).entries()) walk(doc.contents, `doc${i}`);
    expect(plainStrings).toEqual([]);
  });
});
