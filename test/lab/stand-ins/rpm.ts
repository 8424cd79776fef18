// stand-in for rpm: behaves like rpm at its interface for the lab — -q NAME... (exit status = how many are not
// installed), --queryformat with %{NAME} %{VERSION} %{RELEASE} %{ARCH} and \n escapes, -qa — over the node's RPM
// database stand-in.
import { readPackages } from './package-database.ts';

function main(argv: string[]): number {
  const at = argv.findIndex((a) => a === '--queryformat' || a === '--qf');
  const format = at >= 0 ? argv[at + 1]! : argv.find((a) => a.startsWith('--queryformat='))?.slice(14);
  const names = argv.filter((a, i) => !a.startsWith('-') && i !== at + 1);
  const packages = readPackages();
  const render = (p: (typeof packages)[number]) =>
    format === undefined
      ? `${p.name}-${p.version}-${p.release}.${p.arch}\n`
      : format
          .replace(/\\n/g, '\n')
          .replace(/%\{NAME\}/g, p.name)
          .replace(/%\{VERSION\}/g, p.version)
          .replace(/%\{RELEASE\}/g, p.release)
          .replace(/%\{ARCH\}/g, p.arch);
  if (argv.includes('-qa') || (argv.includes('-q') && argv.includes('-a'))) {
    for (const p of packages) process.stdout.write(render(p));
    return 0;
  }
  if (!argv.includes('-q') && !argv.some((a) => /^-q/.test(a))) {
    process.stderr.write('rpm: the lab stand-in only queries (-q)\n');
    return 1;
  }
  let missing = 0;
  for (const name of names) {
    const found = packages.find((p) => p.name === name);
    if (found) process.stdout.write(render(found));
    else {
      process.stdout.write(`package ${name} is not installed\n`);
      missing++;
    }
  }
  return missing;
}

process.exit(main(process.argv.slice(2)));
