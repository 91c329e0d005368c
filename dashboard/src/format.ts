/** Number, size, rate and time formats shared by every view (binary units, as memcached). */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
/** Keeps a number and its unit on one line. */
const NBSP = '\u00a0';

export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '—';
  let v = Math.abs(n);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  const digits = u === 0 || v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${n < 0 ? '-' : ''}${v.toFixed(digits)}${NBSP}${UNITS[u]}`;
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });

export function formatCount(n: number): string {
  return Number.isFinite(n) ? integer.format(n) : '—';
}

/** Short form for axes: 1.2K, 3.4M. */
export function formatCompact(n: number): string {
  return Number.isFinite(n) ? compact.format(n) : '—';
}

export function formatPercent(fraction: number | null, digits = 1): string {
  if (fraction === null || !Number.isFinite(fraction)) return '—';
  return `${(fraction * 100).toFixed(digits)}${NBSP}%`;
}

/**
 * A share of a whole (memory used of the limit), rounded down and given one decimal near
 * the ends, so a nearly full cache never reads 100 % nor a barely used one 0 %.
 */
export function formatShare(fraction: number): string {
  const digits = (fraction > 0 && fraction < 0.1) || (fraction > 0.99 && fraction < 1) ? 1 : 0;
  const scale = 10 ** (digits + 2);
  return formatPercent(Math.floor(fraction * scale) / scale, digits);
}

export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '—';
  if (perSecond === 0) return '0/s';
  if (perSecond < 0.1) return `${(perSecond * 60).toFixed(1)}/min`;
  if (perSecond < 10) return `${perSecond.toFixed(1)}/s`;
  return `${compact.format(perSecond)}/s`;
}

export function formatTime(ms: number): string {
  return new Date(ms).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)}${NBSP}s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)}${NBSP}min`;
  return `${Math.round(seconds / 3600)}${NBSP}h`;
}

const significant = new Intl.NumberFormat('en-US', { notation: 'compact', maximumSignificantDigits: 3 });

/** Per second, one unit whatever the size (axes must not mix /s and /min): 0.05/s, 12.5/s, 1.2K/s. */
export function formatPerSecond(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '—';
  return `${perSecond === 0 ? '0' : significant.format(perSecond)}/s`;
}

/** Nanoseconds as the largest fitting unit: 850 ns, 84.2 µs, 2.42 ms, 1.20 s. */
export function formatNanos(ns: number): string {
  if (!Number.isFinite(ns)) return '—';
  const units: [number, string][] = [[1e9, 's'], [1e6, 'ms'], [1e3, 'µs']];
  for (const [scale, unit] of units) {
    if (Math.abs(ns) >= scale) {
      const v = ns / scale;
      return `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)}${NBSP}${unit}`;
    }
  }
  return `${Math.round(ns)}${NBSP}ns`;
}

export type ValueUnit = 'ratio' | 'perSecond' | 'bytes' | 'bytesPerSecond' | 'count' | 'nanoseconds';

/** How a unit reads on an axis (short) and in a tooltip (precise). */
export function unitFormats(unit: ValueUnit): { tick: (v: number) => string; value: (v: number) => string } {
  switch (unit) {
    case 'ratio':
      return {
        tick: (v) => `${Math.round(v * 100)}${NBSP}%`,
        value: (v) => formatPercent(v, v === 0 || v === 1 ? 0 : 1),
      };
    case 'perSecond':
      return { tick: formatPerSecond, value: formatPerSecond };
    case 'bytes':
      return { tick: formatBytes, value: formatBytes };
    case 'bytesPerSecond':
      return { tick: (v) => `${formatBytes(v)}/s`, value: (v) => `${formatBytes(v)}/s` };
    case 'count':
      return { tick: formatCompact, value: formatCount };
    case 'nanoseconds':
      return { tick: formatNanos, value: formatNanos };
  }
}
