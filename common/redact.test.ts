import { describe, expect, it } from 'vitest';
import { redactSecrets } from './redact.ts';

describe('redactSecrets', () => {
  it('replaces bootstrap tokens, private keys, certificate keys and auth_pass values', () => {
    const text = [
      'kubeadm join 10.0.0.6:16443 --token abcdef.0123456789abcdef \\',
      '    --control-plane --certificate-key 0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0',
      '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBb\n-----END EC PRIVATE KEY-----',
      '    auth_pass s3cr3tpw',
      '{"certificateKey":"aa11"}',
    ].join('\n');
    const out = redactSecrets(text);
    expect(out).not.toContain('abcdef.0123456789abcdef');
    expect(out).not.toContain('0f1e2d3c4b5a6978');
    expect(out).not.toContain('MHcCAQEEIBb');
    expect(out).not.toContain('s3cr3tpw');
    expect(out).not.toContain('aa11');
    expect(out).toContain('--token <redacted>');
    expect(out).toContain('--certificate-key <redacted>');
    expect(out).toContain('auth_pass <redacted>');
  });

  it('leaves ordinary text alone', () => {
    const text = 'kubeha-agent enroll --coordinator admin.example.com:7443 finished in 2.5 s';
    expect(redactSecrets(text)).toBe(text);
  });
});
