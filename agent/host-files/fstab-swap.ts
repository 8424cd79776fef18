/** The prefix kubeha puts in front of a swap line it disables, so an operator can find and undo it. */
export const swapCommentPrefix = '# kubeha: swap off for the kubelet: ';

function isActiveSwapLine(line: string): boolean {
  const trimmed = line.trim();
  if (!trimmed || trimmed.startsWith('#')) return false;
  const fields = trimmed.split(/\s+/);
  return fields[2] === 'swap';
}

/** /etc/fstab with every active swap entry commented out; every other byte unchanged. */
export function commentOutSwap(fstab: string): { text: string; disabled: string[] } {
  const disabled: string[] = [];
  const lines = fstab.split('\n').map((line) => {
    if (!isActiveSwapLine(line)) return line;
    disabled.push(line.trim());
    return `${swapCommentPrefix}${line}`;
  });
  return { text: lines.join('\n'), disabled };
}

/** Active swap devices listed in /proc/swaps (after its header line). */
export function activeSwaps(procSwaps: string | undefined): string[] {
  return (procSwaps ?? '')
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter(Boolean);
}
