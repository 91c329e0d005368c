/**
 * host:port as clients and the catalog spell it: an IPv6 literal in brackets (`[::1]:11211`),
 * else `::1:11211` could not be told apart from a host named `::1:11211` with no port.
 */
export function hostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}
