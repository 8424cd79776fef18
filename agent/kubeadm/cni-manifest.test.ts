import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { calicoManifest, flannelManifest } from './cni-manifest.fixture.ts';
import { renderCniManifest } from './cni-manifest.ts';

interface K8sObject {
  kind: string;
  metadata: { name: string };
  data: Record<string, string>;
  spec: { template: { spec: { containers: { args?: string[]; env: { name: string; value: string }[] }[] } } };
}

const objects = (text: string) => parseAllDocuments(text).map((d) => d.toJS() as K8sObject);

describe('renderCniManifest', () => {
  it('GIVEN kube-flannel.yml WHEN set to 10.10.0.0/16 THEN net-conf.json Network changes and nothing else', () => {
    const out = renderCniManifest('flannel', flannelManifest, '10.10.0.0/16');
    expect(out.daemonSet).toEqual({ namespace: 'kube-flannel', name: 'kube-flannel-ds' });
    const [ns, cm, ds] = objects(out.text);
    expect(ns?.metadata.name).toBe('kube-flannel');
    expect(JSON.parse(cm?.data['net-conf.json'] ?? '')).toEqual({
      Network: '10.10.0.0/16',
      EnableNFTables: false,
      Backend: { Type: 'vxlan' },
    });
    expect(cm?.data['cni-conf.json']).toContain('"type": "flannel"');
    expect(ds?.spec.template.spec.containers[0]?.args).toEqual(['--ip-masq', '--kube-subnet-mgr']);
    expect(out.text).toContain('# keep in step with the CNI plugin image');
  });

  it('GIVEN calico.yaml with the pool CIDR commented out WHEN set THEN CALICO_IPV4POOL_CIDR is added to calico-node', () => {
    const out = renderCniManifest('calico', calicoManifest, '10.244.0.0/16');
    expect(out.daemonSet).toEqual({ namespace: 'kube-system', name: 'calico-node' });
    const ds = objects(out.text).find((o) => o.kind === 'DaemonSet');
    const env = ds?.spec.template.spec.containers[0]?.env ?? [];
    expect(env.filter((e) => e.name === 'CALICO_IPV4POOL_CIDR')).toEqual([
      { name: 'CALICO_IPV4POOL_CIDR', value: '10.244.0.0/16' },
    ]);
    expect(env.map((e) => e.name)).toContain('CALICO_IPV4POOL_IPIP');
    expect(objects(out.text).map((o) => o.kind)).toEqual(['ConfigMap', 'DaemonSet', 'Deployment']);
  });

  it('GIVEN calico.yaml that already sets the pool WHEN set THEN the value is replaced, not duplicated', () => {
    const set = calicoManifest.replace(
      '# - name: CALICO_IPV4POOL_CIDR\n            #   value: "192.168.0.0/16"',
      '- name: CALICO_IPV4POOL_CIDR\n              value: "192.168.0.0/16"',
    );
    const once = renderCniManifest('calico', set, '10.244.0.0/16');
    const env = objects(once.text).find((o) => o.kind === 'DaemonSet')?.spec.template.spec.containers[0]?.env ?? [];
    expect(env.filter((e) => e.name === 'CALICO_IPV4POOL_CIDR')).toEqual([
      { name: 'CALICO_IPV4POOL_CIDR', value: '10.244.0.0/16' },
    ]);
    expect(renderCniManifest('calico', once.text, '10.244.0.0/16').text).toBe(once.text);
  });

  it('GIVEN the wrong manifest for the plugin WHEN rendered THEN it says what is missing', () => {
    expect(() => renderCniManifest('calico', flannelManifest, '10.244.0.0/16')).toThrow(/no calico-node DaemonSet/);
    expect(() => renderCniManifest('flannel', calicoManifest, '10.244.0.0/16')).toThrow(
      /no ConfigMap with net-conf\.json/,
    );
  });
});
