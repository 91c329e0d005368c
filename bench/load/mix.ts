/**
 * A get/set mix over a fixed key space, with every request's bytes built up front, and
 * the connections that carry it (opened and logged in as the spec says).
 */
import { saslPlain } from '../../src/protocol/binary/testing/frames.ts';
import { LoadConnection } from './connection.ts';
import {
  OP_GET, OP_SET, asciiLoginRequest, framerFor, getRequest, keyName, setRequest, valueOf,
  type Op,
} from './protocols.ts';
import type { ClosedLoopSpec, OpenLoopSpec } from './spec.ts';

export class RequestMix {
  private readonly gets: Buffer[] = [];
  private readonly sets: Buffer[] = [];
  /** Filled by `next()`: the operation and the key's number. */
  op: Op = OP_GET;
  key = 0;

  constructor(private readonly spec: ClosedLoopSpec | OpenLoopSpec) {
    const value = valueOf(spec.valueSize);
    for (let i = 0; i < spec.keys; i++) {
      const key = keyName(i);
      this.gets.push(getRequest(spec.protocol, key));
      this.sets.push(setRequest(spec.protocol, key, value));
    }
  }

  /** A random request; its operation is left in `this.op`. */
  next(): Buffer {
    const i = (Math.random() * this.spec.keys) | 0;
    this.key = i;
    if (Math.random() < this.spec.getRatio) {
      this.op = OP_GET;
      return this.gets[i]!;
    }
    this.op = OP_SET;
    return this.sets[i]!;
  }
}

export async function openConnections(spec: ClosedLoopSpec | OpenLoopSpec): Promise<LoadConnection[]> {
  // Every key holds valueOf(valueSize) (the preload and every set write it): check hits carry it.
  const framer = framerFor(spec.protocol, valueOf(spec.valueSize));
  const conns = await Promise.all(
    Array.from({ length: spec.connections }, () => LoadConnection.open(spec.host, spec.port, framer)),
  );
  const auth = spec.auth;
  if (auth) {
    await Promise.all(
      conns.map(async (c) => {
        if (auth.kind === 'ascii-login') {
          const reply = await c.handshake(asciiLoginRequest(auth.username, auth.password), (b) => b.includes('\r\n'));
          if (!reply.toString('latin1').startsWith('STORED\r\n')) {
            throw new Error(`ASCII login refused: ${JSON.stringify(reply.toString('latin1'))}`);
          }
        } else {
          const reply = await c.handshake(saslPlain(auth.username, auth.password), (b) => b.length >= 24 && b.length >= 24 + b.readUInt32BE(8));
          const status = reply.readUInt16BE(6);
          if (status !== 0) throw new Error(`SASL PLAIN refused: status 0x${status.toString(16)}`);
        }
      }),
    );
  }
  for (const c of conns) c.start();
  return conns;
}
