// `cachier start --host ::1`: addresses built from an IPv6 host and a port are bracketed
// ([::1]:port, src/shared/host-port.ts), so the nodes register, start reaches "cachier
// ready", clients are given [::1]:port servers, and a node serves memcache on ::1.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawnCli, tempDir, type Proc } from './support/child-process.ts';
import { asciiLogin } from './support/node-process.ts';
import { freePorts } from './support/ports.ts';
import { RawClient } from './support/raw-client.ts';

const hasIpv6Loopback = await new Promise<boolean>((resolve) => {
  const s = net.createServer().once('error', () => resolve(false)).listen(0, '::1', () => s.close(() => resolve(true)));
});

let proc: Proc | undefined;
let ports: number[];
let httpPort: number;

before(async () => {
  if (!hasIpv6Loopback) return;
  ports = await freePorts(2, { consecutive: true });
  [httpPort] = await freePorts(1) as [number];
  proc = await spawnCli(['start', '--data', tempDir('cachier-v6-'), '--host', '::1', '--port', String(ports[0]),
    '--http-port', String(httpPort), '--nodes', '2'], 'cachier ready', { timeoutMs: 60_000 });
});
after(() => proc?.stop());

test('start --host ::1 is ready, names its nodes [::1]:port and serves memcache on ::1', { skip: hasIpv6Loopback ? false : 'no IPv6 loopback' }, async () => {
  const out = proc!.stdout();
  const servers = ports.map((p) => `[::1]:${p}`);
  assert.match(proc!.readyLine, new RegExp(`nodes=${servers.join(',').replace(/[[\]]/g, '\\$&')}`));
  assert.equal(/^MEMCACHIER_SERVERS=(.*)$/m.exec(out)![1], servers.join(','));
  const cred = { username: /^MEMCACHIER_USERNAME=(.*)$/m.exec(out)![1]!, password: /^MEMCACHIER_PASSWORD=(.*)$/m.exec(out)![1]! };
  for (const port of ports) {
    const c = await RawClient.connect(port, '::1');
    try {
      assert.equal(await c.text(asciiLogin(cred)), 'STORED\r\n');
      assert.equal(await c.text('set k 0 0 2\r\nv6\r\n'), 'STORED\r\n');
      assert.equal(await c.text('get k\r\n', 'END\r\n'), 'VALUE k 0 2\r\nv6\r\nEND\r\n');
    } finally {
      c.end();
    }
  }
  const ready = await fetch(`http://[::1]:${httpPort}/readyz`);
  assert.equal(ready.status, 200);
});
