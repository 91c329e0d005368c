/**
 * Settings: the cache as the API v2's `info` describes it (id, name, plan, cluster,
 * servers, state), its dashboard sign-in link (rotated behind a confirmation; the new
 * link is shown once, with a copy button), re-enabling a disabled cache (`enable_cache`),
 * and the credentials panel (credentials.ts). #/settings?panel=credentials opens at the
 * credentials (the old #/credentials address).
 */
import { ApiRequestError, type CacheInfo } from '../api-client.ts';
import { h, replace, setText } from '../dom.ts';
import { formatBytes } from '../format.ts';
import { alertBox, confirmDialog, copyButton, pageHead } from './components.ts';
import { credentialsPanel } from './credentials.ts';
import type { AppContext, View } from './shell.ts';

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function settingsView(ctx: AppContext): View {
  const { session } = ctx;
  const alert = alertBox('settings-alert');

  // ---- the cache
  const field = (id: string) => h('dd', { id }, '…');
  const cacheId = h('code', { id: 'cache-id' }, String(session.cacheId));
  const name = field('cache-name');
  const plan = field('cache-plan');
  const cluster = field('cache-cluster');
  const status = field('cache-status');
  const servers = h('ul', { class: 'server-list', id: 'cache-servers' }, h('li', {}, '…'));
  let serverList: string[] = [];
  const apiBase = `${location.origin}/api/v2/caches/${session.cacheId}/`;
  const cachePanel = h('section', { class: 'card panel', id: 'cache-panel', 'aria-labelledby': 'cache-title' },
    h('div', { class: 'panel-head' }, h('h2', { class: 'card-title', id: 'cache-title' }, 'Cache')),
    h('dl', { class: 'kv kv-settings' },
      h('dt', {}, 'Cache ID'),
      h('dd', {}, cacheId, copyButton('Copy the cache ID', () => String(session.cacheId))),
      h('dt', {}, 'Name'), name,
      h('dt', {}, 'Plan'), plan,
      h('dt', {}, 'Cluster'), cluster,
      h('dt', {}, 'Status'), status,
      h('dt', {}, 'Servers'),
      h('dd', { class: 'servers-cell' }, servers, copyButton('Copy the servers (MEMCACHIER_SERVERS)', () => serverList.join(','))),
      h('dt', {}, 'API'),
      h('dd', {}, h('code', { id: 'cache-api-url' }, apiBase), copyButton('Copy the API address', () => apiBase)),
    ),
    h('p', { class: 'fine-print' }, 'The cache ID is the ', h('code', {}, '<cache_id>'), ' of the Analytics API v2 paths.'),
  );

  // ---- re-enable
  const enable = h('button', { class: 'btn btn-primary', type: 'button', id: 'enable-cache' }, 'Re-enable cache');
  const enablePanel = h('section', { class: 'card panel panel-warn', id: 'enable-panel', 'aria-labelledby': 'enable-title', hidden: true },
    h('div', { class: 'panel-head' },
      h('div', {},
        h('h2', { class: 'card-title', id: 'enable-title' }, 'This cache is disabled'),
        h('p', { class: 'panel-sub' },
          'Its servers refuse memcache logins and the API answers only info and enable_cache. A cache disabled for inactivity (no memcache traffic for as many days as the operator set) can be re-enabled here; one an operator disabled, by an operator only.')),
      h('div', { class: 'panel-actions' }, enable)));
  enable.addEventListener('click', async () => {
    enable.disabled = true;
    try {
      await ctx.api.enableCache();
      alert.clear();
      ctx.notify(`Cache ${session.cacheId} is enabled again.`, 'success');
      await ctx.reloadInfo(); // leaves the disabled state: the screens come back
    } catch (e) {
      alert.show(`Re-enabling failed: ${message(e)}${e instanceof ApiRequestError && e.status === 403
        ? ' An operator disabled this cache, so only an operator can enable it (cachier cache enable, or the operator API).' : ''}`);
    } finally {
      enable.disabled = false;
    }
  });

  // ---- the sign-in link
  const rotate = h('button', { class: 'btn btn-secondary', type: 'button', id: 'rotate-sso' }, 'Rotate sign-in link…');
  const rotateNote = h('span', { class: 'muted small', id: 'rotate-note' }, 'Needs a credential with all three capabilities.');
  const linkAlert = alertBox('sign-in-link-alert');
  const newLink = h('div', { class: 'created', id: 'new-sign-in-link', hidden: true });
  const linkPanel = h('section', { class: 'card panel', id: 'sign-in-link-panel', 'aria-labelledby': 'link-title' },
    h('div', { class: 'panel-head' },
      h('div', {},
        h('h2', { class: 'card-title', id: 'link-title' }, 'Dashboard sign-in link'),
        h('p', { class: 'panel-sub' },
          'A link that opens this dashboard signed in as the primary credential, without a password: what a portal embeds. cachier keeps only a hash of it, so the current link cannot be shown again; rotating makes a new one, shown once, and the old link — and every session opened with it — stops working at once.'))),
    linkAlert.el,
    newLink,
    h('div', { class: 'panel-foot' }, rotate, rotateNote),
  );
  rotate.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: 'Rotate the sign-in link?',
      body: `A new link is made and shown once. The current link stops working at once and everyone signed in with it is signed out${session.sso ? ' — this tab included: you signed in with it' : ''}.`,
      confirmLabel: 'Rotate link', danger: true,
    });
    if (!ok) return;
    rotate.disabled = true;
    try {
      const link = await ctx.api.rotateSignInLink();
      linkAlert.clear();
      // Signed in by the old link, this tab's session just ended: keep the new link on screen.
      if (session.sso) ctx.monitor.stop();
      showLink(link);
    } catch (e) {
      linkAlert.show(`Rotating the sign-in link failed: ${message(e)}${e instanceof ApiRequestError && e.status === 403
        ? ' The link signs in as the primary credential, so rotating it needs all three capabilities.' : ''}`);
    } finally {
      rotate.disabled = ctx.disabled();
    }
  });

  function showLink(link: string): void {
    const done = h('button', { class: 'btn btn-ghost btn-sm', type: 'button', id: 'sign-in-link-done' }, 'Done');
    done.addEventListener('click', () => {
      newLink.hidden = true;
      newLink.replaceChildren();
      if (session.sso) ctx.signOut('The sign-in link was rotated: open the new link to sign in.');
    });
    replace(newLink,
      h('div', { class: 'created-head' }, h('h3', { class: 'card-title' }, 'New sign-in link'), done),
      h('p', { class: 'created-warn' }, 'Copy it now: it is shown only this once. The old link no longer works.'),
      h('div', { class: 'link-row' },
        h('code', { class: 'secret', id: 'sign-in-link' }, link),
        copyButton('Copy the sign-in link', () => link)),
      session.sso
        ? h('p', { class: 'created-note' }, 'This tab was signed in with the old link and is signed out now. ',
          h('a', { href: link, id: 'open-new-link' }, 'Open the new link'), ' to sign in again.')
        : null,
    );
    newLink.hidden = false;
    newLink.scrollIntoView({ block: 'nearest' });
  }

  // ---- credentials (not while disabled: the API answers only info and enable_cache)
  const credentialsHost = h('div', { id: 'credentials-host' });
  let credentials: View | undefined;

  const el = h('div', { class: 'screen screen-settings' },
    pageHead('Settings', `Cache ${session.cacheId}: what it is, its sign-in link and its credentials.`),
    alert.el,
    enablePanel,
    h('div', { class: 'settings-grid' }, cachePanel, linkPanel),
    credentialsHost,
  );

  function render(info: CacheInfo | undefined): void {
    el.classList.toggle('is-loading', !info);
    if (!info) return;
    setText(name, info.label && info.label !== info.name ? `${info.label} (${info.name})` : info.name);
    const n = info.servers.length;
    setText(plan, n > 1 ? `${formatBytes(info.plan)} · ${formatBytes(info.plan / n)} on each of ${n} servers` : formatBytes(info.plan));
    plan.dataset.value = String(info.plan);
    setText(cluster, info.can_switch ? info.cluster_name : `${info.cluster_name} (the only cluster)`);
    cluster.dataset.value = info.cluster_name;
    replace(status, h('span', { class: `chip ${info.enabled ? 'chip-good' : 'chip-poor'}` }, info.enabled ? 'Enabled' : 'Disabled'));
    status.dataset.value = info.enabled ? 'enabled' : 'disabled';
    serverList = [...info.servers];
    replace(servers, serverList.length ? serverList.map((s) => h('li', {}, h('code', {}, s))) : h('li', { class: 'muted' }, 'No servers.'));
    enablePanel.hidden = info.enabled;
    // The API answers only info and enable_cache for a disabled cache.
    rotate.disabled = !info.enabled;
    setText(rotateNote, info.enabled ? 'Needs a credential with all three capabilities.' : 'Available once the cache is enabled again.');

    if (info.enabled && !credentials) {
      credentials = credentialsPanel(ctx);
      credentialsHost.replaceChildren(credentials.el);
      if (scrollToCredentials) {
        scrollToCredentials = false;
        const panel = credentials.el;
        requestAnimationFrame(() => panel.scrollIntoView({ block: 'start' }));
      }
    } else if (!info.enabled) {
      credentials?.destroy();
      credentials = undefined;
      replace(credentialsHost, h('section', { class: 'card panel', id: 'credentials-panel-disabled' },
        h('h2', { class: 'card-title' }, 'Credentials'),
        h('p', { class: 'panel-sub' }, `Credentials can be managed again once the cache is enabled. It has ${info.credentials.length} ${info.credentials.length === 1 ? 'credential' : 'credentials'}.`)));
    }
  }

  let scrollToCredentials = ctx.query().get('panel') === 'credentials';
  const off = ctx.onInfo(render);
  render(ctx.info());
  // Always the current state on arrival (plan, servers and state may have changed).
  void ctx.reloadInfo().catch((e: unknown) => {
    if (!ctx.lostAccess(e)) alert.show(`Could not read the cache’s settings: ${message(e)}`);
  });

  return {
    el,
    destroy() {
      off();
      credentials?.destroy();
    },
  };
}
