// stand-in for swapoff: behaves like swapoff at its interface for the lab — a lab node shares the host's kernel and
// has no swap of its own, so `swapoff -a` has nothing to turn off and succeeds, as it does on a swapless host.
const argv = process.argv.slice(2);
if (!argv.includes('-a') && !argv.includes('--all') && argv.length === 0) {
  process.stderr.write("swapoff: bad usage\nTry 'swapoff --help' for more information.\n");
  process.exit(1);
}
