import { describe, expect, it } from 'vitest';
import {
  fixtureCaHash,
  fixtureCertificateKey,
  fixtureToken,
  kubeadmInitOutput,
} from './kubeadm-init-output.fixture.ts';
import { kubeadmLineRedactor, redactKubeadmOutput } from './redact-kubeadm-output.ts';

const hashHex = fixtureCaHash.slice('sha256:'.length);

describe('redactKubeadmOutput', () => {
  it('GIVEN the whole kubeadm init output WHEN redacted THEN no token, certificate key or CA hash is left', () => {
    const out = redactKubeadmOutput(kubeadmInitOutput);
    for (const secret of [fixtureToken, fixtureCertificateKey, hashHex, '0123456789abcdef']) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('[bootstrap-token] Using token: <redacted>');
    expect(out).toContain('--discovery-token-ca-cert-hash <redacted>');
    expect(out).toContain('--control-plane --certificate-key <redacted>');
    expect(out).toContain('kubeadm join 10.152.0.6:16443 --token <redacted>');
    expect(out).toContain('Your Kubernetes control-plane has initialized successfully!');
    expect(out).toContain(
      'Please note that the certificate-key gives access to cluster sensitive data, keep it secret!',
    );
  });

  it('GIVEN values kubeadm withheld WHEN redacted THEN they stay readable', () => {
    const line =
      'kubeadm join 10.0.0.1:6443 --token <value withheld> --control-plane --certificate-key <value withheld>';
    expect(redactKubeadmOutput(line)).toBe(line);
  });

  it('GIVEN the output streamed line by line WHEN each line is redacted THEN the bare certificate key line is hidden', () => {
    const redact = kubeadmLineRedactor();
    const lines = kubeadmInitOutput.split('\n').map(redact);
    expect(lines).toContain('<redacted>');
    expect(lines.join('\n')).not.toContain(fixtureCertificateKey);
    expect(lines.join('\n')).not.toContain(hashHex);
  });

  it('GIVEN every other secret shape kubeadm prints WHEN redacted THEN each one is replaced', () => {
    const samples: [string, string][] = [
      [`${fixtureToken}\n`, '<redacted>\n'], // kubeadm token create
      [
        `TOKEN                     TTL  EXPIRES   USAGES\n${fixtureToken}   1h   2026-11-25T22:00:00Z   authentication,signing`,
        'TOKEN                     TTL  EXPIRES   USAGES\n<redacted>   1h   2026-11-25T22:00:00Z   authentication,signing',
      ],
      [`--certificate-key=${fixtureCertificateKey}`, '--certificate-key=<redacted>'],
      [`certificateKey: "${fixtureCertificateKey}"`, 'certificateKey: "<redacted>"'],
      [`caCertHashes: ["${fixtureCaHash.toUpperCase().replace('SHA256', 'sha256')}"]`, 'caCertHashes: ["<redacted>"]'],
      ['token: ABCDEF.0123456789ABCDEF', 'token: <redacted>'],
    ];
    for (const [input, expected] of samples) expect(redactKubeadmOutput(input)).toBe(expected);
  });

  it('GIVEN a PEM private key streamed line by line WHEN redacted THEN every line of it is hidden and the next is not', () => {
    const redact = kubeadmLineRedactor();
    const lines = [
      '-----BEGIN EC PRIVATE KEY-----',
      'MHcCAQEEIBk3',
      'AwEHoUQDQgAE',
      '-----END EC PRIVATE KEY-----',
      'done',
    ];
    expect(lines.map(redact)).toEqual(['<redacted>', '<redacted>', '<redacted>', '<redacted>', 'done']);
  });

  it('GIVEN ordinary kubeadm lines WHEN redacted THEN they are unchanged', () => {
    const line = '[kubelet-start] Writing kubelet configuration to file "/var/lib/kubelet/config.yaml"';
    expect(redactKubeadmOutput(line)).toBe(line);
  });
});
