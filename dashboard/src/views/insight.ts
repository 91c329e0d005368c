/**
 * Insight: charts of the API v2's processed stats and latency.
 *
 * - Stats: any of the 36 (`insight-stats.ts`), picked in groups (hit rates, request
 *   rates, request mix, memory, connections, bytes). Whole cache: one chart per kind
 *   (one unit per y axis), a line per stat, from `GET …/insight/processed_stats`. Per
 *   server: one chart per stat, a line per server, from `…/processed_stats/per_server`.
 * - Latency: one chart per server, mean (`duration`) and p99 of `GET …/insight/latency`.
 * - Ranges 1 h, 24 h, 7 d, 30 d, 90 d (read again on a timer, a sixth of the bucket
 *   apart) or a custom start and end (read once). The API picks the bucket from the span.
 * - A null (a ratio with nothing to divide by) is a gap; so is a stretch of missing
 *   buckets. Units on the axes and in the tooltip.
 *
 * The choices live in the address (#/insight?range=…&scope=…&stats=…), so a reload or a
 * shared link shows the same charts.
 */
import { ApiRequestError } from '../api-client.ts';
import { PALETTE, TimeChart } from '../charts.ts';
import { h, setText } from '../dom.ts';
import { formatTime, unitFormats } from '../format.ts';
import {
  DEFAULT_STATS, GROUPS, RANGES, STATS, alignLines, bucketLabel, chartPlans, column, latencyBucketMs, normalizeStats,
  planLines, processedBucketMs, rangeProblem, refreshMs, rfc3339, seriesServers, type ChartPlan, type InfluxSeries,
  type RangeId,
} from '../insight-stats.ts';
import { alertBox, pageHead } from './components.ts';
import type { AppContext, View } from './shell.ts';

const COLORS = [...PALETTE, '#5c940d', '#ae3ec9', '#495057', '#0b7285'];
const GREY = '#8a93a6';
const [BLUE, , ORANGE] = PALETTE as [string, string, string, ...string[]];
type Scope = 'cache' | 'server';

/** `YYYY-MM-DDTHH:MM` in local time, what a datetime-local input holds. */
function localInput(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

const DATE_TIME = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

function segmented(name: string, legend: string, options: readonly { id: string; label: string }[], onPick: (id: string) => void): HTMLFieldSetElement {
  return h('fieldset', { class: 'segmented', id: `insight-${name}` },
    h('legend', { class: 'sr-only' }, legend),
    options.map((o) => {
      const input = h('input', { type: 'radio', name: `insight-${name}`, value: o.id, id: `${name}-${o.id}` });
      input.addEventListener('change', () => input.checked && onPick(o.id));
      return h('label', { class: 'segment', for: `${name}-${o.id}` }, input, h('span', {}, o.label));
    }));
}

function check(group: HTMLElement, value: string): void {
  for (const input of group.querySelectorAll('input')) input.checked = input.value === value;
}

export function insightView(ctx: AppContext): View {
  const q = ctx.query();
  let selected = q.has('stats') ? normalizeStats((q.get('stats') ?? '').split(',')) : [...DEFAULT_STATS];
  let rangeId: RangeId = q.get('range') === 'custom' || RANGES.some((r) => r.id === q.get('range')) ? q.get('range') as RangeId : '1h';
  let scope: Scope = q.get('scope') === 'server' ? 'server' : 'cache';
  let custom = { from: Date.parse(q.get('start') ?? ''), to: Date.parse(q.get('end') ?? '') };
  if (rangeId === 'custom' && rangeProblem(custom.from, custom.to)) rangeId = '1h';

  const alert = alertBox('insight-alert');
  const status = h('span', { class: 'updated', id: 'insight-status' }, 'Loading…');
  const refresh = h('button', { class: 'btn btn-secondary', type: 'button', id: 'insight-refresh' }, 'Refresh');
  refresh.addEventListener('click', () => void load());

  // ---- range, scope, custom range
  const rangeControl = segmented('range', 'Time range', [...RANGES, { id: 'custom', label: 'Custom' }], (id) => {
    if (id === 'custom') {
      const now = currentRange();
      custom = now;
      startInput.value = localInput(now.from);
      endInput.value = localInput(now.to);
    }
    rangeId = id as RangeId;
    changed();
  });
  const scopeControl = segmented('scope', 'Whole cache or per server', [{ id: 'cache', label: 'Whole cache' }, { id: 'server', label: 'Per server' }],
    (id) => {
      scope = id as Scope;
      changed();
    });

  const startInput = h('input', { type: 'datetime-local', id: 'range-start', step: 60, required: true });
  const endInput = h('input', { type: 'datetime-local', id: 'range-end', step: 60, required: true });
  const rangeError = h('p', { class: 'form-error', id: 'range-error', role: 'alert', hidden: true });
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const customForm = h('form', { class: 'custom-range', id: 'custom-range', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'range-start' }, 'From'), startInput),
    h('div', { class: 'field' }, h('label', { for: 'range-end' }, 'To'), endInput),
    h('button', { class: 'btn btn-primary', type: 'submit', id: 'range-apply' }, 'Apply'),
    h('p', { class: 'field-help' }, `In your time zone${zone ? ` (${zone})` : ''}. At most 2 years.`),
    rangeError);
  customForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const from = new Date(startInput.value).getTime();
    const to = new Date(endInput.value).getTime();
    const problem = rangeProblem(from, to);
    rangeError.textContent = problem ?? '';
    rangeError.hidden = !problem;
    if (problem) return;
    custom = { from, to };
    changed();
  });
  if (rangeId === 'custom') {
    startInput.value = localInput(custom.from);
    endInput.value = localInput(custom.to);
  }

  // ---- the stat picker
  const count = h('span', { class: 'picker-count', id: 'stat-count' });
  const boxes = new Map<string, HTMLInputElement>();
  const groups = GROUPS.map((g) => {
    const stats = STATS.filter((s) => s.group === g.id);
    const all = h('button', { class: 'link-btn', type: 'button', 'aria-label': `Select every ${g.label.toLowerCase()} stat` }, 'All');
    const none = h('button', { class: 'link-btn', type: 'button', 'aria-label': `Clear the ${g.label.toLowerCase()} stats` }, 'None');
    all.addEventListener('click', () => setSelection([...selected, ...stats.map((s) => s.name)]));
    none.addEventListener('click', () => setSelection(selected.filter((n) => !stats.some((s) => s.name === n))));
    return h('fieldset', { class: 'stat-group', 'data-group': g.id },
      h('legend', { class: 'stat-group-title' }, g.label),
      h('div', { class: 'stat-group-head' }, h('span', { class: 'muted small' }, g.help), h('span', { class: 'stat-group-actions' }, all, none)),
      stats.map((s) => {
        const id = `stat-${s.name}`;
        const input = h('input', { type: 'checkbox', id, name: 'stat', value: s.name });
        input.addEventListener('change', () =>
          setSelection(input.checked ? [...selected, s.name] : selected.filter((n) => n !== s.name)));
        boxes.set(s.name, input);
        return h('label', { class: 'stat-option', for: id, title: s.help },
          input, h('span', { class: 'stat-label' }, s.label), h('code', { class: 'stat-name' }, s.name));
      }));
  });
  const defaults = h('button', { class: 'btn btn-secondary btn-sm', type: 'button', id: 'stats-defaults' }, 'Defaults');
  const clear = h('button', { class: 'btn btn-ghost btn-sm', type: 'button', id: 'stats-clear' }, 'Clear');
  defaults.addEventListener('click', () => setSelection([...DEFAULT_STATS]));
  clear.addEventListener('click', () => setSelection([]));
  const picker = h('details', { class: 'card picker', id: 'stat-picker', open: selected.length === 0 },
    h('summary', { class: 'picker-summary' }, h('span', { class: 'picker-title' }, 'Choose stats'), count),
    h('div', { class: 'picker-body' },
      h('div', { class: 'picker-groups' }, groups),
      h('div', { class: 'picker-foot' }, defaults, clear,
        h('span', { class: 'muted small' }, 'Names as the API’s ', h('code', {}, 'names='), ' parameter takes them.'))));

  // ---- charts
  const statCharts = h('div', { class: 'charts', id: 'stat-charts' });
  const statsEmpty = h('p', { class: 'card panel empty-note', id: 'stats-empty', hidden: true }, 'No stats chosen: pick some under “Choose stats”.');
  const latencyCharts = h('div', { class: 'charts', id: 'latency-charts' });
  const latencyDesc = h('p', { class: 'section-sub', id: 'latency-desc' });
  const charts = new Map<string, TimeChart>();
  const latency = new Map<string, TimeChart>();

  const el = h('div', { class: 'screen screen-insight' },
    pageHead('Insight', status, refresh),
    h('div', { class: 'toolbar' },
      h('div', { class: 'toolbar-row' }, rangeControl, scopeControl),
      customForm),
    alert.el,
    picker,
    h('section', { class: 'insight-section', 'aria-labelledby': 'stats-title' },
      h('h2', { class: 'section-title', id: 'stats-title' }, 'Processed stats'),
      statsEmpty,
      statCharts),
    h('section', { class: 'insight-section', id: 'latency', 'aria-labelledby': 'latency-title' },
      h('h2', { class: 'section-title', id: 'latency-title' }, 'Latency'),
      latencyDesc,
      latencyCharts),
  );

  // ---- state → controls and address
  function currentRange(): { from: number; to: number } {
    if (rangeId === 'custom') return custom;
    const to = Math.floor(Date.now() / 1000) * 1000;
    return { from: to - RANGES.find((r) => r.id === rangeId)!.ms, to };
  }

  function showControls(): void {
    check(rangeControl, rangeId);
    check(scopeControl, scope);
    customForm.hidden = rangeId !== 'custom';
    for (const [name, box] of boxes) box.checked = selected.includes(name);
    setText(count, `${selected.length} of ${STATS.length} selected`);
    statsEmpty.hidden = selected.length > 0;
    const query = new URLSearchParams({ range: rangeId, scope, stats: selected.join(',') });
    if (rangeId === 'custom') {
      query.set('start', rfc3339(custom.from));
      query.set('end', rfc3339(custom.to));
    }
    ctx.setQuery(query);
  }

  function setSelection(names: string[]): void {
    selected = normalizeStats(names);
    changed(250); // a few clicks in a row make one request
  }

  let debounce: ReturnType<typeof setTimeout> | undefined;
  function changed(delayMs = 0): void {
    showControls();
    clearTimeout(debounce);
    debounce = setTimeout(() => void load(), delayMs);
  }

  // ---- loading
  let generation = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let destroyed = false;
  let loadedAt: number | undefined;

  async function load(): Promise<void> {
    const gen = ++generation;
    clearTimeout(timer);
    const range = currentRange();
    const names = [...selected];
    const perServer = scope === 'server';
    el.classList.add('is-loading');
    setText(status, describe(range, 'loading…'));
    const [statsAnswer, latencyAnswer] = await Promise.allSettled([
      names.length ? ctx.api.processedStats(names, range.from, range.to, perServer) : Promise.resolve([] as InfluxSeries[]),
      ctx.api.latency(range.from, range.to),
    ]);
    if (gen !== generation || destroyed) return;
    el.classList.remove('is-loading');
    const failures = [statsAnswer, latencyAnswer].filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failures.some((f) => ctx.lostAccess(f.reason))) return;
    if (failures.length) {
      const e = failures[0]!.reason as unknown;
      alert.show(`Could not read insight: ${e instanceof ApiRequestError || e instanceof Error ? e.message : String(e)}`);
    } else {
      alert.clear();
    }
    if (statsAnswer.status === 'fulfilled') drawStats(names, perServer, statsAnswer.value, range);
    if (latencyAnswer.status === 'fulfilled') drawLatency(latencyAnswer.value, range);
    loadedAt = Date.now();
    setText(status, describe(range));
    schedule(range);
  }

  function schedule(range: { from: number; to: number }): void {
    clearTimeout(timer);
    if (rangeId === 'custom' || destroyed) return;
    timer = setTimeout(() => {
      if (document.visibilityState === 'hidden') return; // picked up again by onVisibility
      void load();
    }, refreshMs(processedBucketMs(range.to - range.from)));
  }

  const onVisibility = () => {
    if (document.visibilityState === 'visible' && rangeId !== 'custom' && !destroyed) void load();
  };
  document.addEventListener('visibilitychange', onVisibility);

  function describe(range: { from: number; to: number }, extra?: string): string {
    const span = range.to - range.from;
    const parts = [rangeId === 'custom'
      ? `${DATE_TIME.format(range.from)} – ${DATE_TIME.format(range.to)}`
      : `Last ${RANGES.find((r) => r.id === rangeId)!.label}`];
    parts.push(`one point per ${bucketLabel(processedBucketMs(span))}`);
    if (extra) parts.push(extra);
    else if (loadedAt) parts.push(`updated ${formatTime(loadedAt)}`);
    if (!extra && rangeId !== 'custom') parts.push(`refreshes every ${bucketLabel(refreshMs(processedBucketMs(span)))}`);
    return parts.join(' · ');
  }

  function xRange(range: { from: number; to: number }, bucketMs: number): [number, number] {
    // A row's time is its bucket's start, so the first may begin before `from`.
    return [Math.floor(range.from / bucketMs) * bucketMs / 1000, range.to / 1000];
  }

  function drawStats(names: string[], perServer: boolean, answer: InfluxSeries[], range: { from: number; to: number }): void {
    const bucketMs = processedBucketMs(range.to - range.from);
    const plans = chartPlans(names, perServer ? 'server' : 'cache', seriesServers(answer));
    const keep = new Set<string>();
    const shown = plans.map((plan) => {
      const key = planKey(plan);
      keep.add(key);
      let chart = charts.get(key);
      if (!chart) {
        chart = statChart(plan);
        charts.set(key, chart);
      }
      const { t, ys } = alignLines(planLines(plan, answer), bucketMs);
      chart.setData(t, ys, { xRange: xRange(range, bucketMs) });
      return chart;
    });
    for (const [key, chart] of charts) {
      if (!keep.has(key)) {
        chart.destroy();
        charts.delete(key);
      }
    }
    statCharts.replaceChildren(...shown.map((c) => c.el));
  }

  function drawLatency(answer: InfluxSeries[], range: { from: number; to: number }): void {
    const bucketMs = latencyBucketMs(range.to - range.from);
    setText(latencyDesc, `The round trip of a probe — a memcache version request the control plane sends each server over its memcache port — as the mean and the 99th percentile of each ${bucketLabel(bucketMs)} bucket.`);
    const servers = seriesServers(answer);
    for (const [server, chart] of latency) {
      if (!servers.includes(server)) {
        chart.destroy();
        latency.delete(server);
      }
    }
    const shown = servers.map((server) => {
      let chart = latency.get(server);
      if (!chart) {
        chart = latencyChart(server);
        latency.set(server, chart);
      }
      const series = answer.find((s) => s.tags?.server === server);
      const { t, ys } = alignLines([column(series, 'duration'), column(series, 'p99')], bucketMs);
      chart.setData(t, ys, { xRange: xRange(range, bucketMs) });
      return chart;
    });
    latencyCharts.replaceChildren(...shown.map((c) => c.el));
    if (!servers.length) latencyCharts.replaceChildren(h('p', { class: 'card panel empty-note' }, 'No servers.'));
  }

  showControls();
  void load();

  return {
    el,
    destroy() {
      destroyed = true;
      generation++;
      clearTimeout(timer);
      clearTimeout(debounce);
      document.removeEventListener('visibilitychange', onVisibility);
      for (const c of [...charts.values(), ...latency.values()]) c.destroy();
    },
  };
}

/** A chart is reused while it shows the same lines. */
function planKey(plan: ChartPlan): string {
  return `${plan.id}\u0000${plan.series.map((s) => s.label).join('\u0000')}`;
}

function statChart(plan: ChartPlan): TimeChart {
  const f = unitFormats(plan.unit);
  return new TimeChart({
    id: plan.id,
    title: plan.title,
    description: plan.description,
    series: plan.series.map((s, i) => s.reference
      ? { label: s.label, color: GREY, dash: [6, 4] }
      : { label: s.label, color: COLORS[i % COLORS.length]!, fill: plan.series.length === 1 }),
    format: f.tick,
    valueFormat: f.value,
    yMax: plan.unit === 'ratio' ? 1 : undefined,
    integer: plan.unit === 'count',
    binary: plan.unit === 'bytes' || plan.unit === 'bytesPerSecond',
    tooltip: true,
    minPoints: 1,
    emptyNote: 'No samples in this range',
  });
}

function latencyChart(server: string): TimeChart {
  const f = unitFormats('nanoseconds');
  const chart = new TimeChart({
    id: `latency-${server}`,
    title: server,
    description: 'Probe round trip: mean and p99',
    series: [{ label: 'mean', color: BLUE, fill: true }, { label: 'p99', color: ORANGE, dash: [5, 3], width: 1.5 }],
    format: f.tick,
    valueFormat: f.value,
    tooltip: true,
    minPoints: 1,
    emptyNote: 'No probes in this range',
  });
  chart.el.dataset.server = server;
  return chart;
}

