import { describe, expect, it } from 'vitest';
import { parseJoinCommands, WITHHELD } from './join-command.ts';
import {
  fixtureCaHash,
  fixtureCertificateKey,
  fixtureToken,
  kubeadmInitOutput,
} from './kubeadm-init-output.fixture.ts';

const secondHash = `sha256:${'ab'.repeat(32)}`;

describe('parseJoinCommands', () => {
  it('GIVEN kubeadm init output WHEN parsed THEN it finds the control-plane form and then the worker form', () => {
    const commands = parseJoinCommands(kubeadmInitOutput);
    expect(commands).toEqual([
      {
        endpoint: '10.152.0.6:16443',
        token: fixtureToken,
        caCertHashes: [fixtureCaHash],
        controlPlane: true,
        certificateKey: fixtureCertificateKey,
      },
      { endpoint: '10.152.0.6:16443', token: fixtureToken, caCertHashes: [fixtureCaHash], controlPlane: false },
    ]);
  });

  it('GIVEN continuations indented with four spaces and several CA hashes WHEN parsed THEN every hash is kept in order', () => {
    const output = [
      `  kubeadm join lb.example.com:16443 --token ${fixtureToken} \\`,
      `    --discovery-token-ca-cert-hash ${fixtureCaHash} --discovery-token-ca-cert-hash ${secondHash.toUpperCase().replace('SHA256', 'sha256')} \\`,
      `    --control-plane --certificate-key ${fixtureCertificateKey}`,
      '',
    ].join('\n');
    const [command] = parseJoinCommands(output);
    expect(command?.endpoint).toBe('lb.example.com:16443');
    expect(command?.caCertHashes).toEqual([fixtureCaHash, secondHash]);
    expect(command?.controlPlane).toBe(true);
  });

  it('GIVEN --skip-token-print and --skip-certificate-key-print WHEN parsed THEN the values are <value withheld>', () => {
    const output = `kubeadm join 10.0.0.1:6443 --token <value withheld> \\\n\t--discovery-token-ca-cert-hash ${fixtureCaHash} \\\n\t--control-plane --certificate-key <value withheld>\n`;
    expect(parseJoinCommands(output)).toEqual([
      {
        endpoint: '10.0.0.1:6443',
        token: WITHHELD,
        caCertHashes: [fixtureCaHash],
        controlPlane: true,
        certificateKey: WITHHELD,
      },
    ]);
  });

  it('GIVEN `kubeadm token create --print-join-command` output (one line, trailing space) WHEN parsed THEN the worker form', () => {
    const output = `kubeadm join [fd00::6]:16443 --token ${fixtureToken} --discovery-token-ca-cert-hash ${fixtureCaHash} \n`;
    expect(parseJoinCommands(output)).toEqual([
      { endpoint: '[fd00::6]:16443', token: fixtureToken, caCertHashes: [fixtureCaHash], controlPlane: false },
    ]);
  });

  it('GIVEN a control plane printed without upload-certs WHEN parsed THEN it is a control plane with no key', () => {
    const output = `kubeadm join 10.0.0.1:6443 --token ${fixtureToken} \\\n\t--discovery-token-ca-cert-hash ${fixtureCaHash} \\\n\t--control-plane \n`;
    const [command] = parseJoinCommands(output);
    expect(command?.controlPlane).toBe(true);
    expect(command?.certificateKey).toBeUndefined();
  });

  it('GIVEN output without a join command WHEN parsed THEN nothing', () => {
    expect(parseJoinCommands('[reset] Deleted contents of the etcd data directory: /var/lib/etcd\n')).toEqual([]);
  });

  it('GIVEN a malformed token or hash WHEN parsed THEN it refuses, without repeating the secrets', () => {
    const badToken = `kubeadm join 10.0.0.1:6443 --token ABCDEF.0123456789abcdef --discovery-token-ca-cert-hash ${fixtureCaHash}`;
    expect(() => parseJoinCommands(badToken)).toThrow(/--token is not a bootstrap token/);
    expect(() => parseJoinCommands(badToken)).not.toThrow(/0123456789abcdef/);
    const badHash = `kubeadm join 10.0.0.1:6443 --token ${fixtureToken} --discovery-token-ca-cert-hash md5:abc`;
    expect(() => parseJoinCommands(badHash)).toThrow(/is not sha256/);
    expect(() => parseJoinCommands(`kubeadm join 10.0.0.1:6443 --token ${fixtureToken}`)).toThrow(/no --discovery/);
  });
});
