// stand-in for curl: behaves like curl at its interface for the lab — the release manifests kubeha downloads
// (flannel's kube-flannel.yml) come from the lab's copy, since lab nodes have no route to the internet; every
// other request is the real curl's.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const downloads: Record<string, string> = {
  'https://github.com/flannel-io/flannel/releases/download/v0.26.1/kube-flannel.yml': 'kube-flannel.yml',
};

const argv = process.argv.slice(2);
const known = argv.find((a) => a in downloads);
if (known) {
  process.stdout.write(readFileSync(new URL(`./downloads/${downloads[known]}`, import.meta.url), 'utf8'));
  process.exit(0);
}
try {
  execFileSync('/usr/bin/curl', argv, { stdio: 'inherit' });
} catch (error) {
  process.exit((error as { status?: number }).status ?? 1);
}
