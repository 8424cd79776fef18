// stand-in for containerd: behaves like containerd at its interface for the lab — `containerd config default`
// prints containerd 1.7's default configuration (version = 2), and the daemon serves its socket
// /run/containerd/containerd.sock until stopped, answering the CRI there. Containers are the stand-in kubelet's processes.
import { mkdirSync, rmSync } from 'node:fs';
import { serveCri } from './cri-server.ts';
import { requirePackage } from './package-database.ts';

requirePackage('containerd.io', 'containerd');
export const containerdSocket = '/run/containerd/containerd.sock';

const defaultConfig = `disabled_plugins = []
imports = []
oom_score = 0
plugin_dir = ""
required_plugins = []
root = "/var/lib/containerd"
state = "/run/containerd"
temp = ""
version = 2

[cgroup]
  path = ""

[grpc]
  address = "/run/containerd/containerd.sock"
  gid = 0
  max_recv_message_size = 16777216
  max_send_message_size = 16777216
  uid = 0

[plugins]

  [plugins."io.containerd.grpc.v1.cri"]
    device_ownership_from_security_context = false
    disable_apparmor = false
    enable_selinux = false
    max_container_log_line_size = 16384
    sandbox_image = "registry.k8s.io/pause:3.8"
    stream_server_address = "127.0.0.1"

    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/opt/cni/bin"
      conf_dir = "/etc/cni/net.d"

    [plugins."io.containerd.grpc.v1.cri".containerd]
      default_runtime_name = "runc"
      snapshotter = "overlayfs"

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes]

        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
          runtime_type = "io.containerd.runc.v2"

          [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
            BinaryName = ""
            SystemdCgroup = false

    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = ""
`;

const [command, sub] = process.argv.slice(2);
if (command === 'config' && sub === 'default') {
  process.stdout.write(defaultConfig);
  process.exit(0);
}
if (command === '--version' || command === 'version') {
  process.stdout.write('containerd containerd.io 1.7.25 bcc810d6b9066471b0b6fa75f557a15a1cbf31bb\n');
  process.exit(0);
}
mkdirSync('/run/containerd', { recursive: true });
const server = await serveCri(containerdSocket);
process.stdout.write(`containerd (lab stand-in) serving the CRI on ${containerdSocket}\n`);
process.on('SIGTERM', () => {
  server.forceShutdown();
  rmSync(containerdSocket, { force: true });
  process.exit(0);
});
