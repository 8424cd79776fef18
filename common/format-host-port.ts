/** "10.0.0.1:6443", "[fd00::1]:6443": an IPv6 address is bracketed so that its colons are not read as the port's. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
