import { REDACTED, redactSecrets } from '../../common/redact.ts';

// Only kubeadm output needs these: elsewhere a 64-hex string is often a harmless checksum.
const kubeadmSecretPatterns: RegExp[] = [
  // Discovery hashes, with or without their "sha256:" prefix ("--discovery-token-ca-cert-hash sha256:...").
  /\bsha256:[0-9a-fA-F]{64}\b/g,
  // A certificate key on a line of its own ("[upload-certs] Using certificate key:\n<key>").
  /\b[0-9a-fA-F]{64}\b/g,
  // A token that kubeadm or a user printed in upper case still identifies a Secret.
  /\b[a-zA-Z0-9]{6}\.[a-zA-Z0-9]{16}\b/g,
];

// Text kubeadm prints after a "certificate-key" that is not a value: the general key=value rule would eat its first word.
const notValues: [RegExp, string][] = [
  [/certificate-key gives access/g, 'certificate\u2011key gives access'],
  // A value may not start with "}", so the key=value rule leaves this alone.
  [/<value withheld>/g, '}value-withheld}'],
];

/** kubeadm output with bootstrap tokens, certificate keys, discovery hashes and private keys replaced by <redacted>. */
export function redactKubeadmOutput(text: string): string {
  let out = text;
  for (const [pattern, masked] of notValues) out = out.replace(pattern, masked);
  out = redactSecrets(out);
  for (const pattern of kubeadmSecretPatterns) out = out.replace(pattern, REDACTED);
  return out.replace(/certificate\u2011key/g, 'certificate-key').replace(/\}value-withheld\}/g, '<value withheld>');
}

/**
 * Redacts kubeadm output line by line as it streams. Keeps state across lines so that a PEM private key,
 * which arrives one line at a time, is hidden from its BEGIN line to its END line.
 */
export function kubeadmLineRedactor(): (line: string) => string {
  let inPrivateKey = false;
  return (line) => {
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(line)) inPrivateKey = true;
    if (inPrivateKey) {
      if (/-----END [A-Z ]*PRIVATE KEY-----/.test(line)) inPrivateKey = false;
      return REDACTED;
    }
    return redactKubeadmOutput(line);
  };
}
