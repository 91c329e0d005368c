/**
 * A Connection over a Node socket: TLS, and the fallback where the native loop cannot run.
 * Its socket must allow half-open (`allowHalfOpen`; cache-node.ts sets it): otherwise Node
 * ends the socket itself on the peer's FIN, and replies to requests read but not yet
 * answered are refused (written after the FIN) and the socket destroyed.
 */
import type { Socket } from 'node:net';
import type { Connection, ConnectionHandlers } from './connection.ts';

export class StreamConnection implements Connection {
  readonly writesAreCopied = false;

  constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
  }

  get remoteAddress(): string {
    return this.socket.remoteAddress ?? '';
  }

  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  bind(h: ConnectionHandlers): void {
    const s = this.socket;
    s.on('data', (chunk: Buffer) => h.data(chunk, Date.now()));
    s.on('drain', h.drain);
    s.on('end', h.end);
    s.on('error', () => s.destroy());
    s.on('close', h.close);
  }

  write(data: Uint8Array): boolean {
    return this.socket.write(data);
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }
}
