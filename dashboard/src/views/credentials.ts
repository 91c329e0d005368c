/**
 * Credentials: every credential of the cache with its capabilities. Create one (its
 * password is shown once, with a copy button), switch capabilities, promote one to
 * primary, delete one. Each change is one call of the v1 API; the API's own error
 * message is shown when it refuses.
 */
import { ApiRequestError, type Capabilities, type Capability, type CredentialView, type NewCredentialView } from '../api-client.ts';
import { h, replace } from '../dom.ts';
import { alertBox, confirmDialog, copyButton, pageHead } from './components.ts';
import type { AppContext, View } from './shell.ts';

const CAPABILITIES: readonly { key: Capability; label: string; help: string }[] = [
  { key: 'write_capability', label: 'Write', help: 'set, delete, incr/decr, touch' },
  { key: 'flush_capability', label: 'Flush', help: 'flush_all and the Flush button' },
  { key: 'api_capability', label: 'API', help: 'this dashboard and the Analytics API' },
];

export function credentialsView(ctx: AppContext): View {
  const alert = alertBox('credentials-alert');
  const created = h('div', { class: 'created', id: 'new-credential', hidden: true });
  const create = h('button', { class: 'btn btn-primary', type: 'button', id: 'create-credential' }, 'New credential');
  const body = h('tbody', {}, h('tr', {}, h('td', { colspan: 6, class: 'empty' }, 'Loading credentials…')));
  let busy = false;

  const table = h('div', { class: 'table-wrap' },
    h('table', { class: 'table table-credentials responsive', id: 'credentials-table' },
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Username'),
        CAPABILITIES.map((c) => h('th', { scope: 'col', class: 'center', title: c.help }, c.label)),
        h('th', { scope: 'col' }, 'Role'),
        h('th', { scope: 'col', class: 'right' }, h('span', { class: 'sr-only' }, 'Actions')))),
      body));

  const el = h('div', { class: 'screen screen-credentials' },
    pageHead('Credentials', 'Every credential reaches this cache. A capability change applies from the next command, open connections included.', create),
    alert.el,
    created,
    h('section', { class: 'card panel' }, table),
    h('dl', { class: 'legend-list' },
      CAPABILITIES.flatMap((c) => [h('dt', {}, c.label), h('dd', {}, c.help)]),
      h('dt', {}, 'Primary'), h('dd', {}, 'the credential shown as MEMCACHIER_USERNAME; it cannot be deleted')),
  );

  /** Runs one API change with the controls locked, then shows the list as it now is. */
  async function act(what: string, fn: () => Promise<void>): Promise<void> {
    if (busy) return;
    busy = true;
    el.classList.add('is-busy');
    for (const c of el.querySelectorAll<HTMLButtonElement | HTMLInputElement>('tbody button, tbody input, #create-credential')) c.disabled = true;
    try {
      await fn();
      alert.clear();
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      alert.show(`${what} failed: ${msg}`);
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
      if (!(e instanceof ApiRequestError && (e.status === 403 || e.status === 404))) {
        alert.show(`Could not list the credentials: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  function render(list: readonly CredentialView[]): void {
    const sorted = [...list].sort((a, b) => Number(b.primary) - Number(a.primary) || a.sasl_username.localeCompare(b.sasl_username));
    replace(body, sorted.map(row));
    if (!sorted.length) replace(body, h('tr', {}, h('td', { colspan: 6, class: 'empty' }, 'No credentials.')));
    el.dataset.count = String(sorted.length);
  }

  function row(cred: CredentialView): HTMLElement {
    const user = cred.sasl_username;
    const isMe = user === ctx.session.username;
    const caps: Capabilities = {
      write_capability: cred.write_capability, flush_capability: cred.flush_capability, api_capability: cred.api_capability,
    };
    const toggles = CAPABILITIES.map((c) => {
      const id = `cap-${c.key.split('_')[0]}-${user}`;
      const input = h('input', {
        type: 'checkbox', role: 'switch', id, 'data-capability': c.key, checked: caps[c.key],
        'aria-label': `${c.label} capability for ${user}`,
      });
      input.addEventListener('change', async () => {
        const next = { ...caps, [c.key]: input.checked };
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
        await act(`Updating ${user}`, async () => {
          const updated = await ctx.api.updateCredential(cred, next);
          const changed = CAPABILITIES.filter((k) => updated[k.key] !== caps[k.key]).map((k) => `${k.label.toLowerCase()} ${updated[k.key] ? 'on' : 'off'}`);
          ctx.notify(`${user}: ${changed.join(', ') || 'unchanged'}.`, 'success');
          if (isMe && !updated.api_capability) ctx.signOut('Your credential no longer has the API capability.');
        });
      });
      return h('td', { class: 'center', 'data-label': c.label },
        h('label', { class: 'switch switch-only', for: id }, input, h('span', { class: 'switch-track', 'aria-hidden': 'true' })));
    });

    const promote = h('button', { class: 'btn btn-secondary btn-sm', type: 'button', 'data-action': 'promote', 'aria-label': `Make ${user} primary` },
      'Make primary');
    promote.addEventListener('click', () => act(`Promoting ${user}`, async () => {
      await ctx.api.promoteCredential(cred);
      ctx.notify(`${user} is now the primary credential.`, 'success');
    }));

    const del = h('button', {
      class: 'btn btn-danger-ghost btn-sm', type: 'button', 'data-action': 'delete', 'aria-label': `Delete ${user}`,
      disabled: cred.primary, title: cred.primary ? 'The primary credential cannot be deleted; make another one primary first.' : null,
    }, 'Delete');
    del.addEventListener('click', async () => {
      const ok = await confirmDialog({
        title: `Delete credential ${user}?`,
        body: isMe
          ? 'This is the credential you are signed in with: its connections are closed and this dashboard signs you out.'
          : 'Connections using it are closed at once, and it can no longer log in.',
        confirmLabel: 'Delete credential', danger: true,
      });
      if (!ok) return;
      await act(`Deleting ${user}`, async () => {
        await ctx.api.deleteCredential(cred);
        ctx.notify(`Credential ${user} deleted.`, 'success');
        if (isMe) ctx.signOut('The credential you signed in with was deleted.');
      });
    });

    return h('tr', { 'data-username': user, class: cred.primary ? 'is-primary' : '' },
      h('th', { scope: 'row', 'data-label': 'Username' },
        h('code', { class: 'username' }, user),
        isMe ? h('span', { class: 'chip chip-info' }, 'you') : null),
      toggles,
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
        h('h2', { class: 'card-title' }, 'Credential created'),
        dismiss),
      h('p', { class: 'created-warn' }, 'Copy the password now: it is shown only this once.'),
      h('dl', { class: 'kv' },
        h('dt', {}, 'Username'), h('dd', {}, h('code', { id: 'new-credential-username' }, cred.sasl_username),
          copyButton('Copy username', () => cred.sasl_username)),
        h('dt', {}, 'Password'), h('dd', {}, secret, copyButton('Copy password', () => cred.sasl_password)),
      ),
    );
    created.hidden = false;
    created.scrollIntoView({ block: 'nearest' });
  }

  create.addEventListener('click', () => act('Creating a credential', async () => {
    const cred = await ctx.api.createCredential();
    showCreated(cred);
    ctx.notify(`Credential ${cred.sasl_username} created.`, 'success');
  }));

  void load();
  return { el, destroy: () => undefined };
}
