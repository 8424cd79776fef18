import type { Host } from '../host/host.ts';
import type { PlannedChange } from '../step-execution/step.ts';
import { formatMode } from './ensure-file.ts';

/**
 * The SELinux type keepalived_t may read (keepalived.te: manage_files_pattern on keepalived_var_run_t). The policy
 * gives it to `/run/keepalived.*` (keepalived.fc), so restorecon alone labels a directory named like that.
 */
export const keepalivedReadableType = 'keepalived_var_run_t';
const directoryMode = 0o755;

/** "system_u:object_r:keepalived_var_run_t:s0" -> "keepalived_var_run_t"; "" when unlabelled or unreadable. */
function labelType(label: string): string {
  return label.split(':')[2] ?? '';
}

async function selinuxDisabled(host: Host): Promise<boolean> {
  const mode = await host.exec('getenforce', [], { allowFailure: true });
  return mode.exitCode !== 0 || mode.stdout.trim() === 'Disabled';
}

async function currentLabel(host: Host, dir: string): Promise<string> {
  const stat = await host.exec('stat', ['-c', '%C', dir], { allowFailure: true });
  return stat.exitCode === 0 ? stat.stdout.trim() : '';
}

/**
 * Plans what makes `dir` a directory keepalived may read files from, for the agent's verdict (track_file): present,
 * 0755 root, and (unless SELinux is disabled) labelled keepalived_var_run_t. Each file the agent renames into it
 * inherits that type when created, so no file is ever readable under another label. Nothing when all is so.
 *
 * The label comes from restorecon (the policy's own rule); should the installed policy lack the rule, chcon sets the
 * type directly. That does not survive a reboot's re-creation of /run, which is why the agent runs this at every start.
 */
export async function planKeepalivedReadableDirectory(host: Host, dir: string): Promise<PlannedChange[]> {
  const changes: PlannedChange[] = [];
  const present = await host.exists(dir);
  if (!present) {
    changes.push({
      description: `create ${dir} (${formatMode(directoryMode)}: the agent's verdict for keepalived)`,
      apply: () => host.mkdir(dir, directoryMode),
    });
  }
  if (await selinuxDisabled(host)) return changes;
  const label = present ? await currentLabel(host, dir) : '';
  if (present && labelType(label) === keepalivedReadableType) return changes;
  changes.push({
    description: `label ${dir} ${keepalivedReadableType} so that keepalived may read the verdict (restorecon -F; now ${present ? label || 'unlabelled' : 'new'})`,
    apply: async () => {
      await host.exec('restorecon', ['-F', dir]);
      if (labelType(await currentLabel(host, dir)) !== keepalivedReadableType) {
        await host.exec('chcon', ['-t', keepalivedReadableType, dir]);
      }
    },
  });
  return changes;
}
