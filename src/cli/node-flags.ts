/**
 * The flags of every command that runs cache nodes (`start`, `node`): connection limits,
 * timeouts, request size, TLS on the memcache port, the cluster a node serves and the memory
 * it offers (placement's capacity); and the HTTPS flags of every command
 * that runs a control plane (`start`, `control`). Certificate files are read here, once,
 * so a missing file is a usage error at start-up.
 */
import { readFileSync } from 'node:fs';
import { DEFAULT_NODE_LIMITS, type NodeLimits } from '../node/limits.ts';
import type { TlsFiles } from '../node/cache-node.ts';
import { IO_MODES, isIoMode, type IoMode } from '../node/io/native-addon.ts';
import { parseSize } from '../shared/sizes.ts';
import { DEFAULT_INTROSPECTION_MEMORY, type IntrospectionSettings } from '../introspection/registry.ts';
import { isClusterName } from '../catalog/clusters.ts';
import { intOption, UsageError } from './args.ts';

export const NODE_FLAGS = {
  'auth-timeout': { type: 'string' },
  'idle-timeout': { type: 'string' },
  'max-connections': { type: 'string' },
  'max-pending-connections': { type: 'string' },
  'max-pending-per-source': { type: 'string' },
  'max-cache-connections': { type: 'string' },
  'max-item-size': { type: 'string' },
  'max-reply-queue': { type: 'string' },
  'max-receive-buffer': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  io: { type: 'string' },
  'introspection-memory': { type: 'string' },
  'no-introspection': { type: 'boolean' },
  cluster: { type: 'string' },
  'node-memory': { type: 'string' },
} as const;

export const HTTPS_FLAGS = {
  'https-cert': { type: 'string' },
  'https-key': { type: 'string' },
} as const;

type FlagValues<F> = { readonly [K in keyof F]?: F[K] extends { type: 'boolean' } ? boolean : string };

export interface NodeFlagOptions {
  readonly limits: NodeLimits;
  readonly tls: TlsFiles | undefined;
  readonly io: IoMode | undefined;
  readonly introspection: IntrospectionSettings;
  /** --cluster NAME (made in the catalog if missing); undefined: `default`. */
  readonly cluster: string | undefined;
  /** --node-memory SIZE: what the node offers its cluster's caches (placement); undefined: the catalog's default, 1gb. */
  readonly capacityBytes: number | undefined;
}

const MIN_ITEM_SIZE = 1024;
const MAX_ITEM_SIZE = 128 * 1024 * 1024;

export function nodeFlagOptions(o: FlagValues<typeof NODE_FLAGS>): NodeFlagOptions {
  const limits: NodeLimits = {
    ...DEFAULT_NODE_LIMITS,
    maxItemSize: sizeOption(o['max-item-size'], 'max-item-size', DEFAULT_NODE_LIMITS.maxItemSize, MIN_ITEM_SIZE, MAX_ITEM_SIZE),
    authTimeoutMs: intOption(o['auth-timeout'], 'auth-timeout', DEFAULT_NODE_LIMITS.authTimeoutMs / 1000, 1, 3600) * 1000,
    idleTimeoutMs: intOption(o['idle-timeout'], 'idle-timeout', 0, 0, 30 * 86400) * 1000,
    maxConnections: intOption(o['max-connections'], 'max-connections', DEFAULT_NODE_LIMITS.maxConnections, 1, 1_000_000),
    maxPendingConnections: intOption(
      o['max-pending-connections'], 'max-pending-connections', DEFAULT_NODE_LIMITS.maxPendingConnections, 1, 1_000_000,
    ),
    maxPendingPerSource: intOption(
      o['max-pending-per-source'], 'max-pending-per-source', DEFAULT_NODE_LIMITS.maxPendingPerSource, 1, 1_000_000,
    ),
    maxCacheConnections: intOption(
      o['max-cache-connections'], 'max-cache-connections', DEFAULT_NODE_LIMITS.maxCacheConnections, 1, 1_000_000,
    ),
    replyQueueBytes: sizeOption(o['max-reply-queue'], 'max-reply-queue', DEFAULT_NODE_LIMITS.replyQueueBytes, 1024, 2 ** 31),
    receiveBufferBytes: sizeOption(o['max-receive-buffer'], 'max-receive-buffer', DEFAULT_NODE_LIMITS.receiveBufferBytes, 1024 * 1024, 2 ** 40),
  };
  const introspection: IntrospectionSettings = {
    enabled: o['no-introspection'] !== true,
    memoryBytes: sizeOption(o['introspection-memory'], 'introspection-memory', DEFAULT_INTROSPECTION_MEMORY, 0, 2 ** 40),
  };
  if (o.cluster !== undefined && !isClusterName(o.cluster)) {
    throw new UsageError(`--cluster "${o.cluster}": use 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  }
  const capacityBytes = o['node-memory'] === undefined ? undefined : sizeOption(o['node-memory'], 'node-memory', 0, 1024 * 1024, 2 ** 50);
  return { limits, tls: pemPair(o['tls-cert'], o['tls-key'], 'tls'), io: ioOption(o.io), introspection, cluster: o.cluster, capacityBytes };
}

/** --io auto|native|stream: how the memcache port does socket I/O (see src/node/io/). */
function ioOption(v: string | undefined): IoMode | undefined {
  if (v === undefined) return undefined;
  if (!isIoMode(v)) throw new UsageError(`--io must be one of ${IO_MODES.join(', ')}`);
  return v;
}

export function httpsOption(o: FlagValues<typeof HTTPS_FLAGS>): TlsFiles | undefined {
  return pemPair(o['https-cert'], o['https-key'], 'https');
}

function pemPair(certFile: string | undefined, keyFile: string | undefined, prefix: string): TlsFiles | undefined {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) throw new UsageError(`--${prefix}-cert and --${prefix}-key go together`);
  return { cert: readPem(certFile, `${prefix}-cert`), key: readPem(keyFile, `${prefix}-key`) };
}

function readPem(file: string, option: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new UsageError(`--${option} ${file}: ${(e as NodeJS.ErrnoException).code ?? 'cannot read'}`);
  }
}

function sizeOption(value: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  let n: number;
  try {
    n = parseSize(value);
  } catch (e) {
    throw new UsageError(`--${name}: ${(e as Error).message}`);
  }
  if (n < min || n > max) throw new UsageError(`--${name} must be from ${min} to ${max} bytes`);
  return n;
}
