// stand-in for setsebool: behaves like setsebool at its interface for the lab — [-P] NAME on|off|1|0.
import { readBooleans, writeBooleans } from './selinux-state.ts';

const [name, value] = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const booleans = readBooleans();
if (!name || !(name in booleans) || !['on', 'off', '1', '0', 'true', 'false'].includes(value ?? '')) {
  process.stderr.write(`Could not change active booleans: Invalid boolean\n`);
  process.exit(1);
}
writeBooleans({ ...booleans, [name]: ['on', '1', 'true'].includes(value!) });
