export const hostsBlockBegin = '# BEGIN kubeha managed block: the cluster nodes; kubeha rewrites these lines';
export const hostsBlockEnd = '# END kubeha managed block';

export function renderHostsBlock(nodes: readonly { name: string; address: string }[]): string[] {
  return [hostsBlockBegin, ...nodes.map((n) => `${n.address} ${n.name}`), hostsBlockEnd];
}

/**
 * /etc/hosts with kubeha's block replaced in place (or appended once); every line outside it is kept as is.
 * A second block (a hand copy) is removed. Throws when a BEGIN has no END, rather than guess where the
 * operator's lines start again.
 */
export function withHostsBlock(hosts: string, block: readonly string[]): string {
  const lines = hosts === '' ? [] : hosts.replace(/\n$/, '').split('\n');
  const out: string[] = [];
  let placed = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() !== hostsBlockBegin) {
      out.push(line);
      continue;
    }
    const end = lines.findIndex((l, j) => j > i && l.trim() === hostsBlockEnd);
    if (end === -1) {
      throw new Error(
        `/etc/hosts line ${i + 1} opens the kubeha block but no "${hostsBlockEnd}" closes it; fix it by hand`,
      );
    }
    if (!placed) out.push(...block);
    placed = true;
    i = end;
  }
  if (!placed) out.push(...block);
  return `${out.join('\n')}\n`;
}
