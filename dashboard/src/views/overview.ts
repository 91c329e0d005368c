/**
 * Overview: the cache at a glance, from the live stats summed over its servers: memory
 * against the limit, hit rate and its band, items, connections, evictions (with the new
 * ones since the last history sample), sets and flushes, all-time hits against misses
 * per command, and one row per server. Flush lives here, behind a confirmation.
 */
import { ApiRequestError, type ServerStats, type StatsResponse } from '../api-client.ts';
import { h, replace, setText, svg } from '../dom.ts';
import { formatBytes, formatCount, formatDuration, formatPercent, formatShare, formatTime } from '../format.ts';
import {
  BAND_LABEL, HIT_MISS_COMMANDS, growthSinceSample, hitBand, latestSamples, ratio, totalStats, type Band,
} from '../metrics.ts';
import type { MonitorState } from '../monitor.ts';
import { alertBox, confirmDialog, pageHead } from './components.ts';
import type { AppContext, View } from './shell.ts';

const RING_R = 52;
const RING_C = 2 * Math.PI * RING_R;

export function overviewView(ctx: AppContext): View {
  const alert = alertBox('overview-alert');
  const updated = h('span', { class: 'updated' }, 'Loading…');
  const refresh = h('button', { class: 'btn btn-secondary', type: 'button', id: 'refresh' }, 'Refresh');
  refresh.addEventListener('click', () => void ctx.monitor.refresh());

  // ---- flush
  const flush = h('button', { class: 'btn btn-danger-outline', type: 'button', id: 'flush', disabled: true },
    'Flush cache…');
  const flushReason = h('p', { class: 'action-note', id: 'flush-reason' }, 'Checking this credential’s capabilities…');
  const applyFlushState = () => {
    const me = ctx.me();
    const allowed = me?.flush_capability === true;
    flush.disabled = !allowed;
    flushReason.hidden = allowed;
    if (allowed) flush.removeAttribute('aria-describedby');
    else flush.setAttribute('aria-describedby', 'flush-reason');
    flushReason.textContent = !me
      ? 'Checking this credential’s capabilities…'
      : `Flush is disabled: credential ${me.sasl_username} lacks the flush capability.`;
  };
  flush.addEventListener('click', async () => {
    const servers = Object.keys(ctx.monitor.state.stats ?? {}).length;
    const ok = await confirmDialog({
      title: `Flush cache ${ctx.session.cacheId}?`,
      body: `${servers > 1 ? `Every item on all ${servers} servers` : 'Every item in the cache'} is deleted at once, and your apps miss until they fill it again. This cannot be undone.`,
      confirmLabel: 'Flush cache',
      danger: true,
    });
    if (!ok) return;
    flush.disabled = true;
    try {
      await ctx.api.flush();
      ctx.notify('Cache flushed: every item was removed.', 'success');
      alert.clear();
      await ctx.monitor.refresh();
    } catch (e) {
      alert.show(`Flush failed: ${e instanceof Error ? e.message : String(e)}`);
      if (e instanceof ApiRequestError && e.status === 403) void ctx.reloadCredentials().catch(() => undefined);
    } finally {
      applyFlushState();
    }
  });

  // ---- cards
  const ring = svg('circle', { class: 'ring-value', cx: 60, cy: 60, r: RING_R, 'stroke-dasharray': `0 ${RING_C}`, transform: 'rotate(-90 60 60)' });
  const ringText = svg('text', { class: 'ring-text', x: 60, y: 60, 'text-anchor': 'middle', 'dominant-baseline': 'central' });
  const donut = svg('svg', { class: 'donut', viewBox: '0 0 120 120', width: 112, height: 112, role: 'img', 'aria-label': 'Memory used' },
    svg('circle', { class: 'ring-track', cx: 60, cy: 60, r: RING_R }), ring, ringText);
  const memUsed = value('bytes');
  const memLimit = h('span', { 'data-stat': 'limit_maxbytes' }, '—');
  const memFree = h('span', {}, '—');
  const memoryCard = card('Memory', 'card-memory',
    h('div', { class: 'memory' }, donut,
      h('div', { class: 'memory-text' },
        memUsed,
        h('p', { class: 'card-caption' }, 'used of ', memLimit),
        h('p', { class: 'card-caption' }, memFree, ' free'))));

  const hitValue = value('hit_rate');
  const hitChip = h('span', { class: 'chip chip-none', id: 'hit-band' }, 'No data');
  const hitMeter = h('div', { class: 'meter-fill' });
  const hitCaption = h('p', { class: 'card-caption' }, '—');
  const hitCard = card('Hit rate', 'card-hitrate',
    h('div', { class: 'value-row' }, hitValue, hitChip),
    h('div', { class: 'meter', 'aria-hidden': 'true' }, hitMeter),
    hitCaption);

  const items = value('curr_items');
  const itemsTotal = h('span', { 'data-stat': 'total_items' }, '—');
  const itemsCard = card('Items', 'card-items', items, h('p', { class: 'card-caption' }, itemsTotal, ' stored since start'));

  const conns = value('curr_connections');
  const connsTotal = h('span', { 'data-stat': 'total_connections' }, '—');
  const connsCard = card('Connections', 'card-connections', conns,
    h('p', { class: 'card-caption' }, 'live now · ', connsTotal, ' in total'));

  const evictions = value('evictions');
  const evictionsNew = h('span', { 'data-stat': 'new_evictions' }, '—');
  const evictionsCard = card('Evictions', 'card-evictions', evictions,
    h('p', { class: 'card-caption' }, evictionsNew));

  const sets = value('cmd_set');
  const flushes = h('span', { 'data-stat': 'cmd_flush' }, '—');
  const setsCard = card('Sets & flushes', 'card-sets', sets, h('p', { class: 'card-caption' }, flushes));

  // ---- commands table
  const commandRows = new Map<string, { hits: HTMLElement; misses: HTMLElement; rate: HTMLElement; bar: HTMLElement; extra: HTMLElement }>();
  const commandBody = h('tbody', {}, HIT_MISS_COMMANDS.map((c) => {
    const row = {
      hits: h('td', { class: 'num', 'data-label': 'Hits', 'data-stat': c.hits }, '—'),
      misses: h('td', { class: 'num', 'data-label': 'Misses', 'data-stat': c.misses }, '—'),
      rate: h('span', { class: 'ratio-text' }, '—'),
      bar: h('span', { class: 'ratio-fill' }),
      extra: h('span', { class: 'cell-note' }),
    };
    commandRows.set(c.name, row);
    return h('tr', { 'data-command': c.name },
      h('th', { scope: 'row' }, h('code', {}, c.name), row.extra),
      row.hits, row.misses,
      h('td', { class: 'ratio-cell', 'data-label': 'Hit ratio' }, h('span', { class: 'ratio-bar', 'aria-hidden': 'true' }, row.bar), row.rate));
  }));
  const commands = h('section', { class: 'card panel', 'aria-labelledby': 'commands-title' },
    h('div', { class: 'panel-head' },
      h('h2', { class: 'card-title', id: 'commands-title' }, 'Hits and misses'),
      h('p', { class: 'panel-sub' }, 'All time, per command, over every server')),
    h('div', { class: 'table-wrap' },
      h('table', { class: 'table table-commands', id: 'commands-table' },
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, 'Command'), h('th', { scope: 'col', class: 'num' }, 'Hits'),
          h('th', { scope: 'col', class: 'num' }, 'Misses'), h('th', { scope: 'col' }, 'Hit ratio'))),
        commandBody)));

  // ---- servers table
  const serverBody = h('tbody');
  const servers = h('section', { class: 'card panel', 'aria-labelledby': 'servers-title' },
    h('div', { class: 'panel-head' },
      h('h2', { class: 'card-title', id: 'servers-title' }, 'Servers'),
      h('p', { class: 'panel-sub' }, 'The cache’s share on each server; clients spread keys over them')),
    h('div', { class: 'table-wrap' },
      h('table', { class: 'table table-servers responsive', id: 'servers-table' },
        h('thead', {}, h('tr', {},
          ['Server', 'Memory', 'Items', 'Hit rate', 'Connections', 'Evictions', 'Gets', 'Sets', 'Traffic in / out'].map((t, i) =>
            h('th', { scope: 'col', class: i === 0 ? '' : 'num' }, t)))),
        serverBody)));

  const el = h('div', { class: 'screen screen-overview' },
    pageHead('Overview', updated, refresh, flush),
    flushReason,
    alert.el,
    h('div', { class: 'cards' }, memoryCard, hitCard, itemsCard, connsCard, evictionsCard, setsCard),
    commands,
    servers,
  );

  function render(state: MonitorState): void {
    const stats = state.stats;
    if (state.statsError) alert.show(`Could not read the stats: ${state.statsError}`);
    else if (stats) alert.clear();
    setText(updated, subtitle(state));
    refresh.disabled = state.loading;
    if (!stats) return;
    const total = totalStats(stats);
    el.dataset.servers = String(Object.keys(stats).length);
    if (!total) {
      setText(memUsed, '—');
      return;
    }

    // memory
    const frac = total.limit_maxbytes > 0 ? Math.min(1, total.bytes / total.limit_maxbytes) : 0;
    ring.setAttribute('stroke-dasharray', `${(frac * RING_C).toFixed(2)} ${RING_C.toFixed(2)}`);
    // Full is normal for a cache (LRU evicts); amber only says new items now push old ones out.
    ring.setAttribute('class', `ring-value ${frac >= 0.9 ? 'is-fair' : ''}`);
    ringText.textContent = formatShare(frac).replace('\u00a0', '');
    donut.setAttribute('aria-label', `Memory used: ${formatShare(frac)} of the limit`);
    put(memUsed, formatBytes(total.bytes), total.bytes);
    put(memLimit, formatBytes(total.limit_maxbytes), total.limit_maxbytes);
    setText(memFree, formatBytes(Math.max(0, total.limit_maxbytes - total.bytes)));

    // hit rate
    const rate = ratio(total.get_hits, total.get_misses);
    const band = hitBand(rate);
    put(hitValue, formatPercent(rate), rate ?? '');
    hitChip.className = `chip chip-${band}`;
    hitChip.textContent = BAND_LABEL[band];
    hitCard.dataset.band = band;
    hitMeter.className = `meter-fill is-${band}`;
    hitMeter.style.width = `${((rate ?? 0) * 100).toFixed(1)}%`;
    setText(hitCaption, rate === null
      ? 'No gets yet'
      : `${formatCount(total.get_hits)} hits · ${formatCount(total.get_misses)} misses (get)`);

    put(items, formatCount(total.curr_items), total.curr_items);
    put(itemsTotal, formatCount(total.total_items), total.total_items);
    put(conns, formatCount(total.curr_connections), total.curr_connections);
    put(connsTotal, formatCount(total.total_connections), total.total_connections);
    put(evictions, formatCount(total.evictions), total.evictions);
    const fresh = growthSinceSample(stats, latestSamples(state.history), 'evictions');
    put(evictionsNew, fresh === undefined ? 'No history sample yet' : `+${formatCount(fresh)} since the last sample`, fresh ?? '');
    evictionsNew.parentElement!.classList.toggle('is-warn', (fresh ?? 0) > 0);
    put(sets, formatCount(total.cmd_set), total.cmd_set);
    put(flushes, `${formatCount(total.cmd_flush)} ${total.cmd_flush === 1 ? 'flush' : 'flushes'}`, total.cmd_flush);

    for (const c of HIT_MISS_COMMANDS) {
      const row = commandRows.get(c.name)!;
      const hits = total[c.hits];
      const misses = total[c.misses];
      const r = ratio(hits, misses);
      put(row.hits, formatCount(hits), hits);
      put(row.misses, formatCount(misses), misses);
      setText(row.rate, formatPercent(r));
      row.bar.style.width = `${((r ?? 0) * 100).toFixed(1)}%`;
      row.bar.className = `ratio-fill is-${hitBand(r)}`;
      if (c.name === 'cas') setText(row.extra, total.cas_badval ? `${formatCount(total.cas_badval)} bad value` : '');
    }

    renderServers(stats);
  }

  function renderServers(stats: StatsResponse): void {
    const rows = Object.entries(stats).sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }));
    replace(serverBody, rows.map(([name, s]) => serverRow(name, s)));
    if (!rows.length) replace(serverBody, h('tr', {}, h('td', { colspan: 9, class: 'empty' }, 'No servers report this cache.')));
  }

  const offState = ctx.monitor.subscribe(render);
  const offCreds = ctx.onCredentials(applyFlushState);
  applyFlushState();
  render(ctx.monitor.state);
  return { el, destroy: () => (offState(), offCreds()) };
}

function serverRow(name: string, s: ServerStats): HTMLElement {
  const rate = ratio(s.get_hits, s.get_misses);
  const band: Band = hitBand(rate);
  const frac = s.limit_maxbytes > 0 ? s.bytes / s.limit_maxbytes : 0;
  const cell = (label: string, ...content: (Node | string)[]) =>
    h('td', { class: 'num', 'data-label': label }, h('span', {}, ...content));
  return h('tr', { 'data-server': name },
    h('th', { scope: 'row' }, h('code', {}, name)),
    cell('Memory', `${formatBytes(s.bytes)} / ${formatBytes(s.limit_maxbytes)}`, h('span', { class: 'cell-note' }, formatShare(frac))),
    cell('Items', formatCount(s.curr_items)),
    cell('Hit rate', h('span', { class: `dot dot-${band}`, 'aria-hidden': 'true' }), formatPercent(rate)),
    cell('Connections', `${formatCount(s.curr_connections)} / ${formatCount(s.total_connections)}`),
    cell('Evictions', formatCount(s.evictions)),
    cell('Gets', formatCount(s.cmd_get)),
    cell('Sets', formatCount(s.cmd_set)),
    cell('Traffic in / out', `${formatBytes(s.bytes_read)} / ${formatBytes(s.bytes_written)}`),
  );
}

function card(title: string, id: string, ...body: Node[]): HTMLElement {
  return h('section', { class: 'card stat-card', id, 'aria-label': title }, h('h2', { class: 'card-title' }, title), ...body);
}

function value(stat: string): HTMLElement {
  return h('p', { class: 'stat-value', 'data-stat': stat }, '—');
}

/** Shows a formatted number and keeps the raw one in data-value. */
function put(el: HTMLElement, text: string, raw: number | string): void {
  setText(el, text);
  el.dataset.value = String(raw);
}

function subtitle(state: MonitorState): string {
  const parts: string[] = [];
  const n = state.stats ? Object.keys(state.stats).length : 0;
  if (state.stats) parts.push(`${n} ${n === 1 ? 'server' : 'servers'}`);
  if (state.statsAt) parts.push(`updated ${formatTime(state.statsAt)}`);
  parts.push(state.autoRefresh
    ? state.intervalMs ? `refreshes every ${formatDuration(state.intervalMs / 1000)}` : 'refreshing'
    : 'auto-refresh paused');
  return parts.join(' · ');
}
