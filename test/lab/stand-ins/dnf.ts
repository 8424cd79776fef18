// stand-in for dnf (and yum): behaves like dnf at its interface for the lab — install -y NAME[-VERSION[-RELEASE]]...
// (with --disableexcludes / --setopt accepted, and --allowerasing), remove, list installed, makecache — recording
// packages in the node's RPM database stand-in instead of downloading them. Like dnf it refuses to install a package
// that conflicts with an installed one unless --allowerasing, which then removes it and what requires it. The
// programs themselves are the host's or the lab's.
import { basename } from 'node:path';
import {
  type InstalledPackage,
  readPackages,
  repositoryConflicts,
  repositoryRequires,
  repositoryVersions,
  writePackages,
} from './package-database.ts';

const name = basename(process.argv[1] ?? 'dnf').replace(/\.ts$/, '');

function resolve(spec: string): InstalledPackage | undefined {
  for (const known of Object.keys(repositoryVersions).sort((a, b) => b.length - a.length)) {
    if (spec === known)
      return { name: known, version: repositoryVersions[known]!, release: '150500.1.1', arch: 'x86_64' };
    if (spec.startsWith(`${known}-`)) {
      const [version, release] = spec.slice(known.length + 1).split('-');
      if (!version || !/^\d+(\.\d+)*$/.test(version)) return undefined;
      return { name: known, version, release: !release || release === '*' ? '150500.1.1' : release, arch: 'x86_64' };
    }
  }
  return undefined;
}

function main(argv: string[]): number {
  const words = argv.filter((a) => !a.startsWith('-'));
  const [verb, ...specs] = words;
  const packages = readPackages();
  switch (verb) {
    case 'install': {
      const wanted = specs.map((s) => ({ spec: s, pkg: resolve(s) }));
      const missing = wanted.filter((w) => !w.pkg);
      if (missing.length > 0) {
        process.stdout.write(`No match for argument: ${missing.map((m) => m.spec).join(', ')}\n`);
        process.stderr.write(`Error: Unable to find a match: ${missing.map((m) => m.spec).join(' ')}\n`);
        return 1;
      }
      for (const w of [...wanted]) {
        for (const dependency of repositoryRequires[w.pkg!.name] ?? []) {
          if (!packages.some((p) => p.name === dependency) && !wanted.some((x) => x.pkg!.name === dependency)) {
            wanted.push({ spec: dependency, pkg: resolve(dependency) });
          }
        }
      }
      const conflicting = packages.filter((p) =>
        wanted.some((w) => (repositoryConflicts[w.pkg!.name] ?? []).includes(p.name)),
      );
      const dependents = packages.filter((p) =>
        (repositoryRequires[p.name] ?? []).some((r) => conflicting.some((c) => c.name === r)),
      );
      const full = (p: InstalledPackage) => `${p.name}-${p.version}-${p.release}.${p.arch}`;
      if (conflicting.length > 0 && !argv.includes('--allowerasing')) {
        const installing = wanted.find((w) => (repositoryConflicts[w.pkg!.name] ?? []).length > 0)!.pkg!;
        process.stderr.write(
          `Error: \n Problem: ${dependents.length > 0 ? `problem with installed package ${full(dependents[0]!)}` : 'conflicting requests'}\n${conflicting
            .map(
              (c) =>
                `  - package ${full(installing)} from docker-ce-stable conflicts with ${c.name} provided by ${full(c)} from @System\n`,
            )
            .join(
              '',
            )}(try to add '--allowerasing' to command line to replace conflicting packages or '--skip-broken' to skip uninstallable packages)\n`,
        );
        return 1;
      }
      const erased = [...conflicting, ...dependents];
      const changed = wanted.filter(
        (w) => !packages.some((p) => p.name === w.pkg!.name && p.version === w.pkg!.version),
      );
      if (changed.length === 0) {
        process.stdout.write('Dependencies resolved.\nNothing to do.\nComplete!\n');
        return 0;
      }
      const kept = packages.filter(
        (p) => !changed.some((c) => c.pkg!.name === p.name) && !erased.some((e) => e.name === p.name),
      );
      writePackages([...kept, ...changed.map((c) => c.pkg!)]);
      process.stdout.write(
        `Dependencies resolved.\nInstalling:\n${changed.map((c) => ` ${c.pkg!.name.padEnd(20)} x86_64  ${c.pkg!.version}-${c.pkg!.release}`).join('\n')}\n${erased.length > 0 ? `Removing dependent packages:\n${erased.map((e) => ` ${e.name.padEnd(20)} x86_64  ${e.version}-${e.release}`).join('\n')}\n` : ''}\nInstalled:\n  ${changed.map((c) => `${c.pkg!.name}-${c.pkg!.version}-${c.pkg!.release}.x86_64`).join('  ')}\n${erased.length > 0 ? `Removed:\n  ${erased.map(full).join('  ')}\n` : ''}\nComplete!\n`,
      );
      return 0;
    }
    case 'remove':
    case 'erase': {
      writePackages(packages.filter((p) => !specs.includes(p.name)));
      process.stdout.write('Complete!\n');
      return 0;
    }
    case 'list':
      process.stdout.write('Installed Packages\n');
      for (const p of packages)
        process.stdout.write(
          `${`${p.name}.x86_64`.padEnd(40)} ${`${p.version}-${p.release}`.padEnd(24)} @kubernetes\n`,
        );
      return 0;
    case 'makecache':
    case 'clean':
      process.stdout.write('Metadata cache created.\n');
      return 0;
    default:
      process.stderr.write(`${name}: No such command: ${verb ?? ''}. (the lab stand-in)\n`);
      return 1;
  }
}

process.exit(main(process.argv.slice(2)));
