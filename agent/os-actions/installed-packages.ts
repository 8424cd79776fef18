import type { Host } from '../host/host.ts';
import type { PlannedChange } from '../step-execution/step.ts';
import { ensureFile } from './ensure-file.ts';

/** name -> installed version from `rpm -q --queryformat '%{NAME} %{VERSION}\n' ...`; absent when not installed. */
export function parseInstalledVersions(rpmOutput: string): Map<string, string> {
  const versions = new Map<string, string>();
  for (const line of rpmOutput.split('\n')) {
    const match = /^([A-Za-z0-9_.+-]+) ([0-9][A-Za-z0-9.+~^]*)$/.exec(line.trim());
    if (match) versions.set(match[1]!, match[2]!);
  }
  return versions;
}

/** The installed version of each of `names` that is installed, from one `rpm -q` (it exits non-zero when one is not). */
export async function installedVersions(host: Host, names: readonly string[]): Promise<Map<string, string>> {
  if (names.length === 0) return new Map();
  const { stdout } = await host.exec('rpm', ['-q', '--queryformat', '%{NAME} %{VERSION}\\n', ...names], {
    allowFailure: true,
  });
  return parseInstalledVersions(stdout);
}

export async function missingPackages(host: Host, names: readonly string[]): Promise<string[]> {
  const installed = await installedVersions(host, names);
  return names.filter((n) => !installed.has(n));
}

export interface PackageInstallOptions {
  /** dnf may remove what conflicts with the packages (containerd.io obsoletes runc). */
  allowErasing?: boolean;
  /** A repository whose `exclude=` must not hide these packages (the Kubernetes repository pins them). */
  disableExcludesOf?: string;
  timeoutMs?: number;
  /** The dry-run line; default "install SPECS (dnf install ...)". */
  description?: string;
}

/** `dnf install -y` of package specs (NAME or NAME-VERSION). */
export function packageInstallChange(
  host: Host,
  specs: readonly string[],
  options: PackageInstallOptions = {},
): PlannedChange {
  const args = [
    'install',
    '-y',
    ...(options.allowErasing ? ['--allowerasing'] : []),
    ...specs,
    ...(options.disableExcludesOf ? [`--disableexcludes=${options.disableExcludesOf}`] : []),
  ];
  return {
    description: options.description ?? `install ${specs.join(' ')} (dnf ${args.join(' ')})`,
    apply: async () =>
      void (await host.exec('dnf', args, options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs })),
  };
}

/** A dnf repository file (/etc/yum.repos.d/NAME.repo), 0644, written when it is not the wanted one. */
export async function ensurePackageRepository(
  host: Host,
  repo: { path: string; content: string; baseUrl: string },
): Promise<PlannedChange[]> {
  const plan = await ensureFile(host, {
    path: repo.path,
    content: repo.content,
    mode: 0o644,
    description: `write ${repo.path} (${repo.baseUrl})`,
  });
  return plan.changes;
}
