import { isIP } from 'node:net';
import { ErrorCode, KubehaError } from '../../common/errors.ts';

/**
 * What the agent writes for keepalived's track_file: "0" while this node may hold the VIP, "1" while it may not.
 * In a directory of its own that keepalived may read under SELinux enforcing (keepalived_var_run_t, which the policy
 * gives /run/keepalived.*; a file in /var/lib would be var_lib_t, which keepalived_t may not open, and keepalived
 * takes an unreadable track file as 0). /run is emptied at boot and keepalived drops a track file whose directory is
 * missing when it starts, so the directory is made at boot by the agent RPM's tmpfiles.d entry, and by the agent.
 */
export const vrrpTrackDirectory = '/run/keepalived-kubeha';
export const defaultVrrpTrackFile = `${vrrpTrackDirectory}/vrrp-status`;
export const defaultCheckScript = '/usr/libexec/kubeha/check-apiserver';

export interface VrrpCheck {
  /** The check script and its arguments; keepalived runs it as root every intervalS seconds. */
  command: readonly string[];
  intervalS: number;
  timeoutS: number;
  fall: number;
  rise: number;
  /** 0: failing puts the instance in FAULT (the VIP leaves at once); negative: subtracted from the priority. */
  weight: number;
}

export interface KeepalivedConfigInput {
  nodeName: string;
  interface: string;
  virtualRouterId: number;
  /** 1..254, distinct per node, the init node highest. */
  priority: number;
  vip: string;
  vipPrefixLength: number;
  /** Secret: 1..8 characters; never logged. */
  authPass: string;
  multicast: boolean;
  /** Unicast only: this node's address and its peers'. */
  unicastSrcIp: string;
  unicastPeers: readonly string[];
  /** Every node's address, so a VIP equal to one of them is refused. */
  nodeAddresses: readonly string[];
  advertIntS: number;
  /** false renders nopreempt: a recovered node does not take the VIP back (one move per failure, not two). */
  preempt: boolean;
  check: VrrpCheck;
  /** When set, the agent drives the instance through this file too, faster than the script's interval. */
  trackFile?: string;
}

/** Linux accepts up to 15 bytes without "/", ":" or white space; we also refuse anything a config parser could misread. */
const interfaceName = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;
const nodeName = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const authPassPattern = /^[A-Za-z0-9_.+=-]+$/;
const scriptWord = /^[A-Za-z0-9_./:=@%+,-]+$/;
const absolutePath = /^\/[A-Za-z0-9_./-]+$/;

function integerIn(value: number, min: number, max: number): boolean {
  return Number.isInteger(value) && value >= min && value <= max;
}

export function keepalivedConfigProblems(input: KeepalivedConfigInput): string[] {
  const problems: string[] = [];
  if (!nodeName.test(input.nodeName)) problems.push(`nodeName: "${input.nodeName}" is not an RFC 1123 name`);
  if (!interfaceName.test(input.interface) || input.interface === '.' || input.interface === '..') {
    problems.push(
      `interface: "${input.interface}" is not a Linux interface name (1-15 of A-Z a-z 0-9 _ . -, e.g. eth0, ens224)`,
    );
  }
  if (!integerIn(input.virtualRouterId, 1, 255)) {
    problems.push(`virtualRouterId: ${input.virtualRouterId} is outside 1..255`);
  }
  if (!integerIn(input.priority, 1, 254)) {
    problems.push(`priority: ${input.priority} is outside 1..254 (255 is reserved for the address owner)`);
  }
  const vipFamily = isIP(input.vip);
  if (vipFamily === 0) {
    problems.push(`vip: "${input.vip}" is not an IPv4 or IPv6 address`);
  } else {
    if (input.nodeAddresses.includes(input.vip) || input.unicastSrcIp === input.vip) {
      problems.push(`vip: ${input.vip} is a node's own address; the VIP must be an unused address`);
    }
    if (!integerIn(input.vipPrefixLength, 1, vipFamily === 4 ? 32 : 128)) {
      problems.push(`vipPrefixLength: ${input.vipPrefixLength} is outside 1..${vipFamily === 4 ? 32 : 128}`);
    }
  }
  if (input.authPass.length < 1 || input.authPass.length > 8) {
    problems.push(`authPass: must be 1 to 8 characters (keepalived uses only 8), got ${input.authPass.length}`);
  } else if (!authPassPattern.test(input.authPass)) {
    problems.push('authPass: only A-Z a-z 0-9 _ . + = - are allowed');
  }
  if (!input.multicast) {
    if (isIP(input.unicastSrcIp) === 0) {
      problems.push(`unicastSrcIp: "${input.unicastSrcIp}" is not an IPv4 or IPv6 address`);
    }
    if (input.unicastPeers.length === 0) {
      problems.push('unicastPeers: unicast needs at least one peer (or set multicast)');
    }
    input.unicastPeers.forEach((peer, i) => {
      if (isIP(peer) === 0) problems.push(`unicastPeers[${i}]: "${peer}" is not an IPv4 or IPv6 address`);
      else if (peer === input.unicastSrcIp) problems.push(`unicastPeers[${i}]: ${peer} is this node's own address`);
      else if (peer === input.vip) problems.push(`unicastPeers[${i}]: ${peer} is the VIP`);
    });
  }
  if (!integerIn(input.advertIntS, 1, 255)) problems.push(`advertIntS: ${input.advertIntS} is outside 1..255`);
  const check = input.check;
  if (check.command.length === 0 || !absolutePath.test(check.command[0] ?? '')) {
    problems.push('check.command: the first word must be an absolute path to the check script');
  }
  check.command.forEach((word, i) => {
    if (!scriptWord.test(word))
      problems.push(`check.command[${i}]: "${word}" contains characters keepalived could misread`);
  });
  if (!integerIn(check.intervalS, 1, 60)) problems.push(`checkIntervalS: ${check.intervalS} is outside 1..60`);
  if (!integerIn(check.timeoutS, 1, 60)) problems.push(`checkTimeoutS: ${check.timeoutS} is outside 1..60`);
  if (!integerIn(check.fall, 1, 100)) problems.push(`checkFall: ${check.fall} is outside 1..100`);
  if (!integerIn(check.rise, 1, 100)) problems.push(`checkRise: ${check.rise} is outside 1..100`);
  if (!integerIn(check.weight, -253, 253)) problems.push(`checkWeight: ${check.weight} is outside -253..253`);
  if (!input.preempt && check.weight !== 0) {
    problems.push('checkWeight: must be 0 without preemption (a backup with nopreempt ignores a lowered priority)');
  }
  if (input.trackFile !== undefined && !absolutePath.test(input.trackFile)) {
    problems.push(`trackFile: "${input.trackFile}" is not an absolute path`);
  }
  return problems;
}

/** keepalived.conf, one keyword per line (keepalived does not accept ";" as a separator). Throws naming the field. */
export function renderKeepalivedConfig(input: KeepalivedConfigInput): string {
  const problems = keepalivedConfigProblems(input);
  if (problems.length > 0) {
    throw new KubehaError(ErrorCode.paramsInvalid, `keepalived configuration refused:\n  ${problems.join('\n  ')}`, {
      details: problems,
    });
  }
  const c = input.check;
  const lines = [
    '! Written by kubeha (load-balancer step). Local changes are replaced on the next run.',
    'global_defs {',
    `    router_id ${input.nodeName}`,
    '    script_user root',
    '    enable_script_security',
    '}',
    '',
    'vrrp_script kubeha_check_apiserver {',
    `    script "${c.command.join(' ')}"`,
    `    interval ${c.intervalS}`,
    `    timeout ${c.timeoutS}`,
    `    fall ${c.fall}`,
    `    rise ${c.rise}`,
    `    weight ${c.weight}`,
    '}',
    '',
  ];
  if (input.trackFile !== undefined) {
    lines.push(
      'track_file kubeha_agent_verdict {',
      `    file "${input.trackFile}"`,
      '    weight 0',
      // Neutral at keepalived's start: the check script decides until the agent speaks.
      '    init_file 0 overwrite',
      '}',
      '',
    );
  }
  lines.push(
    'vrrp_instance kubeha_api {',
    '    state BACKUP',
    `    interface ${input.interface}`,
    `    virtual_router_id ${input.virtualRouterId}`,
    `    priority ${input.priority}`,
    `    advert_int ${input.advertIntS}`,
  );
  if (!input.preempt) lines.push('    nopreempt');
  if (!input.multicast) {
    lines.push(`    unicast_src_ip ${input.unicastSrcIp}`, '    unicast_peer {');
    for (const peer of input.unicastPeers) lines.push(`        ${peer}`);
    lines.push('    }');
  }
  lines.push(
    '    authentication {',
    '        auth_type PASS',
    `        auth_pass ${input.authPass}`,
    '    }',
    '    virtual_ipaddress {',
    `        ${input.vip}/${input.vipPrefixLength} dev ${input.interface}`,
    '    }',
    '    track_script {',
    '        kubeha_check_apiserver',
    '    }',
  );
  if (input.trackFile !== undefined) lines.push('    track_file {', '        kubeha_agent_verdict', '    }');
  lines.push('}', '');
  return lines.join('\n');
}
