// Runs before the tests (npm's pretest): the scripts must run on the Node 24 that the devDependency `node@24`
// installs as node_modules/.bin/node. Plain JavaScript, so that an older Node can run it and say so.
import { pathToFileURL } from 'node:url';

export function nodeVersionProblem(version, execPath) {
  const major = Number(String(version).split('.')[0]);
  if (major === 24) return undefined;
  return (
    `kubeha needs Node.js 24 for its scripts, but this is Node ${version} (${execPath}).\n` +
    'The devDependency node@24 provides it as node_modules/.bin/node; it is missing when npm ran with --ignore-scripts.\n' +
    'Fix: npm rebuild node (or npm ci without --ignore-scripts).\n'
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const problem = nodeVersionProblem(process.versions.node, process.execPath);
  if (problem) {
    process.stderr.write(problem);
    process.exit(1);
  }
}
