/**
 * The credentials panel (in Settings): every credential of the cache with its
 * capabilities, through the API v2. Create one (201: its password is shown once, with a
 * copy button; its capabilities are the signed-in credential's own), change capabilities
 * (checkboxes; a change PATCHes all three of the row, as v2 replaces them all), promote
 * one to primary, delete one. cachier's capability rule is the API's to enforce: what the
 * signed-in credential may not do is refused with 403, and the API's own message is shown
 * (with the rule, so the refusal makes sense), while the list is read again as it now is.
 */
import { ApiRequestError, type Capabilities, type Capability, type CredentialView, type NewCredentialView } from '../api-client.ts';
import { h, replace } from '../dom.ts';
import { alertBox, confirmDialog, copyButton } from './components.ts';
import type { AppContext, View } from './shell.ts';

export const CAPABILITIES: readonly { key: Capability; label: string; help: string }[] = [
  { key: 'write_capability', label: 'Write', help: 'set, delete, incr/decr, touch' },
  { key: 'flush_capability', label: 'Flush', help: 'flush_all and the Flush button' },
  { key: 'api_capability', label: 'API', help: 'this dashboard and the Analytics API' },
];

/** Why the API may refuse, by action: cachier's rule in a sentence. */
const RULE_HINT = {
  update: 'A credential can change only credentials with no capability it lacks, and grant only capabilities it holds.',
  promote: 'Promoting needs a credential with all three capabilities.',
  delete: 'Deleting needs a credential with all three capabilities.',
  create: 'New credentials get the signed-in credential’s own capabilities.',
} as const;

function capabilityList(c: Capabilities): string {
  const held = CAPABILITIES.filter((k) => c[k.key]).map((k) => k.label.toLowerCase());
  return held.length ? held.join(', ') : 'none';
}

export function credentialsPanel(ctx: AppContext): View {
  const alert = alertBox('credentials-alert');
  const created = h('div', { class: 'created', id: 'new-credential', hidden: true });
  const create = h('button', { class: 'btn btn-primary', type: 'button', id: 'create-credential' }, 'New credential');
  const note = h('p', { class: 'panel-note', id: 'capability-note', hidden: true });
  const body = h('tbody', {}, h('tr', {}, h('td', { colspan: 6, class: 'empty' }, 'Loading credentials…')));
  let busy = false;

  const table = h('div', { class: 'table-wrap' },
    h('table', { class: 'table table-credentials responsive', id: 'credentials-table' },
      h('caption', { class: 'sr-only' }, 'Credentials of this cache and their capabilities'),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Username'),
        CAPABILITIES.map((c) => h('th', { scope: 'col', class: 'center', title: c.help }, c.label)),
        h('th', { scope: 'col' }, 'Role'),
        h('th', { scope: 'col', class: 'right' }, h('span', { class: 'sr-only' }, 'Actions')))),
      body));

  const el = h('section', { class: 'card panel credentials-panel', id: 'credentials-panel', 'aria-labelledby': 'credentials-title' },
    h('div', { class: 'panel-head' },
      h('div', {},
        h('h2', { class: 'card-title', id: 'credentials-title' }, 'Credentials'),
        h('p', { class: 'panel-sub' },
          'Every credential reaches this cache. A capability change applies from the next command, open connections included.')),
      h('div', { class: 'panel-actions' }, create)),
    note,
    alert.el,
    created,
    table,
    h('dl', { class: 'legend-list' },
      CAPABILITIES.flatMap((c) => [h('dt', {}, c.label), h('dd', {}, c.help)]),
      h('dt', {}, 'Primary'), h('dd', {}, 'the credential shown as MEMCACHIER_USERNAME, and the one the sign-in link acts as; it cannot be deleted')),
  );

  /** Runs one API change with the controls locked, then shows the list as it now is. */
  async function act(what: string, hint: string, fn: () => Promise<void>): Promise<void> {
    if (busy) return;
    busy = true;
    el.classList.add('is-busy');
    for (const c of el.querySelectorAll<HTMLButtonElement | HTMLInputElement>('tbody button, tbody input, #create-credential')) c.disabled = true;
    try {
      await fn();
      alert.clear();
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      alert.show(`${what} failed: ${msg}${e instanceof ApiRequestError && e.status === 403 ? ` ${hint}` : ''}`);
    } finally {
      busy = false;
      el.classList.remove('is-busy');
      create.disabled = false;
      if (el.isConnected) await load(); // not after signing out
    }
  }

  async function load(): Promise<void> {
    try {
      render(await ctx.reloadCredentials());
    } catch (e) {
      if (!(e instanceof ApiRequestError && [401, 403, 404].includes(e.status))) {
        alert.show(`Could not list the credentials: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  function renderNote(): void {
    const me = ctx.me();
    if (!me) {
      note.hidden = true;
      return;
    }
    const all = CAPABILITIES.every((c) => me[c.key]);
    const who = ctx.session.sso
      ? `Signed in with the sign-in link, acting as the primary credential ${me.sasl_username}`
      : `Signed in as ${me.sasl_username}`;
    note.textContent = all
      ? `${who}, with every capability.`
      : `${who}, with ${capabilityList(me)} only. cachier’s rule: a credential never grants a capability it lacks — new credentials get at most yours, and you can change only credentials with no capability you lack; promoting and deleting need all three. The API refuses anything else.`;
    note.classList.toggle('is-limited', !all);
    note.hidden = false;
  }

  function render(list: readonly CredentialView[]): void {
    const sorted = [...list].sort((a, b) => Number(b.primary) - Number(a.primary) || a.sasl_username.localeCompare(b.sasl_username));
    replace(body, sorted.map(row));
    if (!sorted.length) replace(body, h('tr', {}, h('td', { colspan: 6, class: 'empty' }, 'No credentials.')));
    el.dataset.count = String(sorted.length);
    renderNote();
  }

  function row(cred: CredentialView): HTMLElement {
    const user = cred.sasl_username;
    const isMe = ctx.me()?.sasl_username === user;
    const inputs = new Map<Capability, HTMLInputElement>();
    const boxes = CAPABILITIES.map((c) => {
      const id = `cap-${c.key.split('_')[0]}-${user}`;
      const input = h('input', {
        type: 'checkbox', id, 'data-capability': c.key, checked: cred[c.key],
        'aria-label': `${c.label} capability for ${user}`,
      });
      inputs.set(c.key, input);
      input.addEventListener('change', async () => {
        // v2's PATCH replaces all three: send the row as it now reads.
        const next = Object.fromEntries(CAPABILITIES.map((k) => [k.key, inputs.get(k.key)!.checked])) as Capabilities;
        if (isMe && c.key === 'api_capability' && !input.checked) {
          const ok = await confirmDialog({
            title: 'Remove your own API access?',
            body: `You are signed in as ${user}. Without the API capability this dashboard signs you out at once.`,
            confirmLabel: 'Remove and sign out', danger: true,
          });
          if (!ok) {
            input.checked = true;
            return;
          }
        }
        await act(`Updating ${user}`, RULE_HINT.update, async () => {
          const updated = await ctx.api.setCapabilities(user, next);
          const changed = CAPABILITIES.filter((k) => updated[k.key] !== cred[k.key]).map((k) => `${k.label.toLowerCase()} ${updated[k.key] ? 'on' : 'off'}`);
          ctx.notify(`${user}: ${changed.join(', ') || 'unchanged'}.`, 'success');
          if (isMe && !updated.api_capability) ctx.signOut('Your credential no longer has the API capability.');
        });
      });
      return h('td', { class: 'center', 'data-label': c.label },
        h('label', { class: 'check', for: id }, input, h('span', { class: 'check-box', 'aria-hidden': 'true' })));
    });

    const promote = h('button', { class: 'btn btn-secondary btn-sm', type: 'button', 'data-action': 'promote', 'aria-label': `Make ${user} primary` },
      h('span', { 'aria-hidden': 'true' }, '↑'), 'Make primary');
    promote.addEventListener('click', () => act(`Promoting ${user}`, RULE_HINT.promote, async () => {
      await ctx.api.promoteCredential(user);
      ctx.notify(`${user} is now the primary credential.`, 'success');
    }));

    const del = h('button', {
      class: 'btn btn-danger-ghost btn-sm', type: 'button', 'data-action': 'delete', 'aria-label': `Delete ${user}`,
      disabled: cred.primary, title: cred.primary ? 'The primary credential cannot be deleted; make another one primary first.' : null,
    }, h('span', { 'aria-hidden': 'true' }, '×'), 'Delete');
    del.addEventListener('click', async () => {
      const ok = await confirmDialog({
        title: `Delete credential ${user}?`,
        body: isMe
          ? 'This is the credential you are signed in with: its connections are closed and this dashboard signs you out.'
          : 'Connections using it are closed at once, and it can no longer log in.',
        confirmLabel: 'Delete credential', danger: true,
      });
      if (!ok) return;
      await act(`Deleting ${user}`, RULE_HINT.delete, async () => {
        await ctx.api.deleteCredential(user);
        ctx.notify(`Credential ${user} deleted.`, 'success');
        if (isMe) ctx.signOut('The credential you signed in with was deleted.');
      });
    });

    return h('tr', { 'data-username': user, class: cred.primary ? 'is-primary' : '' },
      h('th', { scope: 'row', 'data-label': 'Username' },
        h('code', { class: 'username' }, user),
        isMe ? h('span', { class: 'chip chip-info' }, 'you') : null),
      boxes,
      h('td', { 'data-label': 'Role' }, cred.primary ? h('span', { class: 'chip chip-primary' }, 'Primary') : promote),
      h('td', { class: 'right actions', 'data-label': 'Actions' }, del),
    );
  }

  function showCreated(cred: NewCredentialView): void {
    const secret = h('code', { class: 'secret', id: 'new-credential-password' }, cred.sasl_password);
    const dismiss = h('button', { class: 'btn btn-ghost btn-sm', type: 'button' }, 'Done');
    dismiss.addEventListener('click', () => {
      created.hidden = true;
      created.replaceChildren();
    });
    replace(created,
      h('div', { class: 'created-head' },
        h('h3', { class: 'card-title' }, 'Credential created'),
        dismiss),
      h('p', { class: 'created-warn' }, 'Copy the password now: it is shown only this once — cachier keeps only a hash of it.'),
      h('dl', { class: 'kv' },
        h('dt', {}, 'Username'), h('dd', {}, h('code', { id: 'new-credential-username' }, cred.sasl_username),
          copyButton('Copy username', () => cred.sasl_username)),
        h('dt', {}, 'Password'), h('dd', {}, secret, copyButton('Copy password', () => cred.sasl_password)),
        h('dt', {}, 'Capabilities'), h('dd', { id: 'new-credential-capabilities' }, capabilityList(cred)),
      ),
    );
    created.hidden = false;
    created.scrollIntoView({ block: 'nearest' });
  }

  create.addEventListener('click', () => act('Creating a credential', RULE_HINT.create, async () => {
    const cred = await ctx.api.createCredential();
    showCreated(cred);
    ctx.notify(`Credential ${cred.sasl_username} created.`, 'success');
  }));

  const off = ctx.onCredentials(() => renderNote());
  void load();
  return { el, destroy: off };
}
