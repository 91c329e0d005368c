/** A Connection over a Node socket: TLS, and the fallback where the native loop cannot run. */
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
