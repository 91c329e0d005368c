/**
 * History: charts of the stored samples over the chosen range (1 h, 24 h, 7 d, 30 d):
 * memory, hit rate, requests per second by command, connections, evictions, items.
 * Refreshes with the sampling interval unless paused.
 */
import { type TimeChart as Chart, PALETTE, TimeChart } from '../charts.ts';
import { h, setText } from '../dom.ts';
import { formatBytes, formatCompact, formatDuration, formatRate, formatTime } from '../format.ts';
import { COMMAND_RATES, historySeries } from '../metrics.ts';
import { RANGES, type MonitorState, type RangeId } from '../monitor.ts';
import { alertBox, pageHead } from './components.ts';
import type { AppContext, View } from './shell.ts';

const [BLUE, GREEN, ORANGE, PINK, VIOLET] = PALETTE as [string, string, string, string, string, ...string[]];
const GREY = '#8a93a6';

export function historyView(ctx: AppContext): View {
  const alert = alertBox('history-alert');
  const status = h('span', { class: 'updated' }, 'Loading…');

  // ---- range selector: a radio group, so it is one tab stop with arrow keys
  const range = h('fieldset', { class: 'segmented', id: 'range' },
    h('legend', { class: 'sr-only' }, 'Time range'),
    RANGES.map((r) => {
      const input = h('input', { type: 'radio', name: 'range', value: r.id, id: `range-${r.id}` });
      input.addEventListener('change', () => input.checked && ctx.monitor.setRange(r.id as RangeId));
      return h('label', { class: 'segment', for: `range-${r.id}` }, input, h('span', {}, r.label));
    }));
  const auto = h('input', { type: 'checkbox', id: 'auto-refresh', role: 'switch' });
  auto.addEventListener('change', () => ctx.monitor.setAutoRefresh(auto.checked));
  const autoLabel = h('label', { class: 'switch', for: 'auto-refresh' }, auto, h('span', { class: 'switch-track', 'aria-hidden': 'true' }),
    h('span', {}, 'Auto-refresh'));

  const charts = {
    memory: new TimeChart({
      id: 'memory', title: 'Memory', description: 'Bytes used against the limit',
      series: [{ label: 'used', color: BLUE, fill: true }, { label: 'limit', color: GREY, dash: [6, 4] }],
      format: formatBytes,
    }),
    hitRate: new TimeChart({
      id: 'hit-rate', title: 'Hit rate', description: 'Share of gets that found their key, per interval',
      series: [{ label: 'hit rate', color: GREEN, spanGaps: true }],
      format: (v) => `${Math.round(v)}%`,
      yMax: 100,
    }),
    requests: new TimeChart({
      id: 'requests', title: 'Requests per second', description: 'By command, over every server',
      series: COMMAND_RATES.map((c, i) => ({ label: c.name, color: PALETTE[i % PALETTE.length]! })),
      format: formatRate,
    }),
    connections: new TimeChart({
      id: 'connections', title: 'Connections', description: 'Open connections, and new ones per second',
      series: [{ label: 'open', color: VIOLET, fill: true }, { label: 'new /s', color: ORANGE }],
      format: formatCompact,
      integer: true,
    }),
    evictions: new TimeChart({
      id: 'evictions', title: 'Evictions', description: 'Items pushed out to make room, and items expired, per second',
      series: [{ label: 'evicted', color: PINK, fill: true }, { label: 'expired', color: GREY }],
      format: formatRate,
    }),
    items: new TimeChart({
      id: 'items', title: 'Items', description: 'Items stored in the cache',
      series: [{ label: 'items', color: BLUE, fill: true }],
      format: formatCompact,
      integer: true,
    }),
  } satisfies Record<string, Chart>;

  const el = h('div', { class: 'screen screen-history' },
    pageHead('History', status, range, autoLabel),
    alert.el,
    h('div', { class: 'charts' }, Object.values(charts).map((c) => c.el)),
  );

  let lastRecords: unknown;
  function render(state: MonitorState): void {
    for (const input of range.querySelectorAll('input')) input.checked = input.value === state.range;
    auto.checked = state.autoRefresh;
    if (state.historyError) alert.show(`Could not read the history: ${state.historyError}`);
    else alert.clear();

    const label = RANGES.find((r) => r.id === state.range)!.label;
    const parts = [`Last ${label}`];
    if (state.intervalMs) parts.push(`sampled every ${formatDuration(state.intervalMs / 1000)}`);
    if (state.stepMs && state.stepMs > (state.intervalMs ?? 0)) parts.push(`one point per ${formatDuration(state.stepMs / 1000)}`);
    if (!state.historyLoaded) parts.push('loading…');
    else if (state.history.length) parts.push(`newest ${formatTime(Number(state.history[state.history.length - 1]!.timestamp))}`);
    else parts.push('no samples yet');
    setText(status, parts.join(' · '));
    el.classList.toggle('is-loading', !state.historyLoaded);

    if (state.history === lastRecords) return;
    lastRecords = state.history;
    // Downsampled, a server's records are a step apart, not an interval.
    const s = historySeries(state.history, Math.max(state.intervalMs ?? 0, state.stepMs ?? 0) || undefined);
    charts.memory.setData(s.t, [s.bytes, s.limit]);
    charts.hitRate.setData(s.t, [s.hitRate]);
    charts.requests.setData(s.t, COMMAND_RATES.map((c) => s.commands[c.name]!));
    charts.connections.setData(s.t, [s.connections, s.newConnections]);
    charts.evictions.setData(s.t, [s.evictions, s.expired]);
    charts.items.setData(s.t, [s.items]);
  }

  const off = ctx.monitor.subscribe(render);
  render(ctx.monitor.state);
  return {
    el,
    destroy() {
      off();
      for (const c of Object.values(charts)) c.destroy();
    },
  };
}
