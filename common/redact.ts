export const REDACTED = '<redacted>';

const secretPatterns: RegExp[] = [
  // PEM private keys of any kind.
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
  // Bootstrap tokens (kubeadm's and ours share the format).
  /\b[a-z0-9]{6}\.[a-z0-9]{16}\b/g,
  // A certificate key or keepalived auth_pass after its flag or key name.
  /((?:certificate[-_]?key|certificateKey|auth_pass|authPass)["']?\s*[:=\s]\s*["']?)[^\s"',}]+/gi,
];

/** Replaces every secret shape we know in free text with <redacted>. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const pattern of secretPatterns) {
    out = out.replace(pattern, (_match, prefix: unknown) =>
      typeof prefix === 'string' ? `${prefix}${REDACTED}` : REDACTED,
    );
  }
  return out;
}
