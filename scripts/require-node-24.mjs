// Runs before the tests: npm scripts must run on the Node 24 that the devDependency `node@24` installs.
const major = Number(process.versions.node.split('.')[0]);
if (major !== 24) {
  process.stderr.write(
    `kubeha needs Node.js 24 for its scripts, but this is Node ${process.versions.node} (${process.execPath}).\n` +
      'The devDependency node@24 provides it as node_modules/.bin/node; it is missing when npm ran with --ignore-scripts.\n' +
      'Fix: npm rebuild node (or npm ci without --ignore-scripts).\n',
  );
  process.exit(1);
}
