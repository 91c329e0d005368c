/**
 * Introspection: what happens to the cache's keys, through the API v2's introspection
 * endpoints (docs/introspection.md).
 *
 * - Hot keys: most hit, most missed, most mutated keys and popular prefixes of the last
 *   few minutes (`popular_items`), read again every 5 s while "Live" is on.
 * - Key lookup (`key_stats`): one row per server that knows the key. A key clicked
 *   anywhere on the screen is looked up by its exact bytes (`key_base64`).
 * - Watched prefixes: list, watch, stop watching (confirmed); the selected one's five
 *   series (keys, size, hits, misses, mutations per second) as charts, and its own hot
 *   keys.
 * - Recent requests (`recent_logs?limit=1000`, every server's merged, newest first),
 *   filtered by command, status and part of the key.
 * - Key browser (`keys`): a live walk over the cache, by prefix, a page at a time
 *   following the API's cursor.
 *
 * Keys are tenant data: they only ever reach the page as text nodes (dom.ts), never as
 * markup. A 403 "Introspection is disabled for this cache." is a notice in place of the
 * screen, not a sign-out (which is what a 403 means elsewhere: the credential lost access).
 * The selected prefix, its range and the request filters live in the address.
 */
import { ApiRequestError } from '../api-client.ts';
import { PALETTE, TimeChart } from '../charts.ts';
import { h, replace, setText } from '../dom.ts';
import { formatBytes, formatCount, formatTime, unitFormats } from '../format.ts';
import { alignLines, bucketLabel, processedBucketMs, refreshMs, RANGES } from '../insight-stats.ts';
import {
  COMMANDS, POPULAR_LISTS, PREFIX_SERIES, STATUSES, choices, filterRecent, logTime, mergeRecent, prefixLines, prefixProblem,
  statusTone, ttlLabel, windowLabel, type KeyRef, type KeyStatsRow, type ListedKey, type PopularItem, type PopularItems,
  type RecentRow, type WatchedPrefix,
} from '../introspection-data.ts';
import { alertBox, confirmDialog, pageHead } from './components.ts';
import type { AppContext, View } from './shell.ts';

const LIVE_MS = 5_000;
/** Entries of a hot-key list shown before "Show all" (the API sends up to 20). */
const HOT_SHOWN = 10;
const RECENT_LIMIT = 1000;
/** Rows drawn at once; "Show all" lifts it (a thousand lines a server, several servers). */
const RECENT_SHOWN = 200;
const PAGE_SIZES = [50, 100, 500] as const;
const PREFIX_RANGES = RANGES.filter((r) => r.id === '1h' || r.id === '24h' || r.id === '7d');
type PrefixRange = (typeof PREFIX_RANGES)[number]['id'];

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The refusal of a cache (or node) with introspection off: shown, not treated as lost access. */
function isDisabled(e: unknown): e is ApiRequestError {
  return e instanceof ApiRequestError && e.status === 403 && /introspection/i.test(e.message);
}

/** A watched prefix gone (another tab or client stopped watching it): not the cache gone. */
function isPrefixGone(e: unknown): e is ApiRequestError {
  return e instanceof ApiRequestError && e.status === 404 && /prefix/i.test(e.message);
}

/** A key as text, in a button that looks it up. */
function keyButton(key: KeyRef, onLookup: (key: KeyRef) => void, label = 'Look up'): HTMLButtonElement {
  const b = h('button', { class: 'key-link', type: 'button', title: `${label} ${key.name}`, 'data-key': key.key_base64 ?? null },
    key.name === '' ? h('span', { class: 'muted' }, '(empty)') : key.name);
  b.addEventListener('click', () => onLookup(key));
  return b;
}

interface PopularLists {
  readonly el: HTMLElement;
  render(items: PopularItems): void;
  /** Back to "Loading…" (another prefix's lists must not show meanwhile). */
  reset(): void;
}

/**
 * The four lists of a popular-items answer. `idBase` names them (#hot-hit, #prefix-hot-hit…);
 * `prefixActions` adds watch and browse buttons to the prefixes list.
 */
function popularLists(idBase: string, onLookup: (key: KeyRef) => void,
  prefixActions?: { watched(name: string): boolean; watch(name: string): void; browse(prefix: KeyRef): void }): PopularLists {
  const lists = POPULAR_LISTS.map((l) => {
    const list = h('ol', { class: 'hot-items', id: `${idBase}-${l.id}-items` }, h('li', { class: 'hot-empty' }, 'Loading…'));
    const toggle = h('button', { class: 'link-btn hot-toggle', type: 'button', 'data-action': 'toggle', 'aria-controls': list.id, 'aria-expanded': 'false', hidden: true });
    const card = h('section', { class: 'card hot-list', id: `${idBase}-${l.id}`, 'data-list': l.id, 'aria-labelledby': `${idBase}-${l.id}-title` },
      h('h3', { class: 'card-title', id: `${idBase}-${l.id}-title` }, l.title),
      h('p', { class: 'hot-help' }, l.help),
      list, toggle);
    const state = { ...l, card, list, toggle, expanded: false, count: 0 };
    toggle.addEventListener('click', () => {
      state.expanded = !state.expanded;
      showRows(state);
    });
    return state;
  });
  /** The first HOT_SHOWN of a list, or all of it once expanded (the choice outlives refreshes). */
  function showRows(l: (typeof lists)[number]): void {
    l.list.querySelectorAll<HTMLElement>('li.hot-item').forEach((li, i) => (li.hidden = !l.expanded && i >= HOT_SHOWN));
    l.toggle.hidden = l.count <= HOT_SHOWN;
    l.toggle.setAttribute('aria-expanded', String(l.expanded));
    setText(l.toggle, l.expanded ? `Show the top ${HOT_SHOWN}` : `Show all ${l.count}`);
  }
  return {
    el: h('div', { class: 'hot-grid' }, lists.map((l) => l.card)),
    reset() {
      for (const l of lists) {
        l.count = 0;
        delete l.card.dataset.count;
        replace(l.list, h('li', { class: 'hot-empty' }, 'Loading…'));
        showRows(l);
      }
    },
    render(items) {
      for (const l of lists) {
        const entries: readonly PopularItem[] = Array.isArray(items[l.field]) ? items[l.field] : [];
        // A refresh rebuilds the list: keep the keyboard where it was.
        const focused = l.list.contains(document.activeElement) ? (document.activeElement as HTMLElement) : undefined;
        const focusKey = focused?.closest<HTMLElement>('li')?.dataset.name;
        const focusAction = focused?.dataset.action ?? 'lookup';
        const max = Math.max(1, ...entries.map((e) => e.popularity));
        l.card.dataset.count = String(entries.length);
        l.count = entries.length;
        if (!entries.length) {
          replace(l.list, h('li', { class: 'hot-empty' }, l.empty));
          showRows(l);
          continue;
        }
        replace(l.list, entries.map((e, i) => {
          const fill = h('span', { class: 'hot-fill' });
          fill.style.width = `${Math.max(2, (e.popularity / max) * 100)}%`; // CSSOM: the page's CSP allows no style attributes
          const isPrefix = l.id === 'prefixes';
          const actions: HTMLElement[] = [];
          if (isPrefix && prefixActions) {
            const watched = prefixActions.watched(e.name);
            const watch = h('button', { class: 'link-btn', type: 'button', 'data-action': 'watch', disabled: watched, 'aria-label': `Watch the prefix ${e.name}` },
              watched ? 'Watched' : 'Watch');
            watch.addEventListener('click', () => prefixActions.watch(e.name));
            const browse = h('button', { class: 'link-btn', type: 'button', 'data-action': 'browse', 'aria-label': `Browse the keys under ${e.name}` }, 'Browse');
            browse.addEventListener('click', () => prefixActions.browse(e));
            actions.push(watch, browse);
          }
          const name = isPrefix
            ? h('code', { class: 'hot-name key-text' }, e.name)
            : keyButton(e, onLookup);
          if (!isPrefix) name.dataset.action = 'lookup';
          return h('li', { class: 'hot-item', 'data-name': e.name, 'data-popularity': String(e.popularity) },
            h('span', { class: 'hot-rank', 'aria-hidden': 'true' }, String(i + 1)),
            h('span', { class: 'hot-main' },
              h('span', { class: 'hot-line' }, name,
                actions.length ? h('span', { class: 'hot-actions' }, actions) : null,
                h('span', { class: 'hot-count', title: 'Requests in the window' }, formatCount(e.popularity))),
              h('span', { class: 'hot-bar', 'aria-hidden': 'true' }, fill)));
        }));
        showRows(l);
        if (focusKey !== undefined) {
          const again = [...l.list.querySelectorAll<HTMLElement>('li')].find((li) => li.dataset.name === focusKey);
          (again?.querySelector<HTMLElement>(`[data-action="${focusAction}"]`) ?? again?.querySelector<HTMLElement>('button'))?.focus();
        }
      }
    },
  };
}

export function introspectionView(ctx: AppContext): View {
  const q = ctx.query();
  let selectedId: number | undefined = /^\d+$/.test(q.get('prefix') ?? '') ? Number(q.get('prefix')) : undefined;
  let prefixRange: PrefixRange = PREFIX_RANGES.some((r) => r.id === q.get('range')) ? q.get('range') as PrefixRange : '1h';
  const filter = { command: q.get('command') ?? '', status: q.get('status') ?? '', key: q.get('key') ?? '' };
  let live = true;
  let destroyed = false;
  let disabled = false;
  let watched: WatchedPrefix[] = [];

  function saveQuery(): void {
    const query = new URLSearchParams();
    if (selectedId !== undefined) query.set('prefix', String(selectedId));
    if (prefixRange !== '1h') query.set('range', prefixRange);
    if (filter.command) query.set('command', filter.command);
    if (filter.status) query.set('status', filter.status);
    if (filter.key) query.set('key', filter.key);
    ctx.setQuery(query);
  }

  /**
   * A failed read or change: introspection off → the notice; lost access → the shell's
   * sign-out; otherwise false, and the caller shows the message where it happened.
   */
  function refused(e: unknown): boolean {
    if (destroyed) return true;
    if (isDisabled(e)) {
      showDisabled(e.message);
      return true;
    }
    if (isPrefixGone(e)) {
      void loadPrefixes(); // the list without it, and nothing selected
      return true;
    }
    return ctx.lostAccess(e);
  }

  // ---------------------------------------------------------------- head, live, disabled notice

  const status = h('span', { class: 'updated', id: 'introspection-status' }, 'Loading…');
  const liveInput = h('input', { type: 'checkbox', id: 'introspection-live', role: 'switch', checked: true });
  liveInput.addEventListener('change', () => {
    live = liveInput.checked;
    if (live) void poll();
    else {
      clearTimeout(pollTimer);
      setText(status, describe());
    }
  });
  const refresh = h('button', { class: 'btn btn-secondary', type: 'button', id: 'introspection-refresh' }, 'Refresh');
  refresh.addEventListener('click', () => void loadAll());
  const liveSwitch = h('label', { class: 'switch', for: 'introspection-live', title: `Read hot keys and recent requests every ${LIVE_MS / 1000} s` },
    liveInput, h('span', { class: 'switch-track', 'aria-hidden': 'true' }), h('span', {}, 'Live'));

  const disabledText = h('p', { class: 'muted', id: 'introspection-disabled-text' });
  const retry = h('button', { class: 'btn btn-secondary', type: 'button', id: 'introspection-retry' }, 'Check again');
  retry.addEventListener('click', () => {
    disabled = false;
    void loadAll();
  });
  const disabledPanel = h('section', { class: 'card panel empty-state', id: 'introspection-disabled', role: 'status', hidden: true },
    h('h2', { class: 'empty-title' }, 'Introspection is off'),
    disabledText,
    h('p', { class: 'muted small' },
      'An operator switches it per cache (introspection in the operator API) or per node (--no-introspection). The rest of the dashboard works as usual.'),
    retry);

  function showDisabled(text: string): void {
    disabled = true;
    clearTimeout(pollTimer);
    clearTimeout(chartTimer);
    setText(disabledText, text);
    disabledPanel.hidden = false;
    body.hidden = true;
    liveSwitch.hidden = refresh.hidden = true; // "Check again" is the one thing to do
    setText(status, 'Introspection is disabled for this cache');
  }

  // ---------------------------------------------------------------- key lookup

  const lookupAlert = alertBox('lookup-alert');
  const lookupInput = h('input', { type: 'text', id: 'lookup-key', name: 'key', placeholder: 'e.g. user:42', spellcheck: 'false', autocomplete: 'off', required: true });
  const lookupButton = h('button', { class: 'btn btn-primary', type: 'submit', id: 'lookup-submit' }, 'Look up');
  const lookupForm = h('form', { class: 'inline-form', id: 'lookup-form', novalidate: true },
    h('div', { class: 'field field-grow' }, h('label', { for: 'lookup-key' }, 'Key'), lookupInput),
    h('div', { class: 'form-actions' }, lookupButton));
  const lookupResult = h('div', { class: 'lookup-result', id: 'lookup-result', hidden: true });
  let lookupGen = 0;
  lookupForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (lookupInput.value === '') {
      lookupAlert.show('Enter a key.');
      return;
    }
    void lookup({ name: lookupInput.value });
  });

  async function lookup(key: KeyRef): Promise<void> {
    const gen = ++lookupGen;
    lookupButton.disabled = true;
    try {
      const rows = await ctx.api.keyStats(key.key_base64 !== undefined ? { base64: key.key_base64 } : { name: key.name });
      if (gen !== lookupGen || destroyed) return;
      lookupAlert.clear();
      showLookup(key, Array.isArray(rows) ? rows : []);
    } catch (e) {
      if (gen !== lookupGen || refused(e)) return;
      lookupResult.hidden = true;
      lookupAlert.show(`Looking up the key failed: ${message(e)}`);
    } finally {
      if (gen === lookupGen) lookupButton.disabled = false;
    }
  }

  function showLookup(key: KeyRef, rows: readonly KeyStatsRow[]): void {
    const held = rows.filter((r) => r.in_cache).length;
    const servers = rows.some((r) => r.server);
    const head = h('p', { class: 'lookup-head', id: 'lookup-summary' },
      h('code', { class: 'key-text', id: 'lookup-name' }, rows[0]?.name ?? key.name), ' ',
      rows.length === 0
        ? h('span', { class: 'chip chip-none' }, 'unknown')
        : h('span', { class: `chip ${held ? 'chip-good' : 'chip-fair'}` }, held ? 'in the cache' : 'not in the cache'));
    lookupResult.dataset.inCache = String(held > 0);
    lookupResult.dataset.rows = String(rows.length);
    if (!rows.length) {
      replace(lookupResult, head, h('p', { class: 'muted small' }, 'No server holds this key or saw a request for it in the window.'));
      lookupResult.hidden = false;
      return;
    }
    const table = h('table', { class: 'table responsive table-lookup', id: 'lookup-table' },
      h('caption', { class: 'sr-only' }, 'The key on each server that knows it'),
      h('thead', {}, h('tr', {},
        servers ? h('th', { scope: 'col' }, 'Server') : null,
        h('th', { scope: 'col' }, 'In cache'), h('th', { scope: 'col', class: 'num' }, 'Size'),
        h('th', { scope: 'col', class: 'num' }, 'Hits'), h('th', { scope: 'col', class: 'num' }, 'Misses'),
        h('th', { scope: 'col', class: 'num' }, 'Mutations'))),
      h('tbody', {}, rows.map((r) => h('tr', { 'data-server': r.server ?? null },
        servers ? h('td', { 'data-label': 'Server' }, h('code', {}, r.server ?? '')) : null,
        h('td', { 'data-label': 'In cache' }, r.in_cache ? 'yes' : 'no'),
        h('td', { class: 'num', 'data-label': 'Size' }, r.in_cache ? formatBytes(r.size) : '—'),
        h('td', { class: 'num', 'data-label': 'Hits', 'data-field': 'hits' }, formatCount(r.hit_count)),
        h('td', { class: 'num', 'data-label': 'Misses', 'data-field': 'misses' }, formatCount(r.miss_count)),
        h('td', { class: 'num', 'data-label': 'Mutations', 'data-field': 'mutations' }, formatCount(r.mutation_count))))));
    replace(lookupResult, head, h('div', { class: 'table-wrap' }, table),
      h('p', { class: 'field-help' }, `Hits, misses and mutations are the requests of the last ${windowText}; the size is the value’s, now.`));
    lookupResult.hidden = false;
  }

  const lookupPanel = h('section', { class: 'card panel', id: 'key-lookup', 'aria-labelledby': 'lookup-title' },
    h('div', { class: 'panel-head' }, h('div', {},
      h('h2', { class: 'card-title', id: 'lookup-title' }, 'Key lookup'),
      h('p', { class: 'panel-sub' }, 'Whether a key is in the cache, its size, and its recent hits, misses and mutations. Click any key on this screen to look it up.'))),
    lookupAlert.el, lookupForm, lookupResult);

  /** A key clicked on the screen: looked up by its bytes, the form filled in, the result brought into view. */
  function lookUpKey(key: KeyRef): void {
    lookupInput.value = key.name;
    lookupPanel.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
    void lookup(key);
  }

  // ---------------------------------------------------------------- hot keys

  let windowText = '3\u00a0min';
  let lastPopular: PopularItems | undefined;
  const hotAlert = alertBox('hot-alert');
  const hot = popularLists('hot', lookUpKey, {
    watched: (name) => watched.some((p) => p.name === name),
    watch: (name) => void watch(name),
    browse: (prefix) => {
      browsePrefix.value = prefix.name;
      browseBase64 = prefix.key_base64; // exact bytes, even when the name is escaped
      void browse(true);
      browsePanel.scrollIntoView({ block: 'start', behavior: 'smooth' });
    },
  });
  const hotSub = h('p', { class: 'section-sub', id: 'hot-sub' }, 'Requests per key over the last few minutes.');
  const hotSection = h('section', { class: 'insight-section', id: 'hot-keys', 'aria-labelledby': 'hot-title' },
    h('h2', { class: 'section-title', id: 'hot-title' }, 'Hot keys'), hotSub, hotAlert.el, hot.el);

  // ---------------------------------------------------------------- watched prefixes

  const prefixAlert = alertBox('prefix-alert');
  const prefixBody = h('tbody', {}, h('tr', {}, h('td', { colspan: 2, class: 'empty' }, 'Loading watched prefixes…')));
  const prefixCount = h('span', { class: 'muted small', id: 'prefix-count' });
  const prefixInput = h('input', { type: 'text', id: 'prefix-name', name: 'name', placeholder: 'e.g. user: or session_', spellcheck: 'false', autocomplete: 'off' });
  const addPrefix = h('button', { class: 'btn btn-primary', type: 'submit', id: 'add-prefix' }, 'Watch prefix');
  const prefixForm = h('form', { class: 'inline-form', id: 'prefix-form', novalidate: true },
    h('div', { class: 'field field-grow' }, h('label', { for: 'prefix-name' }, 'Prefix'), prefixInput,
      h('p', { class: 'field-help' }, 'Counted exactly from now on (keys already stored are counted in by a background scan). At most 50.')),
    h('div', { class: 'form-actions' }, addPrefix));
  prefixForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void watch(prefixInput.value);
  });

  async function watch(name: string): Promise<void> {
    const problem = prefixProblem(name, watched);
    if (problem) {
      prefixAlert.show(problem);
      return;
    }
    addPrefix.disabled = true;
    try {
      const made = await ctx.api.watchPrefix(name);
      prefixAlert.clear();
      prefixInput.value = '';
      ctx.notify(`Watching ${made.name}.`, 'success');
      selectedId = made.id;
      saveQuery();
      await loadPrefixes();
    } catch (e) {
      if (!refused(e)) prefixAlert.show(`Watching the prefix failed: ${message(e)}`);
    } finally {
      addPrefix.disabled = false;
    }
  }

  function prefixRow(p: WatchedPrefix): HTMLElement {
    const selected = p.id === selectedId;
    const show = h('button', { class: 'key-link', type: 'button', 'data-action': 'show', 'aria-pressed': String(selected), title: 'Show its charts and hot keys' },
      p.name);
    show.addEventListener('click', () => select(p.id));
    const del = h('button', { class: 'btn btn-danger-ghost btn-sm', type: 'button', 'data-action': 'unwatch', 'aria-label': `Stop watching ${p.name}` },
      h('span', { 'aria-hidden': 'true' }, '×'), 'Stop watching');
    del.addEventListener('click', async () => {
      const ok = await confirmDialog({
        title: 'Stop watching this prefix?',
        body: `Its counts and history stop now, and are gone: watching “${p.name}” again starts from zero.`,
        confirmLabel: 'Stop watching', danger: true,
      });
      if (!ok) return;
      try {
        await ctx.api.unwatchPrefix(p.id);
        prefixAlert.clear();
        ctx.notify(`Stopped watching ${p.name}.`, 'success');
        if (selectedId === p.id) select(undefined);
      } catch (e) {
        if (!refused(e)) prefixAlert.show(`Stopping failed: ${message(e)}`);
      }
      await loadPrefixes();
    });
    return h('tr', { 'data-prefix-id': String(p.id), 'data-name': p.name, class: selected ? 'is-selected' : null },
      h('th', { scope: 'row', class: 'wrap', 'data-label': 'Prefix' }, show),
      h('td', { class: 'right actions', 'data-label': 'Actions' }, h('div', { class: 'row-actions' }, del)));
  }

  function renderPrefixes(): void {
    prefixesPanel.dataset.count = String(watched.length);
    setText(prefixCount, `${watched.length} of 50`);
    if (!watched.length) {
      replace(prefixBody, h('tr', {}, h('td', { colspan: 2, class: 'empty' }, 'No watched prefixes yet.')));
    } else {
      replace(prefixBody, watched.map(prefixRow));
    }
  }

  async function loadPrefixes(): Promise<void> {
    try {
      const list = await ctx.api.watchedPrefixes();
      if (destroyed) return;
      watched = Array.isArray(list) ? list : [];
      prefixAlert.clear();
    } catch (e) {
      if (!refused(e)) prefixAlert.show(`Could not read the watched prefixes: ${message(e)}`);
      return;
    }
    if (selectedId !== undefined && !watched.some((p) => p.id === selectedId)) select(undefined);
    renderPrefixes();
    showDetail();
    if (lastPopular) hot.render(lastPopular); // its Watch buttons follow the list
  }

  // ---- the selected prefix: five charts and its hot keys
  const detailTitle = h('h2', { class: 'detail-title', id: 'prefix-detail-title' });
  const detailStatus = h('p', { class: 'section-sub', id: 'prefix-detail-status' });
  const detailAlert = alertBox('prefix-detail-alert');
  const rangeControl = h('fieldset', { class: 'segmented', id: 'prefix-range' },
    h('legend', { class: 'sr-only' }, 'Time range of the prefix’s charts'),
    PREFIX_RANGES.map((r) => {
      const input = h('input', { type: 'radio', name: 'prefix-range', value: r.id, id: `prefix-range-${r.id}`, checked: r.id === prefixRange });
      input.addEventListener('change', () => {
        if (!input.checked) return;
        prefixRange = r.id;
        saveQuery();
        void loadCharts();
      });
      return h('label', { class: 'segment', for: `prefix-range-${r.id}` }, input, h('span', {}, r.label));
    }));
  const chartsEl = h('div', { class: 'charts prefix-charts', id: 'prefix-charts' });
  const charts = PREFIX_SERIES.map((s, i) => {
    const f = unitFormats(s.unit);
    return new TimeChart({
      id: `prefix-${s.column}`,
      title: s.title,
      description: s.description,
      series: [{ label: s.label, color: PALETTE[i % PALETTE.length]!, fill: true }],
      format: f.tick,
      valueFormat: f.value,
      integer: s.unit === 'count',
      binary: s.unit === 'bytes',
      tooltip: true,
      minPoints: 1,
      emptyNote: 'No samples yet: the prefix is sampled every history interval',
    });
  });
  chartsEl.append(...charts.map((c) => c.el));
  const prefixHot = popularLists('prefix-hot', lookUpKey);
  const prefixHotAlert = alertBox('prefix-hot-alert');
  const closeDetail = h('button', { class: 'btn btn-ghost btn-sm', type: 'button', id: 'prefix-detail-close' }, 'Close');
  closeDetail.addEventListener('click', () => select(undefined));
  const detail = h('section', { class: 'card panel prefix-detail', id: 'prefix-detail', hidden: true, 'aria-labelledby': 'prefix-detail-title' },
    h('div', { class: 'detail-head' }, detailTitle, h('div', { class: 'detail-actions' }, rangeControl, closeDetail)),
    detailStatus, detailAlert.el, chartsEl,
    h('h3', { class: 'detail-sub' }, 'Hot keys under this prefix'), prefixHotAlert.el, prefixHot.el);

  const prefixesPanel = h('section', { class: 'card panel', id: 'prefixes-panel', 'aria-labelledby': 'prefixes-title' },
    h('div', { class: 'panel-head' },
      h('div', {},
        h('h2', { class: 'card-title', id: 'prefixes-title' }, 'Watched prefixes'),
        h('p', { class: 'panel-sub' }, 'Exact counts of every key under a prefix: how many, how big, and their hits, misses and mutations over time.')),
      prefixCount),
    prefixAlert.el,
    h('div', { class: 'table-wrap' },
      h('table', { class: 'table responsive table-prefixes', id: 'prefixes-table' },
        h('caption', { class: 'sr-only' }, 'Watched prefixes of this cache'),
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Prefix'), h('th', { scope: 'col', class: 'right' }, h('span', { class: 'sr-only' }, 'Actions')))),
        prefixBody)),
    prefixForm);

  function select(id: number | undefined): void {
    selectedId = id;
    saveQuery();
    renderPrefixes();
    showDetail();
  }

  let shownDetail: number | undefined;
  function showDetail(): void {
    const p = watched.find((x) => x.id === selectedId);
    detail.hidden = !p;
    if (!p) {
      shownDetail = undefined;
      clearTimeout(chartTimer);
      return;
    }
    detail.dataset.prefixId = String(p.id);
    replace(detailTitle, 'Prefix ', h('code', { class: 'key-text' }, p.name));
    if (shownDetail === p.id) return;
    shownDetail = p.id;
    for (const c of charts) c.setData([], [[]]);
    prefixHot.reset();
    void loadCharts();
    void loadPrefixHot();
  }

  function currentSpan(): { from: number; to: number } {
    const to = Math.floor(Date.now() / 1000) * 1000;
    return { from: to - PREFIX_RANGES.find((r) => r.id === prefixRange)!.ms, to };
  }

  let chartGen = 0;
  let chartTimer: ReturnType<typeof setTimeout> | undefined;
  async function loadCharts(): Promise<void> {
    const id = selectedId;
    if (id === undefined || disabled) return;
    const gen = ++chartGen;
    clearTimeout(chartTimer);
    const span = currentSpan();
    const bucketMs = processedBucketMs(span.to - span.from);
    detail.classList.add('is-loading');
    try {
      const answer = await ctx.api.prefixStats(id, span.from, span.to);
      if (gen !== chartGen || destroyed) return;
      detailAlert.clear();
      const { t, ys } = alignLines(prefixLines(Array.isArray(answer) ? answer : []), bucketMs);
      const xRange: [number, number] = [Math.floor(span.from / bucketMs) * bucketMs / 1000, span.to / 1000];
      charts.forEach((c, i) => c.setData(t, [ys[i]!], { xRange }));
      setText(detailStatus, `One point per ${bucketLabel(bucketMs)} · updated ${formatTime(Date.now())}`);
    } catch (e) {
      if (gen !== chartGen || refused(e)) return;
      detailAlert.show(`Could not read the prefix’s stats: ${message(e)}`);
    } finally {
      if (gen === chartGen) detail.classList.remove('is-loading');
    }
    if (gen === chartGen && !destroyed && !disabled && selectedId === id) {
      chartTimer = setTimeout(() => {
        if (document.visibilityState !== 'hidden') void loadCharts();
      }, refreshMs(bucketMs));
    }
  }

  let prefixHotGen = 0;
  async function loadPrefixHot(): Promise<void> {
    const id = selectedId;
    if (id === undefined) return;
    const gen = ++prefixHotGen;
    try {
      const items = await ctx.api.popularItems(id);
      if (gen !== prefixHotGen || destroyed || id !== selectedId) return;
      prefixHotAlert.clear();
      prefixHot.render(items);
    } catch (e) {
      if (gen !== prefixHotGen || refused(e)) return;
      prefixHotAlert.show(`Could not read the prefix’s hot keys: ${message(e)}`);
    }
  }

  // ---------------------------------------------------------------- recent requests

  const recentAlert = alertBox('recent-alert');
  let recentRows: RecentRow[] = [];
  let recentCap = RECENT_SHOWN;
  const commandSelect = h('select', { id: 'recent-command', name: 'command' });
  const statusSelect = h('select', { id: 'recent-status', name: 'status' });
  const keyFilter = h('input', { type: 'text', id: 'recent-key', name: 'key', placeholder: 'part of the key', spellcheck: 'false', autocomplete: 'off', value: filter.key });
  commandSelect.addEventListener('change', () => {
    filter.command = commandSelect.value;
    filtersChanged();
  });
  statusSelect.addEventListener('change', () => {
    filter.status = statusSelect.value;
    filtersChanged();
  });
  keyFilter.addEventListener('input', () => {
    filter.key = keyFilter.value;
    filtersChanged();
  });
  function filtersChanged(): void {
    recentCap = RECENT_SHOWN;
    saveQuery();
    renderRecent();
  }
  // Not a live region: with Live on it changes every few seconds.
  const recentCount = h('p', { class: 'field-help', id: 'recent-count' });
  const recentAll = h('button', { class: 'btn btn-secondary btn-sm', type: 'button', id: 'recent-all', hidden: true }, 'Show all');
  recentAll.addEventListener('click', () => {
    recentCap = Infinity;
    renderRecent();
  });
  const recentBody = h('tbody', {}, h('tr', {}, h('td', { colspan: 6, class: 'empty' }, 'Loading recent requests…')));
  const recentPanel = h('section', { class: 'card panel', id: 'recent', 'aria-labelledby': 'recent-title' },
    h('div', { class: 'panel-head' }, h('div', {},
      h('h2', { class: 'card-title', id: 'recent-title' }, 'Recent requests'),
      h('p', { class: 'panel-sub' }, `The last ${formatCount(RECENT_LIMIT)} requests of each server, newest first: one line per key (a 20-key get is 20 lines).`))),
    recentAlert.el,
    h('div', { class: 'filters', id: 'recent-filters' },
      h('div', { class: 'field' }, h('label', { for: 'recent-command' }, 'Command'), commandSelect),
      h('div', { class: 'field' }, h('label', { for: 'recent-status' }, 'Status'), statusSelect),
      h('div', { class: 'field field-grow' }, h('label', { for: 'recent-key' }, 'Key contains'), keyFilter)),
    recentCount,
    h('div', { class: 'table-wrap recent-wrap' },
      h('table', { class: 'table table-recent', id: 'recent-table' },
        h('caption', { class: 'sr-only' }, 'Recent requests of every server'),
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, 'Time'), h('th', { scope: 'col' }, 'Server'), h('th', { scope: 'col' }, 'Command'),
          h('th', { scope: 'col' }, 'Status'), h('th', { scope: 'col' }, 'Key'), h('th', { scope: 'col', class: 'num' }, 'Size'))),
        recentBody)),
    h('div', { class: 'panel-foot' }, recentAll));

  function fillSelect(select: HTMLSelectElement, all: string, options: { value: string; count: number }[], value: string): void {
    // The chosen value stays listed even when the newest lines have none of it.
    const list = value && !options.some((o) => o.value === value) ? [...options, { value, count: 0 }] : options;
    const want = [{ value: '', label: all }, ...list.map((o) => ({ value: o.value, label: `${o.value} (${formatCount(o.count)})` }))];
    const same = select.options.length === want.length && want.every((w, i) => select.options[i]!.value === w.value && select.options[i]!.text === w.label);
    if (!same) replace(select, want.map((w) => h('option', { value: w.value }, w.label)));
    select.value = value;
  }

  function renderRecent(): void {
    const present = (values: string[]) => new Set(values);
    const commands = present(recentRows.map((r) => r.command));
    const statuses = present(recentRows.map((r) => r.status));
    fillSelect(commandSelect, 'All commands',
      choices(COMMANDS.filter((c) => commands.has(c)), recentRows.map((r) => r.command)), filter.command);
    fillSelect(statusSelect, 'All statuses',
      choices(STATUSES.filter((s) => statuses.has(s)), recentRows.map((r) => r.status)), filter.status);
    const matching = filterRecent(recentRows, filter);
    const shown = matching.slice(0, recentCap);
    recentPanel.dataset.total = String(recentRows.length);
    recentPanel.dataset.matching = String(matching.length);
    const filtered = filter.command || filter.status || filter.key;
    setText(recentCount, recentRows.length === 0 ? 'No requests yet.'
      : `${shown.length < matching.length ? `Showing ${formatCount(shown.length)} of ` : ''}${formatCount(matching.length)} ${filtered ? 'matching ' : ''}request${matching.length === 1 ? '' : 's'}${filtered ? ` (of ${formatCount(recentRows.length)})` : ''}.`);
    recentAll.hidden = shown.length >= matching.length;
    if (shown.length < matching.length) setText(recentAll, `Show all ${formatCount(matching.length)}`);
    if (!shown.length) {
      replace(recentBody, h('tr', {}, h('td', { colspan: 6, class: 'empty' }, recentRows.length ? 'No request matches the filters.' : 'No requests yet.')));
      return;
    }
    replace(recentBody, shown.map((r) => h('tr', { 'data-command': r.command, 'data-status': r.status },
      h('td', { 'data-label': 'Time', title: r.timestamp }, logTime(r)),
      h('td', { 'data-label': 'Server' }, h('code', { class: 'server' }, r.server)),
      h('td', { 'data-label': 'Command' }, h('code', {}, r.command)),
      h('td', { 'data-label': 'Status' }, h('span', { class: `chip chip-${statusTone(r.status)}` }, r.status)),
      h('td', { class: 'wrap key-cell', 'data-label': 'Key', 'data-field': 'key' },
        r.key === '' ? h('span', { class: 'muted' }, '—') : h('code', { class: 'key-text' }, r.key)),
      h('td', { class: 'num', 'data-label': 'Size' }, formatBytes(r.size)))));
  }

  // ---------------------------------------------------------------- key browser

  const browseAlert = alertBox('browse-alert');
  const browsePrefix = h('input', { type: 'text', id: 'browse-prefix', name: 'prefix', placeholder: 'every key', spellcheck: 'false', autocomplete: 'off' });
  const browseLimit = h('select', { id: 'browse-limit', name: 'limit' }, PAGE_SIZES.map((n) => h('option', { value: String(n) }, `${n} a page`)));
  const browseButton = h('button', { class: 'btn btn-primary', type: 'submit', id: 'browse-submit' }, 'List keys');
  const browseForm = h('form', { class: 'inline-form', id: 'browse-form', novalidate: true },
    h('div', { class: 'field field-grow' }, h('label', { for: 'browse-prefix' }, 'Prefix'), browsePrefix),
    h('div', { class: 'field' }, h('label', { for: 'browse-limit' }, 'Page size'), browseLimit),
    h('div', { class: 'form-actions' }, browseButton));
  /** The bytes of a prefix picked from the hot keys, until the field is edited. */
  let browseBase64: string | undefined;
  browsePrefix.addEventListener('input', () => (browseBase64 = undefined));
  browseForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void browse(true);
  });
  const keysBody = h('tbody', {}, h('tr', {}, h('td', { colspan: 4, class: 'empty' }, 'Listing keys…')));
  const serverHead = h('th', { scope: 'col', hidden: true }, 'Server');
  const browseCount = h('p', { class: 'field-help', id: 'browse-count', role: 'status' });
  const more = h('button', { class: 'btn btn-secondary', type: 'button', id: 'browse-more', hidden: true }, 'More');
  more.addEventListener('click', () => void browse(false));
  const browsePanel = h('section', { class: 'card panel', id: 'key-browser', 'aria-labelledby': 'browse-title' },
    h('div', { class: 'panel-head' }, h('div', {},
      h('h2', { class: 'card-title', id: 'browse-title' }, 'Key browser'),
      h('p', { class: 'panel-sub' }, 'The keys stored now, a page at a time. A live walk: keys set or removed while you page may or may not show.'))),
    browseAlert.el, browseForm, browseCount,
    h('div', { class: 'table-wrap keys-wrap' },
      h('table', { class: 'table table-keys', id: 'keys-table' },
        h('caption', { class: 'sr-only' }, 'Keys stored in the cache'),
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, 'Key'), serverHead, h('th', { scope: 'col', class: 'num' }, 'Size'), h('th', { scope: 'col', class: 'num' }, 'Expires in'))),
        keysBody)),
    h('div', { class: 'panel-foot' }, more));

  let listed: ListedKey[] = [];
  let cursor: string | null = null;
  /** The prefix of the listing shown: a cursor is only good with the prefix it was made for. */
  let listedPrefix = '';
  let listedBase64: string | undefined;
  let browseGen = 0;
  async function browse(fresh: boolean): Promise<void> {
    const gen = ++browseGen;
    const prefix = fresh ? browsePrefix.value : listedPrefix;
    const prefixBase64 = fresh ? browseBase64 : listedBase64;
    browseButton.disabled = true;
    more.disabled = true;
    try {
      const page = await ctx.api.keys({ prefix, prefixBase64, cursor: fresh ? undefined : cursor ?? undefined, limit: Number(browseLimit.value) });
      if (gen !== browseGen || destroyed) return;
      browseAlert.clear();
      listedPrefix = prefix;
      listedBase64 = prefixBase64;
      listed = fresh ? [...page.keys] : [...listed, ...page.keys];
      cursor = page.cursor ?? null;
      renderKeys(fresh ? 0 : listed.length - page.keys.length);
    } catch (e) {
      if (gen !== browseGen || refused(e)) return;
      browseAlert.show(`Listing the keys failed: ${message(e)}`);
    } finally {
      if (gen === browseGen) {
        browseButton.disabled = false;
        more.disabled = false;
      }
    }
  }

  function keyRow(k: ListedKey, servers: boolean): HTMLElement {
    return h('tr', { 'data-key': k.key_base64 ?? null },
      h('th', { scope: 'row', class: 'wrap', 'data-label': 'Key' }, keyButton(k, lookUpKey)),
      servers ? h('td', { 'data-label': 'Server' }, h('code', { class: 'server' }, k.server ?? '')) : null,
      h('td', { class: 'num', 'data-label': 'Size' }, formatBytes(k.size)),
      h('td', { class: 'num', 'data-label': 'Expires in' }, ttlLabel(k.ttl)));
  }

  /** `from`: the first row that is new (a page added keeps the rows above, and the place on the page). */
  function renderKeys(from: number): void {
    const servers = listed.some((k) => k.server);
    serverHead.hidden = !servers;
    browsePanel.dataset.count = String(listed.length);
    browsePanel.dataset.done = String(cursor === null);
    const under = listedPrefix ? ' under the prefix' : '';
    setText(browseCount, cursor === null
      ? `${listed.length ? `All ${formatCount(listed.length)}` : 'No'} key${listed.length === 1 ? '' : 's'}${under} listed.`
      : `${formatCount(listed.length)} key${listed.length === 1 ? '' : 's'}${under} listed so far; more remain.`);
    more.hidden = cursor === null;
    if (!listed.length) {
      replace(keysBody, h('tr', {}, h('td', { colspan: 4, class: 'empty' }, listedPrefix ? 'No key starts with this prefix.' : 'The cache holds no keys.')));
      return;
    }
    if (from === 0 || keysBody.querySelector('td.empty')) replace(keysBody, listed.map((k) => keyRow(k, servers)));
    else keysBody.append(...listed.slice(from).map((k) => keyRow(k, servers)));
  }

  // ---------------------------------------------------------------- polling

  const body = h('div', { class: 'introspection-body', id: 'introspection-body' },
    hotSection,
    h('div', { class: 'introspection-grid' }, lookupPanel, prefixesPanel),
    detail,
    recentPanel,
    browsePanel);

  let loadedAt: number | undefined;
  function describe(): string {
    const parts = [`Hot keys of the last ${windowText}`];
    if (loadedAt) parts.push(`updated ${formatTime(loadedAt)}`);
    parts.push(live ? `live, every ${LIVE_MS / 1000}\u00a0s` : 'paused');
    return parts.join(' · ');
  }

  let pollGen = 0;
  let pollTimer: ReturnType<typeof setTimeout> | undefined;
  /** Hot keys, the selected prefix's hot keys and the recent requests, then again in LIVE_MS while live. */
  async function poll(): Promise<void> {
    const gen = ++pollGen;
    clearTimeout(pollTimer);
    if (disabled || destroyed) return;
    const [popular, recent] = await Promise.allSettled([ctx.api.popularItems(), ctx.api.recentLogs(RECENT_LIMIT), loadPrefixHot()]);
    if (gen !== pollGen || destroyed) return;
    for (const r of [popular, recent]) if (r.status === 'rejected' && refused(r.reason)) return;
    if (popular.status === 'fulfilled') {
      hotAlert.clear();
      windowText = windowLabel(popular.value.time_slice);
      setText(hotSub, `Requests per key over the last ${windowText} (a ${windowText} window, read every ${LIVE_MS / 1000}\u00a0s while Live is on). Click a key to look it up.`);
      lastPopular = popular.value;
      hot.render(popular.value);
      hotSection.dataset.loaded = 'true';
    } else {
      hotAlert.show(`Could not read the hot keys: ${message(popular.reason)}`);
    }
    if (recent.status === 'fulfilled') {
      recentAlert.clear();
      recentRows = mergeRecent(recent.value && typeof recent.value === 'object' ? recent.value : {});
      renderRecent();
    } else {
      recentAlert.show(`Could not read the recent requests: ${message(recent.reason)}`);
    }
    loadedAt = Date.now();
    setText(status, describe());
    if (live && !disabled && !destroyed) {
      pollTimer = setTimeout(() => {
        if (document.visibilityState !== 'hidden') void poll(); // else picked up by onVisibility
      }, LIVE_MS);
    }
  }

  /** Everything, from the top (the first load, Refresh, and "Check again" after the notice). */
  async function loadAll(): Promise<void> {
    disabledPanel.hidden = true;
    body.hidden = false;
    liveSwitch.hidden = refresh.hidden = false;
    await Promise.all([poll(), loadPrefixes(), browse(true)]);
    if (!disabled && shownDetail !== undefined) void loadCharts();
  }

  const onVisibility = () => {
    if (document.visibilityState !== 'visible' || destroyed || disabled) return;
    if (live) void poll();
    if (shownDetail !== undefined) void loadCharts();
  };
  document.addEventListener('visibilitychange', onVisibility);

  const el = h('div', { class: 'screen screen-introspection' },
    pageHead('Introspection', status, liveSwitch, refresh),
    disabledPanel,
    body);

  renderPrefixes();
  void loadAll();

  return {
    el,
    destroy() {
      destroyed = true;
      pollGen++;
      chartGen++;
      clearTimeout(pollTimer);
      clearTimeout(chartTimer);
      document.removeEventListener('visibilitychange', onVisibility);
      for (const c of charts) c.destroy();
    },
  };
}
