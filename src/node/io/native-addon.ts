/**
 * Loads the native socket loop (native/socket-loop.cc, built by `npm ci` through
 * node-gyp). Absent on other platforms or when the build failed: nodes then use
 * net.Server. The mode comes from the node's `io` option, else CACHIER_IO:
 * `auto` (default) takes the addon when it loads, `stream` always uses Node's sockets,
 * `native` makes a missing addon an error (CI sets it, so a broken build cannot pass
 * unnoticed).
 */
import { createRequire } from 'node:module';

export interface SocketLoopAddon {
  open(slab: Buffer, events: Int32Array, onBatch: (count: number) => void): SocketLoopHandle;
  /** [listenerId, port]; throws an Error with `code` (EADDRINUSE…) on failure. */
  listen(loop: SocketLoopHandle, host: string, port: number, backlog: number): [number, number];
  /** 1 sent, 0 queued (a DRAIN event follows), -1 the connection is gone. */
  write(loop: SocketLoopHandle, id: number, data: Uint8Array): number;
  pause(loop: SocketLoopHandle, id: number, paused: boolean): void;
  end(loop: SocketLoopHandle, id: number): void;
  close(loop: SocketLoopHandle, id: number): void;
  peer(loop: SocketLoopHandle, id: number): string;
  shutdown(loop: SocketLoopHandle): void;
}

declare const handleBrand: unique symbol;
export type SocketLoopHandle = { readonly [handleBrand]: true };

export type IoMode = 'auto' | 'native' | 'stream';
export const IO_MODES: readonly IoMode[] = ['auto', 'native', 'stream'];

export function isIoMode(v: string): v is IoMode {
  return (IO_MODES as readonly string[]).includes(v);
}

/** The addon, or why it is not there. */
export interface SocketLoopLoad {
  readonly addon?: SocketLoopAddon;
  readonly error?: string;
}

let loaded: SocketLoopLoad | undefined;

function load(): SocketLoopLoad {
  if (loaded) return loaded;
  if (process.platform !== 'linux') return (loaded = { error: 'the native socket loop runs on Linux only' });
  try {
    return (loaded = { addon: createRequire(import.meta.url)('../../../build/Release/socket_loop.node') as SocketLoopAddon });
  } catch (e) {
    return (loaded = { error: `not loadable (run npm ci; it needs a C++ compiler): ${(e as Error).message}` });
  }
}

/** The addon to use for `mode`, or undefined for Node's sockets. */
export function socketLoopAddon(mode: IoMode | undefined = ioModeFromEnv()): SocketLoopAddon | undefined {
  return chooseSocketLoop(mode).addon;
}

/**
 * The addon to use for `mode` (CACHIER_IO when not given), and `fallback`, the reason,
 * when `auto` found none and the port falls back to Node's sockets. `loader` is for tests
 * (an addon that did not build).
 */
export function chooseSocketLoop(mode: IoMode | undefined = ioModeFromEnv(), loader: () => SocketLoopLoad = load): { addon?: SocketLoopAddon; fallback?: string } {
  if (mode === 'stream') return {};
  const { addon, error } = loader();
  if (addon) return { addon };
  if (mode === 'native') throw new Error(`io native: ${error}`);
  return { fallback: error ?? 'not loadable' };
}

function ioModeFromEnv(): IoMode {
  const v = process.env.CACHIER_IO;
  if (v === undefined || v === '') return 'auto';
  if (!isIoMode(v)) throw new Error(`CACHIER_IO must be one of ${IO_MODES.join(', ')}, not "${v}"`);
  return v;
}
