/**
 * Alerts: the cache's delivery targets, its alerts and what happened, through the API v2
 * alert endpoints (and cachier's own test and events).
 *
 * - Delivery targets (email, Slack, webhook): add one (a webhook's signing secret is shown
 *   once, with a copy button: cachier never shows it again), delete one (confirmed; the
 *   API refuses while alerts use it and its message is shown), and "Send test" per target:
 *   a test notification goes out now, the outcome is shown and the events list read again.
 * - Alerts: type, threshold (hit rate below / memory above, percent), target, description,
 *   an enabled switch (PUT `{"enabled"}`), edit (the form filled in; PUT sends the fields)
 *   and delete (confirmed).
 * - Events: the last 100 firings, resolutions, reminders, delivery attempts and test
 *   notifications, newest first; read again every 15 s while the screen is open.
 */
import { ApiRequestError, type AlertEvent, type AlertView, type DeliveryConfigView, type NewDeliveryConfigView } from '../api-client.ts';
import { h, replace } from '../dom.ts';
import { alertBox, confirmDialog, copyButton, pageHead } from './components.ts';
import type { AppContext, View } from './shell.ts';

const EVENTS_REFRESH_MS = 15_000;

const TRIGGERS = {
  hit_rate: { label: 'Hit rate', side: 'below', help: 'Notifies when the get hit rate over the last 10 minutes falls below the threshold.' },
  memory_usage: { label: 'Memory usage', side: 'above', help: 'Notifies when memory used rises above the threshold (percent of the limit).' },
} as const;
type Trigger = keyof typeof TRIGGERS;

const DELIVERY_LABEL = { email: 'Email', slack: 'Slack', webhook: 'Webhook' } as const;
type DeliveryType = keyof typeof DELIVERY_LABEL;

const EVENT_KIND: Record<AlertEvent['kind'], { label: string; chip: string }> = {
  firing: { label: 'Firing', chip: 'chip-poor' },
  reminder: { label: 'Still firing', chip: 'chip-poor' },
  resolved: { label: 'Resolved', chip: 'chip-good' },
  delivered: { label: 'Delivered', chip: 'chip-good' },
  delivery_failed: { label: 'Delivery failed', chip: 'chip-fair' },
  delivery_abandoned: { label: 'Delivery given up', chip: 'chip-poor' },
  test_delivered: { label: 'Test delivered', chip: 'chip-good' },
  test_failed: { label: 'Test failed', chip: 'chip-poor' },
};

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Where a target sends, in one line. */
export function targetText(c: DeliveryConfigView): string {
  switch (c.delivery_type) {
    case 'email': return c.email;
    case 'slack': return c.slack_channel ? `${c.slack_channel} · ${c.slack_url}` : c.slack_url;
    case 'webhook': return c.url;
  }
}

function targetName(c: DeliveryConfigView): string {
  return `${DELIVERY_LABEL[c.delivery_type]} ${c.delivery_type === 'email' ? c.email : `#${c.id}`}`;
}

function when(iso: string): string {
  const d = new Date(iso);
  return d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function alertsView(ctx: AppContext): View {
  const alert = alertBox('alerts-alert');
  let configs: DeliveryConfigView[] = [];
  let alerts: AlertView[] = [];
  let destroyed = false;

  // ---------------------------------------------------------------- targets

  const targetBody = h('tbody', {}, h('tr', {}, h('td', { colspan: 3, class: 'empty' }, 'Loading targets…')));
  const createdTarget = h('div', { class: 'created', id: 'new-target', hidden: true });
  const targetAlert = alertBox('targets-alert');

  const targetType = h('select', { id: 'target-type', name: 'delivery_type' },
    (Object.keys(DELIVERY_LABEL) as DeliveryType[]).map((t) => h('option', { value: t }, DELIVERY_LABEL[t])));
  const emailInput = h('input', { type: 'text', id: 'target-email', inputmode: 'email', autocomplete: 'email', placeholder: 'ops@example.com', spellcheck: 'false' });
  const slackUrl = h('input', { type: 'text', id: 'target-slack-url', inputmode: 'url', placeholder: 'https://hooks.slack.com/services/…', spellcheck: 'false' });
  const slackChannel = h('input', { type: 'text', id: 'target-slack-channel', placeholder: '#alerts', spellcheck: 'false' });
  const hookUrl = h('input', { type: 'text', id: 'target-url', inputmode: 'url', placeholder: 'https://ops.example.com/cachier', spellcheck: 'false' });
  const field = (id: string, label: string, input: HTMLElement, help?: string) =>
    h('div', { class: 'field', 'data-field': id }, h('label', { for: input.id }, label), input, help ? h('p', { class: 'field-help' }, help) : null);
  const emailField = field('email', 'Email address', emailInput);
  const slackFields = [
    field('slack_url', 'Slack incoming-webhook URL', slackUrl),
    field('slack_channel', 'Channel (optional)', slackChannel),
  ];
  const hookField = field('url', 'Webhook URL', hookUrl, 'cachier POSTs JSON signed with X-Cachier-Signature: sha256=<HMAC of the body>; the secret is shown once, after adding.');
  const addTarget = h('button', { class: 'btn btn-primary', type: 'submit', id: 'add-target' }, 'Add target');
  const targetForm = h('form', { class: 'alerts-form', id: 'target-form', novalidate: true },
    field('delivery_type', 'Type', targetType), emailField, ...slackFields, hookField,
    h('div', { class: 'form-actions' }, addTarget));
  function showTargetFields(): void {
    const t = targetType.value as DeliveryType;
    emailField.hidden = t !== 'email';
    for (const f of slackFields) f.hidden = t !== 'slack';
    hookField.hidden = t !== 'webhook';
  }
  targetType.addEventListener('change', showTargetFields);
  showTargetFields();

  targetForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const t = targetType.value as DeliveryType;
    const body = t === 'email' ? { delivery_type: t, email: emailInput.value.trim() }
      : t === 'slack' ? { delivery_type: t, slack_url: slackUrl.value.trim(), ...(slackChannel.value.trim() ? { slack_channel: slackChannel.value.trim() } : {}) }
        : { delivery_type: t, url: hookUrl.value.trim() };
    addTarget.disabled = true;
    try {
      const made = await ctx.api.createAlertConfig(body);
      targetAlert.clear();
      for (const i of [emailInput, slackUrl, slackChannel, hookUrl]) i.value = '';
      if (made.secret) showSecret(made);
      ctx.notify(`${DELIVERY_LABEL[made.delivery_type]} target added.`, 'success');
      await loadTargets();
    } catch (e) {
      targetAlert.show(`Adding the target failed: ${message(e)}`);
    } finally {
      addTarget.disabled = false;
    }
  });

  function showSecret(made: NewDeliveryConfigView): void {
    const done = h('button', { class: 'btn btn-ghost btn-sm', type: 'button', id: 'new-target-done' }, 'Done');
    done.addEventListener('click', () => {
      createdTarget.hidden = true;
      createdTarget.replaceChildren();
    });
    replace(createdTarget,
      h('div', { class: 'created-head' }, h('h3', { class: 'card-title' }, 'Webhook added'), done),
      h('p', { class: 'created-warn' }, 'Copy the signing secret now: it is shown only this once. Check each request’s X-Cachier-Signature against it.'),
      h('dl', { class: 'kv' },
        h('dt', {}, 'URL'), h('dd', {}, h('code', {}, made.url)),
        h('dt', {}, 'Secret'), h('dd', {}, h('code', { class: 'secret', id: 'new-target-secret' }, made.secret!),
          copyButton('Copy the signing secret', () => made.secret!))));
    createdTarget.hidden = false;
    createdTarget.scrollIntoView({ block: 'nearest' });
  }

  function targetRow(c: DeliveryConfigView): HTMLElement {
    const test = h('button', { class: 'btn btn-secondary btn-sm', type: 'button', 'data-action': 'test', 'aria-label': `Send a test notification to ${targetName(c)}` },
      'Send test');
    test.addEventListener('click', async () => {
      test.disabled = true;
      test.textContent = 'Sending…';
      try {
        const r = await ctx.api.testAlertConfig(c.id);
        if (r.delivered) {
          targetAlert.show(`Test notification delivered to ${targetText(c)} (${r.detail}).`, 'success');
        } else {
          targetAlert.show(`Test notification to ${targetText(c)} failed: ${r.detail}`);
        }
      } catch (e) {
        if (!ctx.lostAccess(e)) targetAlert.show(`Sending the test notification failed: ${message(e)}`);
      } finally {
        test.disabled = false;
        test.textContent = 'Send test';
        void loadEvents();
      }
    });
    const del = h('button', { class: 'btn btn-danger-ghost btn-sm', type: 'button', 'data-action': 'delete', 'aria-label': `Delete ${targetName(c)}` },
      h('span', { 'aria-hidden': 'true' }, '×'), 'Delete');
    del.addEventListener('click', async () => {
      const users = alerts.filter((a) => a.delivery_config_id === c.id).length;
      const ok = await confirmDialog({
        title: `Delete the ${DELIVERY_LABEL[c.delivery_type].toLowerCase()} target?`,
        body: users
          ? `${users} ${users === 1 ? 'alert uses' : 'alerts use'} it: the API refuses until they are deleted or moved to another target.`
          : `Notifications stop going to ${targetText(c)}.`,
        confirmLabel: 'Delete target', danger: true,
      });
      if (!ok) return;
      try {
        await ctx.api.deleteAlertConfig(c.id);
        targetAlert.clear();
        ctx.notify('Target deleted.', 'success');
      } catch (e) {
        if (!ctx.lostAccess(e)) targetAlert.show(`Deleting the target failed: ${message(e)}`);
      }
      await loadTargets();
    });
    return h('tr', { 'data-config-id': String(c.id), 'data-type': c.delivery_type },
      h('th', { scope: 'row', 'data-label': 'Type' }, h('span', { class: 'chip chip-primary' }, DELIVERY_LABEL[c.delivery_type])),
      h('td', { class: 'wrap', 'data-label': 'Sends to' }, h('code', { class: 'target' }, targetText(c))),
      h('td', { class: 'right actions', 'data-label': 'Actions' }, h('div', { class: 'row-actions' }, test, del)));
  }

  const targetsPanel = h('section', { class: 'card panel', id: 'targets-panel', 'aria-labelledby': 'targets-title' },
    h('div', { class: 'panel-head' },
      h('div', {},
        h('h2', { class: 'card-title', id: 'targets-title' }, 'Delivery targets'),
        h('p', { class: 'panel-sub' }, 'Where alerts are sent: an email address, a Slack incoming webhook, or a signed webhook of your own.'))),
    targetAlert.el,
    createdTarget,
    h('div', { class: 'table-wrap' },
      h('table', { class: 'table responsive table-targets', id: 'targets-table' },
        h('caption', { class: 'sr-only' }, 'Delivery targets of this cache'),
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, 'Type'), h('th', { scope: 'col' }, 'Sends to'),
          h('th', { scope: 'col', class: 'right' }, h('span', { class: 'sr-only' }, 'Actions')))),
        targetBody)),
    h('h3', { class: 'form-title' }, 'Add a target'),
    targetForm);

  // ---------------------------------------------------------------- alerts

  const alertBody = h('tbody', {}, h('tr', {}, h('td', { colspan: 6, class: 'empty' }, 'Loading alerts…')));
  const alertsAlert = alertBox('alert-list-alert');
  let editing: AlertView | undefined;
  const triggerSelect = h('select', { id: 'alert-type', name: 'trigger_type' },
    (Object.keys(TRIGGERS) as Trigger[]).map((t) => h('option', { value: t }, TRIGGERS[t].label)));
  const threshold = h('input', { type: 'number', id: 'alert-threshold', min: 0, max: 100, step: 1, inputmode: 'numeric', value: '80' });
  const thresholdHelp = h('p', { class: 'field-help', id: 'alert-threshold-help' });
  const configSelect = h('select', { id: 'alert-target', name: 'delivery_config_id' });
  const description = h('input', { type: 'text', id: 'alert-description', placeholder: 'e.g. cache nearly full', maxlength: 200 });
  const enabledInput = h('input', { type: 'checkbox', id: 'alert-enabled', role: 'switch', checked: true });
  const saveAlert = h('button', { class: 'btn btn-primary', type: 'submit', id: 'save-alert' }, 'Add alert');
  const cancelEdit = h('button', { class: 'btn btn-ghost', type: 'button', id: 'cancel-edit', hidden: true }, 'Cancel');
  const formTitle = h('h3', { class: 'form-title', id: 'alert-form-title' }, 'Add an alert');
  const alertForm = h('form', { class: 'alerts-form', id: 'alert-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'alert-type' }, 'Type'), triggerSelect),
    h('div', { class: 'field' }, h('label', { for: 'alert-threshold' }, 'Threshold (%)'), threshold, thresholdHelp),
    h('div', { class: 'field' }, h('label', { for: 'alert-target' }, 'Target'), configSelect),
    h('div', { class: 'field field-wide' }, h('label', { for: 'alert-description' }, 'Description'), description),
    h('div', { class: 'field' }, h('span', { class: 'field-label' }, 'State'),
      h('label', { class: 'switch', for: 'alert-enabled' }, enabledInput, h('span', { class: 'switch-track', 'aria-hidden': 'true' }), h('span', {}, 'Enabled'))),
    h('div', { class: 'form-actions' }, saveAlert, cancelEdit));
  function renderThresholdHelp(): void {
    const t = TRIGGERS[triggerSelect.value as Trigger];
    thresholdHelp.textContent = `${t.help} Resolves 5 points ${t.side === 'below' ? 'above' : 'below'} it.`;
  }
  triggerSelect.addEventListener('change', renderThresholdHelp);
  renderThresholdHelp();

  function startEdit(a: AlertView): void {
    editing = a;
    triggerSelect.value = a.trigger_type;
    threshold.value = String(a.trigger_threshold);
    configSelect.value = String(a.delivery_config_id);
    description.value = a.description;
    enabledInput.checked = a.enabled;
    formTitle.textContent = `Edit alert ${a.id}`;
    saveAlert.textContent = 'Save changes';
    cancelEdit.hidden = false;
    alertForm.classList.add('is-editing');
    renderThresholdHelp();
    alertForm.scrollIntoView({ block: 'center' });
    threshold.focus();
  }
  function endEdit(): void {
    editing = undefined;
    formTitle.textContent = 'Add an alert';
    saveAlert.textContent = 'Add alert';
    cancelEdit.hidden = true;
    alertForm.classList.remove('is-editing');
    description.value = '';
    enabledInput.checked = true;
  }
  cancelEdit.addEventListener('click', endEdit);
  // A message about what was typed goes once it is being corrected.
  alertForm.addEventListener('input', () => alertsAlert.clear());
  targetForm.addEventListener('input', () => targetAlert.clear());

  alertForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const value = Number(threshold.value);
    if (threshold.value.trim() === '' || !Number.isInteger(value) || value < 0 || value > 100) {
      alertsAlert.show('The threshold is a whole number of percent, from 0 to 100.');
      threshold.focus();
      return;
    }
    if (!configSelect.value) {
      alertsAlert.show('Add a delivery target first: every alert is sent to one.');
      return;
    }
    const fields = {
      trigger_type: triggerSelect.value as Trigger, trigger_threshold: value, delivery_config_id: Number(configSelect.value),
      description: description.value.trim(), enabled: enabledInput.checked,
    };
    saveAlert.disabled = true;
    try {
      if (editing) {
        await ctx.api.updateAlert(editing.id, { id: editing.id, ...fields });
        ctx.notify(`Alert ${editing.id} saved.`, 'success');
        endEdit();
      } else {
        const made = await ctx.api.createAlert(fields);
        ctx.notify(`Alert ${made.id} added.`, 'success');
        description.value = '';
      }
      alertsAlert.clear();
    } catch (e) {
      if (!ctx.lostAccess(e)) alertsAlert.show(`Saving the alert failed: ${message(e)}`);
    } finally {
      saveAlert.disabled = false;
      await loadAlerts();
    }
  });

  function alertRow(a: AlertView): HTMLElement {
    const t = TRIGGERS[a.trigger_type];
    const config = configs.find((c) => c.id === a.delivery_config_id);
    const toggleId = `alert-enabled-${a.id}`;
    const toggle = h('input', { type: 'checkbox', id: toggleId, role: 'switch', checked: a.enabled, 'aria-label': `Alert ${a.id} enabled` });
    toggle.addEventListener('change', async () => {
      toggle.disabled = true;
      try {
        await ctx.api.updateAlert(a.id, { id: a.id, enabled: toggle.checked });
        ctx.notify(`Alert ${a.id} ${toggle.checked ? 'enabled' : 'disabled'}.`, 'success');
        alertsAlert.clear();
      } catch (e) {
        toggle.checked = !toggle.checked;
        if (!ctx.lostAccess(e)) alertsAlert.show(`Changing alert ${a.id} failed: ${message(e)}`);
      } finally {
        toggle.disabled = false;
        await loadAlerts();
      }
    });
    const edit = h('button', { class: 'btn btn-secondary btn-sm', type: 'button', 'data-action': 'edit', 'aria-label': `Edit alert ${a.id}` }, 'Edit');
    edit.addEventListener('click', () => startEdit(a));
    const del = h('button', { class: 'btn btn-danger-ghost btn-sm', type: 'button', 'data-action': 'delete', 'aria-label': `Delete alert ${a.id}` },
      h('span', { 'aria-hidden': 'true' }, '×'), 'Delete');
    del.addEventListener('click', async () => {
      const ok = await confirmDialog({
        title: `Delete alert ${a.id}?`,
        body: `${t.label} ${t.side} ${a.trigger_threshold}%${a.description ? ` (“${a.description}”)` : ''} stops being watched, and no resolution is sent for it.`,
        confirmLabel: 'Delete alert', danger: true,
      });
      if (!ok) return;
      try {
        await ctx.api.deleteAlert(a.id);
        if (editing?.id === a.id) endEdit();
        ctx.notify(`Alert ${a.id} deleted.`, 'success');
        alertsAlert.clear();
      } catch (e) {
        if (!ctx.lostAccess(e)) alertsAlert.show(`Deleting alert ${a.id} failed: ${message(e)}`);
      }
      await loadAlerts();
    });
    return h('tr', { 'data-alert-id': String(a.id), class: a.enabled ? '' : 'is-off' },
      h('th', { scope: 'row', 'data-label': 'Type' }, t.label),
      h('td', { 'data-label': 'Threshold', class: 'alert-threshold' }, `${t.side} ${a.trigger_threshold}%`),
      h('td', { 'data-label': 'Target' }, config ? targetName(config) : `config ${a.delivery_config_id}`),
      h('td', { class: 'wrap alert-description', 'data-label': 'Description' }, a.description || h('span', { class: 'muted' }, '—')),
      h('td', { 'data-label': 'Enabled' },
        h('label', { class: 'switch switch-only', for: toggleId }, toggle, h('span', { class: 'switch-track', 'aria-hidden': 'true' }))),
      h('td', { class: 'right actions', 'data-label': 'Actions' }, h('div', { class: 'row-actions' }, edit, del)));
  }

  const alertsPanel = h('section', { class: 'card panel', id: 'alerts-panel', 'aria-labelledby': 'alerts-title' },
    h('div', { class: 'panel-head' },
      h('div', {},
        h('h2', { class: 'card-title', id: 'alerts-title' }, 'Alerts'),
        h('p', { class: 'panel-sub' },
          'Checked every minute. An alert notifies once when it fires, once more a day while it stays firing, and once when it resolves.'))),
    alertsAlert.el,
    h('div', { class: 'table-wrap' },
      h('table', { class: 'table responsive table-alerts', id: 'alerts-table' },
        h('caption', { class: 'sr-only' }, 'Alerts of this cache'),
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, 'Type'), h('th', { scope: 'col' }, 'Threshold'), h('th', { scope: 'col' }, 'Target'),
          h('th', { scope: 'col' }, 'Description'), h('th', { scope: 'col' }, 'Enabled'),
          h('th', { scope: 'col', class: 'right' }, h('span', { class: 'sr-only' }, 'Actions')))),
        alertBody)),
    formTitle,
    alertForm);

  // ---------------------------------------------------------------- events

  const eventBody = h('tbody', {}, h('tr', {}, h('td', { colspan: 5, class: 'empty' }, 'Loading events…')));
  const refresh = h('button', { class: 'btn btn-secondary btn-sm', type: 'button', id: 'refresh-events' }, 'Refresh');
  refresh.addEventListener('click', () => void loadEvents());
  const eventsPanel = h('section', { class: 'card panel', id: 'events-panel', 'aria-labelledby': 'events-title' },
    h('div', { class: 'panel-head' },
      h('div', {},
        h('h2', { class: 'card-title', id: 'events-title' }, 'Events'),
        h('p', { class: 'panel-sub' }, 'The last 100 firings, resolutions, delivery attempts and test notifications, newest first.')),
      h('div', { class: 'panel-actions' }, refresh)),
    h('div', { class: 'table-wrap' },
      h('table', { class: 'table responsive table-events', id: 'events-table' },
        h('caption', { class: 'sr-only' }, 'Alert events of this cache'),
        h('thead', {}, h('tr', {},
          h('th', { scope: 'col' }, 'Time'), h('th', { scope: 'col' }, 'Event'), h('th', { scope: 'col' }, 'Alert'),
          h('th', { scope: 'col' }, 'Target'), h('th', { scope: 'col' }, 'Detail'))),
        eventBody)));

  function eventRow(e: AlertEvent): HTMLElement {
    const k = EVENT_KIND[e.kind];
    const what = e.alert_id === 0 ? 'test' : e.trigger_type
      ? `${e.alert_id}: ${TRIGGERS[e.trigger_type].label.toLowerCase()}${e.value !== null ? ` ${Math.round(e.value * 10) / 10}%` : ''}${e.trigger_threshold !== null ? ` (${TRIGGERS[e.trigger_type].side} ${e.trigger_threshold}%)` : ''}`
      : String(e.alert_id);
    const detail = [e.attempt !== null && e.alert_id !== 0 ? `attempt ${e.attempt}` : '', e.detail].filter(Boolean).join(' · ');
    return h('tr', { 'data-event-id': String(e.id), 'data-kind': e.kind },
      h('th', { scope: 'row', 'data-label': 'Time' }, h('time', { datetime: e.time }, when(e.time))),
      h('td', { 'data-label': 'Event' }, h('span', { class: `chip ${k.chip}` }, k.label)),
      h('td', { 'data-label': 'Alert' }, what),
      h('td', { 'data-label': 'Target' }, e.delivery_type ? DELIVERY_LABEL[e.delivery_type] : h('span', { class: 'muted' }, '—')),
      h('td', { class: 'wrap event-detail', 'data-label': 'Detail' }, detail || h('span', { class: 'muted' }, '—')));
  }

  // ---------------------------------------------------------------- loading

  function renderConfigs(): void {
    replace(targetBody, configs.length ? configs.map(targetRow)
      : h('tr', {}, h('td', { colspan: 3, class: 'empty' }, 'No targets yet: add one below.')));
    const keep = configSelect.value;
    replace(configSelect, configs.length
      ? configs.map((c) => h('option', { value: String(c.id) }, `${targetName(c)}${c.delivery_type === 'email' ? '' : ` · ${targetText(c)}`}`))
      : h('option', { value: '' }, 'No targets yet'));
    if (keep && configs.some((c) => String(c.id) === keep)) configSelect.value = keep;
    targetsPanel.dataset.count = String(configs.length);
  }

  function renderAlerts(): void {
    replace(alertBody, alerts.length ? alerts.map(alertRow)
      : h('tr', {}, h('td', { colspan: 6, class: 'empty' }, configs.length ? 'No alerts yet: add one below.' : 'No alerts yet: add a target, then an alert.')));
    alertsPanel.dataset.count = String(alerts.length);
  }

  async function loadTargets(): Promise<void> {
    try {
      configs = await ctx.api.alertConfigs();
      if (destroyed) return;
      renderConfigs();
      renderAlerts();
    } catch (e) {
      if (!ctx.lostAccess(e)) targetAlert.show(`Could not list the targets: ${message(e)}`);
    }
  }

  async function loadAlerts(): Promise<void> {
    try {
      alerts = await ctx.api.alerts();
      if (!destroyed) renderAlerts();
    } catch (e) {
      if (!ctx.lostAccess(e)) alertsAlert.show(`Could not list the alerts: ${message(e)}`);
    }
  }

  let loadingEvents = false;
  async function loadEvents(): Promise<void> {
    if (loadingEvents) return;
    loadingEvents = true;
    try {
      const events = await ctx.api.alertEvents();
      if (destroyed) return;
      replace(eventBody, events.length ? events.map(eventRow)
        : h('tr', {}, h('td', { colspan: 5, class: 'empty' }, 'Nothing yet. Send a test notification to see one here.')));
      eventsPanel.dataset.count = String(events.length);
    } catch (e) {
      if (!(e instanceof ApiRequestError && ctx.lostAccess(e))) alert.show(`Could not read the events: ${message(e)}`);
    } finally {
      loadingEvents = false;
    }
  }

  const el = h('div', { class: 'screen screen-alerts' },
    pageHead('Alerts', `Cache ${ctx.session.cacheId}: notifications when the hit rate drops or memory fills up.`),
    alert.el,
    targetsPanel,
    alertsPanel,
    eventsPanel);

  void (async () => {
    await Promise.all([loadTargets(), loadAlerts()]);
    if (!destroyed) renderAlerts();
  })();
  void loadEvents();
  const timer = setInterval(() => void loadEvents(), EVENTS_REFRESH_MS);

  return {
    el,
    destroy() {
      destroyed = true;
      clearInterval(timer);
    },
  };
}
