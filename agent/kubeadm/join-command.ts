import { redactKubeadmOutput } from './redact-kubeadm-output.ts';

/** What kubeadm prints for --skip-token-print / --skip-certificate-key-print. */
export const WITHHELD = '<value withheld>';

export interface JoinCommand {
  /** "VIP:PORT", the kubeconfig server without https:// */
  endpoint: string;
  /** The bootstrap token, or WITHHELD. */
  token: string;
  /** "sha256:<64 hex>", lowercase, in the printed order. */
  caCertHashes: string[];
  controlPlane: boolean;
  /** Control-plane form only: 64 hex, or WITHHELD; undefined when the command has no --certificate-key. */
  certificateKey?: string;
}

const tokenPattern = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;
const caHashPattern = /^sha256:[0-9a-f]{64}$/i;
const certificateKeyPattern = /^[0-9a-f]{64}$/;
const withheldMarker = '\u0000withheld\u0000';

function problem(message: string, line: string): Error {
  return new Error(`kubeadm join command: ${message} in "${redactKubeadmOutput(line)}"`);
}

/**
 * The join commands in `kubeadm init` (or `kubeadm token create --print-join-command`) output, in order.
 * kubeadm prints them from a Go raw-string template: backslash-newline continuations with indentation,
 * one --discovery-token-ca-cert-hash per CA hash, and `<value withheld>` for a skipped token or key.
 */
export function parseJoinCommands(output: string): JoinCommand[] {
  const logical = output.replace(/\r\n/g, '\n').replace(/\\\n[ \t]*/g, ' ');
  const commands: JoinCommand[] = [];
  for (const rawLine of logical.split('\n')) {
    const line = rawLine.trim();
    if (!line.startsWith('kubeadm join ')) continue;
    const words = line.replaceAll(WITHHELD, withheldMarker).split(/\s+/).slice(2);
    const unwithhold = (v: string | undefined) => (v === withheldMarker ? WITHHELD : v);
    const endpoint = words.shift();
    if (!endpoint || endpoint.startsWith('--')) throw problem('no API endpoint', line);
    let token: string | undefined;
    let certificateKey: string | undefined;
    let controlPlane = false;
    const caCertHashes: string[] = [];
    while (words.length > 0) {
      const flag = words.shift()!;
      const [name, inline] = flag.includes('=') ? flag.split(/=(.*)/s, 2) : [flag, undefined];
      const value = () => unwithhold(inline ?? words.shift());
      switch (name) {
        case '--token': {
          const v = value();
          if (v !== WITHHELD && !tokenPattern.test(v ?? '')) throw problem('--token is not a bootstrap token', line);
          token = v;
          break;
        }
        case '--discovery-token-ca-cert-hash': {
          const v = value();
          if (!caHashPattern.test(v ?? '')) throw problem('--discovery-token-ca-cert-hash is not sha256:<hex>', line);
          caCertHashes.push(v!.toLowerCase());
          break;
        }
        case '--control-plane':
          controlPlane = true;
          break;
        case '--certificate-key': {
          const v = value();
          if (v !== WITHHELD && !certificateKeyPattern.test(v ?? '')) {
            throw problem('--certificate-key is not 64 hex characters', line);
          }
          certificateKey = v;
          break;
        }
        default:
          throw problem(`unexpected argument ${name}`, line);
      }
    }
    if (token === undefined) throw problem('no --token', line);
    if (caCertHashes.length === 0) throw problem('no --discovery-token-ca-cert-hash', line);
    commands.push({
      endpoint,
      token,
      caCertHashes,
      controlPlane,
      ...(certificateKey === undefined ? {} : { certificateKey }),
    });
  }
  return commands;
}
