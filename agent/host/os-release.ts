/** /etc/os-release (os-release(5)): KEY=value lines, values optionally quoted with shell-style escapes. */
export function parseOsRelease(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const match = /^([A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (!match) continue;
    let value = match[2]!;
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replace(/\\(["\\$`])/g, '$1');
    }
    fields[match[1]!] = value;
  }
  return fields;
}

export interface OsRelease {
  id: string;
  versionId: string;
  /** "9" of "9.4", "8" of "8". */
  majorVersion: number;
  idLike: string[];
  prettyName: string;
}

export function osReleaseFrom(text: string): OsRelease {
  const f = parseOsRelease(text);
  const versionId = f['VERSION_ID'] ?? '';
  return {
    id: (f['ID'] ?? '').toLowerCase(),
    versionId,
    majorVersion: Number.parseInt(versionId.split('.')[0] ?? '', 10) || 0,
    idLike: (f['ID_LIKE'] ?? '').split(/\s+/).filter(Boolean),
    prettyName: f['PRETTY_NAME'] ?? `${f['NAME'] ?? 'unknown'} ${versionId}`.trim(),
  };
}

export type OsSupport =
  | { supported: true; family: 'el8' | 'el9'; release: OsRelease }
  | { supported: false; reason: string; release: OsRelease };

const supportedIds = ['centos', 'rocky', 'almalinux', 'rhel'];

/** CentOS Stream, Rocky, AlmaLinux and RHEL, 8 and 9; anything else with the detected release and why not. */
export function osSupport(release: OsRelease): OsSupport {
  const detected = `${release.prettyName} (ID=${release.id || 'none'}, VERSION_ID=${release.versionId || 'none'})`;
  if (release.id === 'centos' && release.majorVersion === 7) {
    return {
      supported: false,
      release,
      reason: `${detected}: CentOS 7 reached its end of life in 2024 and its glibc 2.17 cannot run Node.js 24, which kubeha-agent needs; reinstall the node with an EL8 or EL9 distribution`,
    };
  }
  if (!supportedIds.includes(release.id)) {
    return {
      supported: false,
      release,
      reason: `${detected} is not supported; kubeha supports CentOS Stream, Rocky Linux, AlmaLinux and RHEL, versions 8 and 9`,
    };
  }
  if (release.majorVersion !== 8 && release.majorVersion !== 9) {
    return { supported: false, release, reason: `${detected}: only versions 8 and 9 are supported` };
  }
  return { supported: true, family: release.majorVersion === 8 ? 'el8' : 'el9', release };
}

/** The os-release of the node the step runs on. */
export async function readOsRelease(host: { readFile(path: string): Promise<string | undefined> }): Promise<OsRelease> {
  return osReleaseFrom((await host.readFile('/etc/os-release')) ?? (await host.readFile('/usr/lib/os-release')) ?? '');
}
