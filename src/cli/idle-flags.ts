/**
 * `--disable-idle-days D` (`start`, `control`; off by default): caches without memcache
 * traffic for D days are disabled, their reason recorded as idle, so that their owner can
 * re-enable them with the API v2's `enable_cache` (src/control/idle.ts says what counts
 * as traffic). MemCachier does this to development caches after 30 days.
 */
import { intOption } from './args.ts';

export const IDLE_FLAGS = {
  'disable-idle-days': { type: 'string' },
} as const;

export function idleOptions(o: { 'disable-idle-days'?: string }): { disableIdleDays?: number } {
  if (o['disable-idle-days'] === undefined) return {};
  return { disableIdleDays: intOption(o['disable-idle-days'], 'disable-idle-days', 30, 1, 36500) };
}
