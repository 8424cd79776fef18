// stand-in for restorecon: behaves like restorecon at its interface for the lab — [-F] [-n] [-v] [-R] PATH...: gives
// each path the context the node's file_contexts (a model of the targeted policy's rules, selinux-state.ts) names,
// as the real one does, in the file's security.selinux attribute (real chcon writes it; real stat -c %C reads it).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { currentLabel, policyLabel } from './selinux-state.ts';

const args = process.argv.slice(2);
const dryRun = args.some((a) => /^-[A-Za-z]*n/.test(a));
const verbose = args.some((a) => /^-[A-Za-z]*v/.test(a));
const paths = args.filter((a) => !a.startsWith('-'));
if (paths.length === 0) {
  process.stderr.write('usage:  restorecon [-FnRv] pathname...\n');
  process.exit(1);
}
let failed = false;
for (const path of paths) {
  if (!existsSync(path)) {
    process.stderr.write(`restorecon: lstat(${path}) failed: No such file or directory\n`);
    failed = true;
    continue;
  }
  const wanted = policyLabel(path);
  const now = currentLabel(path);
  if (now === wanted) continue;
  if (verbose)
    process.stdout.write(
      `${dryRun ? 'Would relabel' : 'Relabeled'} ${path} from ${now || '<no context>'} to ${wanted}\n`,
    );
  if (!dryRun) execFileSync('/usr/bin/chcon', [wanted, path]);
}
process.exit(failed ? 255 : 0);
