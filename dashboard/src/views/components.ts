/** Pieces every screen uses: page heading, confirmation dialog, copy button, alerts. */
import { h } from '../dom.ts';

export function pageHead(title: string, subtitle: Node | string, ...actions: Node[]): HTMLElement {
  return h('div', { class: 'page-head' },
    h('div', { class: 'page-titles' }, h('h1', { class: 'page-title' }, title), h('p', { class: 'page-sub' }, subtitle)),
    actions.length ? h('div', { class: 'page-actions' }, actions) : null,
  );
}

/** An inline message box; hidden while empty. */
export function alertBox(id: string): { el: HTMLElement; show(message: string, kind?: 'error' | 'success' | 'info'): void; clear(): void } {
  const text = h('span', { class: 'alert-text' });
  const close = h('button', { class: 'alert-close', type: 'button', 'aria-label': 'Dismiss message' }, '×');
  const el = h('div', { class: 'alert', id, role: 'alert', hidden: true }, text, close);
  close.addEventListener('click', () => (el.hidden = true));
  return {
    el,
    show(message, kind = 'error') {
      // Unchanged text is left alone, so a screen reader does not hear it again every refresh.
      if (!el.hidden && text.textContent === message && el.classList.contains(`alert-${kind}`)) return;
      el.className = `alert alert-${kind}`;
      text.textContent = message;
      el.hidden = false;
    },
    clear() {
      el.hidden = true;
      text.textContent = '';
    },
  };
}

export interface ConfirmOptions {
  readonly title: string;
  readonly body: string;
  readonly confirmLabel: string;
  readonly danger?: boolean;
}

/** A modal confirmation; resolves true only on the confirm button. */
export function confirmDialog(opts: ConfirmOptions): Promise<boolean> {
  return new Promise((resolve) => {
    const cancel = h('button', { class: 'btn btn-secondary', type: 'button', value: 'cancel' }, 'Cancel');
    const confirm = h('button', { class: `btn ${opts.danger ? 'btn-danger' : 'btn-primary'}`, type: 'button', value: 'confirm' },
      opts.confirmLabel);
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'dialog-title', 'aria-describedby': 'dialog-body' },
      h('h2', { class: 'dialog-title', id: 'dialog-title' }, opts.title),
      h('p', { class: 'dialog-body', id: 'dialog-body' }, opts.body),
      h('div', { class: 'dialog-actions' }, cancel, confirm),
    );
    let answer = false;
    cancel.addEventListener('click', () => dialog.close());
    confirm.addEventListener('click', () => {
      answer = true;
      dialog.close();
    });
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(answer);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}

/** Copies text; falls back to a hidden textarea where the Clipboard API is unavailable (plain http). */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through to the older way
  }
  const area = h('textarea', { class: 'offscreen', readonly: true, 'aria-hidden': 'true' });
  area.value = text;
  document.body.append(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}

export function copyButton(label: string, text: () => string, describedBy?: string): HTMLButtonElement {
  const button = h('button', { class: 'btn btn-secondary btn-sm copy-btn', type: 'button', 'aria-label': label, 'aria-describedby': describedBy },
    'Copy');
  let timer: ReturnType<typeof setTimeout> | undefined;
  button.addEventListener('click', async () => {
    const ok = await copyText(text());
    button.textContent = ok ? 'Copied' : 'Copy failed';
    button.classList.toggle('is-done', ok);
    clearTimeout(timer);
    timer = setTimeout(() => {
      button.textContent = 'Copy';
      button.classList.remove('is-done');
    }, 1800);
  });
  return button;
}
