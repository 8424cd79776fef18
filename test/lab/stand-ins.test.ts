import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJoinCommands } from '../../agent/kubeadm/join-command.ts';
import { renderInitConfig, renderJoinConfig } from '../../agent/kubeadm/kubeadm-config.ts';
import { firewallRulesFor } from '../../agent/steps/host-prep/firewall.ts';
import { caCertHash } from '../../common/ca-hash.ts';
import { openFirewalldPorts } from './lab-firewalld.ts';
import { LabNetwork } from './lab-network.ts';
import { type LabNode, runOk } from './lab-node.ts';

const subnet = '10.231.249';
const vip = `${subnet}.100`;
const token = 'abcdef.0123456789abcdef';
const certificateKey = 'e6a2eb8581237ab72a4f494f30285ec12a9694d750b9785706a83bfcbbbd2204';

function keepalivedConf(node: LabNode): string {
  return `global_defs {
    router_id ${node.name}
    enable_script_security
    script_user root
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    virtual_ipaddress {
        ${vip}/24
    }
}
`;
}

function haproxyCfg(backend: LabNode): string {
  return `global
    log stdout format raw local0
defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend apiserver
    bind *:16443
    default_backend apiservers
backend apiservers
    option httpchk GET /readyz
    http-check expect status 200
    server ${backend.name} ${backend.address}:6443 check check-ssl verify none inter 500ms
`;
}

async function writeIn(node: LabNode, path: string, content: string): Promise<void> {
  await runOk(node, 'sh', ['-c', `mkdir -p "$(dirname "${path}")" && cat > "${path}"`], content);
}

/** Polls until `probe` is true: at most `attempts` tries, 250 ms apart. */
async function eventually(what: string, probe: () => Promise<boolean>, attempts = 80): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: not after ${attempts} tries`);
}

describe('stand-ins inside lab nodes', () => {
  let lab: LabNetwork;
  let cp1: LabNode;
  let w1: LabNode;
  let initOutput = '';

  beforeAll(async () => {
    lab = LabNetwork.create({ id: `s${process.pid.toString(36)}`, subnet });
    cp1 = await lab.addNode('cp1', 11);
    w1 = await lab.addNode('w1', 21);
    // The nodes run the real firewalld: open what host-prep would, before anything listens.
    await openFirewalldPorts(cp1, firewallRulesFor({ role: 'control-plane', cni: 'flannel', lbPort: 16443 }).ports);
    await openFirewalldPorts(w1, firewallRulesFor({ role: 'worker', cni: 'flannel', lbPort: 0 }).ports);
  }, 60_000);

  afterAll(async () => {
    await lab?.teardown();
    expect(lab.leftovers()).toEqual([]);
  }, 60_000);

  it('rpm and dnf keep a package database per node', async () => {
    const before = await w1.run('rpm', ['-q', 'kubeadm', 'chrony']);
    expect(before.code).toBe(1);
    expect(before.stdout).toMatch(/^package kubeadm is not installed\nchrony-4\.5-1\.el9\.x86_64\n$/);
    await runOk(w1, 'dnf', ['install', '-y', 'kubeadm-1.31.4', 'kubelet-1.31.4', '--disableexcludes=kubernetes']);
    const after = await w1.run('rpm', ['-q', '--queryformat', '%{NAME} %{VERSION}\\n', 'kubeadm', 'kubelet']);
    expect(after).toMatchObject({ code: 0, stdout: 'kubeadm 1.31.4\nkubelet 1.31.4\n' });
    expect((await cp1.run('rpm', ['-q', 'kubeadm'])).code).toBe(1);
    expect((await cp1.run('kubeadm', ['version'])).code).toBe(127);
  });

  it('systemctl starts, reports and stops the real keepalived, which puts the VIP on the node', async () => {
    expect((await cp1.run('systemctl', ['start', 'keepalived'])).code).toBe(5);
    await runOk(cp1, 'dnf', ['install', '-y', 'keepalived', 'haproxy']);
    await writeIn(cp1, '/etc/keepalived/keepalived.conf', keepalivedConf(cp1));
    expect(await runOk(cp1, 'keepalived', ['-t', '-f', '/etc/keepalived/keepalived.conf'])).toBe('');
    await runOk(cp1, 'systemctl', ['enable', '--now', 'keepalived']);
    expect(await runOk(cp1, 'systemctl', ['is-active', 'keepalived'])).toBe('active\n');
    expect(await runOk(cp1, 'systemctl', ['is-enabled', 'keepalived'])).toBe('enabled\n');
    const mainPid = Number(
      (await runOk(cp1, 'systemctl', ['show', '--property=MainPID', 'keepalived'])).trim().split('=')[1],
    );
    expect(readFileSync(`/proc/${mainPid}/comm`, 'utf8')).toBe('keepalived\n');
    expect(readlinkSync(`/proc/${mainPid}/ns/net`)).toBe(`net:[${cp1.netnsInode}]`);
    await eventually('the VIP on cp1', async () =>
      (await runOk(cp1, 'ip', ['-4', 'addr', 'show', 'eth0'])).includes(vip),
    );
    expect(await runOk(w1, 'systemctl', ['is-active', 'chronyd', 'keepalived'])).toBe('active\ninactive\n');
    await runOk(cp1, 'systemctl', ['stop', 'keepalived']);
    const stopped = await cp1.run('systemctl', ['is-active', 'keepalived']);
    expect(stopped).toMatchObject({ code: 3, stdout: 'inactive\n' });
    expect((await runOk(cp1, 'ip', ['-4', 'addr', 'show', 'eth0'])).includes(vip)).toBe(false);
    await runOk(cp1, 'systemctl', ['mask', 'keepalived']);
    expect((await cp1.run('systemctl', ['is-enabled', 'keepalived'])).stdout).toBe('masked\n');
    expect((await cp1.run('systemctl', ['start', 'keepalived'])).code).toBe(1);
    await runOk(cp1, 'systemctl', ['unmask', 'keepalived']);
  }, 60_000);

  it('kubeadm init makes a real CA, starts the stand-in apiserver through the kubelet and prints the join commands in kubeadm layout', async () => {
    // GIVEN cp1 with the load-balancer tier up (keepalived holds the VIP, HAProxy on 16443 in front of cp1:6443)
    await runOk(cp1, 'dnf', ['install', '-y', 'kubeadm', 'kubelet', 'kubectl', 'containerd.io', 'cri-tools']);
    await writeIn(cp1, '/etc/haproxy/haproxy.cfg', haproxyCfg(cp1));
    await runOk(cp1, 'systemctl', ['enable', '--now', 'haproxy', 'keepalived', 'containerd']);
    await runOk(cp1, 'systemctl', ['enable', 'kubelet']);
    await eventually('the VIP on cp1', async () =>
      (await runOk(cp1, 'ip', ['-4', 'addr', 'show', 'eth0'])).includes(vip),
    );
    const config = renderInitConfig({
      kubernetesVersion: '1.31.4',
      controlPlaneEndpoint: `${vip}:16443`,
      advertiseAddress: cp1.address,
      nodeName: 'cp1',
      podSubnet: '10.244.0.0/16',
      serviceSubnet: '10.96.0.0/12',
      bootstrapToken: token,
      certificateKey,
      tokenTtlSeconds: 3600,
    });
    await writeIn(cp1, '/var/lib/kubeha/kubeadm/init-config.yaml', config);
    // WHEN kubeadm init runs
    const init = await cp1.run(
      'kubeadm',
      ['init', '--config', '/var/lib/kubeha/kubeadm/init-config.yaml', '--upload-certs'],
      {
        timeoutMs: 120_000,
      },
    );
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    initOutput = init.stdout;
    // THEN the join commands are kubeadm's exact layout, with the hash of the CA it wrote
    const hash = caCertHash(readFileSync(cp1.hostPath('/etc/kubernetes/pki/ca.crt')));
    expect(initOutput).toContain(
      `\n  kubeadm join ${vip}:16443 --token ${token} \\\n\t--discovery-token-ca-cert-hash ${hash} \\\n\t--control-plane --certificate-key ${certificateKey}\n`,
    );
    expect(initOutput).toMatch(
      new RegExp(
        `\\n\\nkubeadm join ${vip.replace(/\./g, '\\.')}:16443 --token ${token} \\\\\\n\\t--discovery-token-ca-cert-hash ${hash} \\n$`,
      ),
    );
    expect(initOutput).toContain(`[upload-certs] Using certificate key:\n${certificateKey}\n`);
    const commands = parseJoinCommands(initOutput);
    expect(commands).toHaveLength(2);
    expect(commands.map((c) => c.controlPlane)).toEqual([true, false]);
    expect(commands.every((c) => c.caCertHashes.includes(hash) && c.endpoint === `${vip}:16443`)).toBe(true);
    // AND the API answers through the VIP and HAProxy, from another node
    await eventually('HAProxy to see the apiserver', async () => {
      const r = await w1.run('curl', ['-sk', '--max-time', '2', `https://${vip}:16443/readyz`]);
      return r.stdout === 'ok';
    });
    const nodes = JSON.parse(await runOk(cp1, 'kubectl', ['get', 'nodes', '-o', 'json'])) as {
      items: { metadata: { name: string } }[];
    };
    expect(nodes.items.map((n) => n.metadata.name)).toEqual(['cp1']);
    expect(
      await runOk(cp1, 'crictl', ['ps', '--state', 'Running', '--label', 'io.kubernetes.container.name=etcd', '-q']),
    ).toMatch(/^[0-9a-f]{64}\n$/);
  }, 150_000);

  it('kubeadm join checks the CA hash and the token through the VIP, then registers the node', async () => {
    expect(initOutput).not.toBe('');
    await runOk(w1, 'dnf', ['install', '-y', 'kubectl', 'containerd.io', 'cri-tools']);
    const hash = caCertHash(readFileSync(cp1.hostPath('/etc/kubernetes/pki/ca.crt')));
    const join = (t: string, h: string) =>
      renderJoinConfig({
        kubernetesVersion: '1.31.4',
        controlPlaneEndpoint: `${vip}:16443`,
        advertiseAddress: w1.address,
        nodeName: 'w1',
        controlPlane: false,
        bootstrapToken: t,
        caCertHashes: [h],
      });
    const path = '/var/lib/kubeha/kubeadm/join-config.yaml';
    await writeIn(w1, path, join(token, `sha256:${'0'.repeat(64)}`));
    const wrongHash = await w1.run('kubeadm', ['join', '--config', path]);
    expect(wrongHash.code).toBe(1);
    expect(wrongHash.stderr).toContain(`none of the public keys "${hash}" are pinned`);
    await writeIn(w1, path, join('zzzzzz.0123456789abcdef', hash));
    const wrongToken = await w1.run('kubeadm', ['join', '--config', path]);
    expect(wrongToken.code).toBe(1);
    expect(wrongToken.stderr).toContain(
      'could not find a JWS signature in the cluster-info ConfigMap for token ID "zzzzzz"',
    );
    await writeIn(w1, path, join(token, hash));
    const joined = await w1.run('kubeadm', ['join', '--config', path], { timeoutMs: 60_000 });
    expect(joined.stderr).toBe('');
    expect(joined.stdout).toContain('This node has joined the cluster:');
    const names = await runOk(cp1, 'kubectl', ['get', 'nodes', '-o', 'jsonpath={.items[*].metadata.name}']);
    expect(names).toBe('cp1 w1');
  }, 90_000);

  it('the kubelet stops a static pod when its manifest goes away', async () => {
    const pod = JSON.parse(await runOk(cp1, 'cat', ['/run/kubelet-stand-in/pods/kube-scheduler.yaml.json'])) as {
      pid: number;
    };
    expect(existsSync(`/proc/${pod.pid}`)).toBe(true);
    await runOk(cp1, 'mv', ['/etc/kubernetes/manifests/kube-scheduler.yaml', '/var/lib/kube-scheduler.yaml.off']);
    await eventually('kube-scheduler to stop', async () => !existsSync(`/proc/${pod.pid}`));
    expect(await runOk(cp1, 'crictl', ['ps'])).not.toContain('kube-scheduler');
  }, 30_000);

  it('kubeadm token create and delete manage bootstrap Secrets through the API', async () => {
    const second = 'ghijkl.0123456789abcdef';
    expect(
      await runOk(cp1, 'kubeadm', [
        'token',
        'create',
        second,
        '--ttl',
        '1h0m0s',
        '--kubeconfig',
        '/etc/kubernetes/admin.conf',
      ]),
    ).toBe(`${second}\n`);
    const secret = JSON.parse(
      await runOk(cp1, 'kubectl', ['-n', 'kube-system', 'get', 'secret', 'bootstrap-token-ghijkl', '-o', 'json']),
    ) as { data: Record<string, string> };
    expect(Buffer.from(secret.data['token-secret'] ?? '', 'base64').toString()).toBe('0123456789abcdef');
    expect(await runOk(cp1, 'kubeadm', ['token', 'delete', 'ghijkl'])).toBe('bootstrap token "ghijkl" deleted\n');
    expect(
      await runOk(cp1, 'kubectl', [
        '-n',
        'kube-system',
        'get',
        'secret',
        'bootstrap-token-ghijkl',
        '--ignore-not-found',
      ]),
    ).toBe('');
  });

  it('kubeadm reset removes what join made', async () => {
    await runOk(w1, 'kubeadm', ['reset', '-f']);
    expect((await w1.run('test', ['-e', '/etc/kubernetes/kubelet.conf'])).code).toBe(1);
    expect((await w1.run('systemctl', ['is-active', 'kubelet'])).stdout).toBe('inactive\n');
  });

  it('dnf refuses containerd.io next to podman and buildah (it conflicts with their runc) unless --allowerasing', async () => {
    await runOk(cp1, 'dnf', ['remove', '-y', 'containerd.io']);
    await runOk(cp1, 'dnf', ['install', '-y', 'podman', 'buildah']);
    expect(await runOk(cp1, 'rpm', ['-q', '--queryformat', '%{NAME}\\n', 'runc', 'podman', 'buildah'])).toBe(
      'runc\npodman\nbuildah\n',
    );
    const refused = await cp1.run('dnf', ['install', '-y', 'containerd.io']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('conflicts with runc provided by runc-1.1.12');
    expect(refused.stderr).toContain("try to add '--allowerasing'");
    expect((await cp1.run('rpm', ['-q', 'containerd.io'])).code).toBe(1);
    const replaced = await runOk(cp1, 'dnf', ['install', '-y', '--allowerasing', 'containerd.io']);
    expect(replaced).toContain('Removing dependent packages:');
    expect((await cp1.run('rpm', ['-q', 'containerd.io'])).code).toBe(0);
    const gone = await cp1.run('rpm', ['-q', 'runc', 'podman', 'buildah']);
    expect(gone.stdout).toBe(
      'package runc is not installed\npackage podman is not installed\npackage buildah is not installed\n',
    );
  });

  it('restorecon labels by the policy rules (real chcon, real stat), and enforcing keepalived reads a verdict only under /run/keepalived*', async () => {
    const model = new URL('./stand-ins/selinux-state.ts', import.meta.url).pathname;
    const mayRead = async (path: string) =>
      (
        await runOk(cp1, 'node', [
          '--no-warnings',
          '--input-type=module',
          '-e',
          `const m = await import(${JSON.stringify(model)}); console.log(m.keepalivedMayRead(process.argv[1]));`,
          path,
        ])
      ).trim();
    await runOk(cp1, 'sh', ['-c', 'mkdir -p /run/keepalived-kubeha /var/lib/kubeha']);
    expect(await runOk(cp1, 'restorecon', ['-F', '-v', '/run/keepalived-kubeha', '/var/lib/kubeha'])).toBe(
      'Relabeled /run/keepalived-kubeha from <no context> to system_u:object_r:keepalived_var_run_t:s0\n' +
        'Relabeled /var/lib/kubeha from <no context> to system_u:object_r:var_lib_t:s0\n',
    );
    expect(await runOk(cp1, 'stat', ['-c', '%C', '/run/keepalived-kubeha'])).toBe(
      'system_u:object_r:keepalived_var_run_t:s0\n',
    );
    expect(await runOk(cp1, 'restorecon', ['-n', '-v', '/run/keepalived-kubeha'])).toBe('');
    await runOk(cp1, 'sh', [
      '-c',
      'echo 1 > /run/keepalived-kubeha/vrrp-status && echo 1 > /var/lib/kubeha/vrrp-status',
    ]);
    await runOk(cp1, 'setenforce', ['1']);
    expect(await mayRead('/run/keepalived-kubeha/vrrp-status')).toBe('true');
    expect(await mayRead('/var/lib/kubeha/vrrp-status')).toBe('false');
    await runOk(cp1, 'setenforce', ['0']);
    expect(await mayRead('/var/lib/kubeha/vrrp-status')).toBe('true');
  });
});
