/** Small components: form fields with server errors, confirmation dialogs, tables with paging, notices. */
import { ApiError } from './api.js';
import { type Child, h, nextId, replace } from './dom.js';

export function fmtDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export { formatBytes as fmtBytes } from '../../../control/schemas/format.js';

export function badge(text: string, kind?: 'ok' | 'warn' | 'bad' | 'info'): HTMLElement {
  const k =
    kind ??
    (/^(active|ok|ready|verified|pass)/.test(text)
      ? 'ok'
      : /^(suspended|pending|disabled|warn)/.test(text)
        ? 'warn'
        : /^(offboarded|deleted|fail|unavailable|bad|revoked)/.test(text)
          ? 'bad'
          : 'info');
  return h('span', { class: `badge badge-${k}` }, text);
}

export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  return err instanceof Error ? err.message : String(err);
}

export function alertBox(err: unknown): HTMLElement {
  return h('div', { class: 'alert alert-error', role: 'alert' }, errorText(err));
}

export function notice(text: Child, kind: 'info' | 'ok' | 'warn' = 'info'): HTMLElement {
  return h('div', { class: `alert alert-${kind}`, role: 'status' }, text);
}

export function loading(label = 'Loading…'): HTMLElement {
  return h('p', { class: 'loading', role: 'status', 'aria-live': 'polite' }, label);
}

// ——— toasts (a polite live region) ———
let toastRegion: HTMLElement | null = null;
export function toast(text: string): void {
  if (!toastRegion) {
    toastRegion = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.appendChild(toastRegion);
  }
  const t = h('div', { class: 'toast' }, text);
  toastRegion.appendChild(t);
  setTimeout(() => t.remove(), 5000);
}

// ——— copy to clipboard ———
export function copyButton(text: string, label = 'Copy'): HTMLButtonElement {
  const b = h('button', { type: 'button', class: 'btn btn-small', 'aria-label': `${label}: ${text.slice(0, 60)}` }, label);
  b.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      toast('Copied to the clipboard');
    } catch {
      // No clipboard (plain http on a LAN): select the text for a manual copy.
      const ta = h('textarea', { class: 'copy-fallback', readonly: true, 'aria-label': 'Text to copy' }, text);
      b.after(ta);
      ta.select();
      toast('Press Ctrl+C to copy the selected text');
    }
  });
  return b;
}

// ——— forms ———
export interface FieldSpec {
  name: string;
  label: string;
  type?: 'text' | 'email' | 'password' | 'number' | 'select' | 'checkbox' | 'textarea' | 'datetime-local' | 'file' | 'search';
  value?: string | number | boolean | null;
  required?: boolean;
  help?: string;
  placeholder?: string;
  autocomplete?: string;
  options?: Array<[string, string]>;
  inputmode?: string;
  pattern?: string;
  maxlength?: number;
  accept?: string;
}

export interface FieldHandle {
  spec: FieldSpec;
  wrap: HTMLElement;
  input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
  error: HTMLElement;
}

export function field(spec: FieldSpec): FieldHandle {
  const id = nextId(spec.name.replace(/[^a-z0-9]/gi, '-'));
  const errId = `${id}-err`;
  const helpId = `${id}-help`;
  const describedBy = [spec.help ? helpId : null, errId].filter(Boolean).join(' ');
  let input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
  if (spec.type === 'select') {
    input = h(
      'select',
      { id, name: spec.name, 'aria-describedby': describedBy, required: spec.required },
      (spec.options ?? []).map(([v, l]) => h('option', { value: v }, l)),
    );
    if (spec.value !== undefined && spec.value !== null) input.value = String(spec.value);
  } else if (spec.type === 'textarea') {
    input = h('textarea', { id, name: spec.name, rows: 4, 'aria-describedby': describedBy, required: spec.required, placeholder: spec.placeholder }, spec.value == null ? '' : String(spec.value));
  } else {
    input = h('input', {
      id,
      name: spec.name,
      type: spec.type ?? 'text',
      'aria-describedby': describedBy,
      required: spec.required,
      placeholder: spec.placeholder,
      autocomplete: spec.autocomplete,
      inputmode: spec.inputmode,
      pattern: spec.pattern,
      maxlength: spec.maxlength,
      accept: spec.accept,
    });
    if (spec.type === 'checkbox') (input as HTMLInputElement).checked = Boolean(spec.value);
    else if (spec.value !== undefined && spec.value !== null) input.value = String(spec.value);
  }
  const error = h('p', { id: errId, class: 'field-error', 'aria-live': 'polite' });
  // The required marker is CSS (label.required::after), so the label's text is exactly spec.label.
  const label = h('label', { for: id, class: spec.required ? 'required' : null }, spec.label);
  const wrap =
    spec.type === 'checkbox'
      ? h('div', { class: 'field field-check' }, input, label, spec.help ? h('p', { id: helpId, class: 'help' }, spec.help) : null, error)
      : h('div', { class: 'field' }, label, input, spec.help ? h('p', { id: helpId, class: 'help' }, spec.help) : null, error);
  return { spec, wrap, input, error };
}

export type FormValues = Record<string, string | boolean | File | null>;

export interface FormOptions {
  fields: Array<FieldSpec | HTMLElement>;
  submitLabel: string;
  danger?: boolean;
  /** Throws ApiError to show validation errors next to the fields. */
  onSubmit: (values: FormValues, form: FormHandle) => Promise<void>;
  /** Maps server field paths (e.g. owner.email) to form field names. */
  fieldAlias?: Record<string, string>;
  extraButtons?: HTMLElement[];
  class?: string;
}

export interface FormHandle {
  el: HTMLFormElement;
  fields: Map<string, FieldHandle>;
  setErrors(err: unknown): void;
  clearErrors(): void;
}

export function form(opts: FormOptions): FormHandle {
  const fields = new Map<string, FieldHandle>();
  const general = h('div', { class: 'form-errors', 'aria-live': 'assertive' });
  const button = h('button', { type: 'submit', class: opts.danger ? 'btn btn-danger' : 'btn btn-primary' }, opts.submitLabel);
  const children: HTMLElement[] = [];
  for (const f of opts.fields) {
    if (f instanceof HTMLElement) children.push(f);
    else {
      const fh = field(f);
      fields.set(f.name, fh);
      children.push(fh.wrap);
    }
  }
  const el = h('form', { class: opts.class ?? 'form', novalidate: true }, general, children, h('div', { class: 'form-actions' }, button, opts.extraButtons ?? []));
  const handle: FormHandle = {
    el,
    fields,
    clearErrors() {
      replace(general);
      for (const f of fields.values()) {
        replace(f.error);
        f.input.removeAttribute('aria-invalid');
      }
    },
    setErrors(err: unknown) {
      handle.clearErrors();
      let placed = false;
      let first: FieldHandle | null = null;
      if (err instanceof ApiError) {
        for (const issue of err.issues) {
          const name = opts.fieldAlias?.[issue.field] ?? issue.field;
          const f = fields.get(name) ?? fields.get(name.split('.')[0]!) ?? fields.get(name.split('.').pop()!);
          if (f) {
            f.error.appendChild(h('span', null, issue.message));
            f.input.setAttribute('aria-invalid', 'true');
            first ??= f;
            placed = true;
          }
        }
        // Domain errors name their field in details.field (e.g. a refused reset destination).
        const df = typeof err.details?.field === 'string' ? fields.get(opts.fieldAlias?.[err.details.field] ?? err.details.field) : undefined;
        if (df) {
          df.error.appendChild(h('span', null, err.message));
          df.input.setAttribute('aria-invalid', 'true');
          first ??= df;
          placed = true;
        }
      }
      if (!placed) general.appendChild(alertBox(err));
      if (first) first.input.focus();
      else general.querySelector<HTMLElement>('[role=alert]')?.setAttribute('tabindex', '-1');
    },
  };
  el.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    handle.clearErrors();
    // Required fields are checked here too, so the message sits next to the field.
    for (const f of fields.values()) {
      if (f.spec.required && f.spec.type !== 'checkbox' && !String(f.input.value).trim()) {
        f.error.appendChild(h('span', null, `${f.spec.label} is required`));
        f.input.setAttribute('aria-invalid', 'true');
        f.input.focus();
        return;
      }
    }
    const values: FormValues = {};
    for (const [name, f] of fields) {
      if (f.input instanceof HTMLInputElement && f.input.type === 'checkbox') values[name] = f.input.checked;
      else if (f.input instanceof HTMLInputElement && f.input.type === 'file') values[name] = f.input.files?.[0] ?? null;
      else values[name] = f.input.value;
    }
    button.disabled = true;
    el.setAttribute('aria-busy', 'true');
    try {
      await opts.onSubmit(values, handle);
    } catch (err) {
      handle.setErrors(err);
    } finally {
      button.disabled = false;
      el.removeAttribute('aria-busy');
    }
  });
  return handle;
}

/** Trimmed string or undefined (optional fields). */
export const opt = (v: FormValues[string]): string | undefined => {
  const s = typeof v === 'string' ? v.trim() : '';
  return s ? s : undefined;
};

// ——— confirmation dialog ———
export interface ConfirmOptions {
  title: string;
  /** The object the action touches, named in the dialog (and typed back for destructive actions). */
  objectName: string;
  body?: Child;
  confirmLabel: string;
  danger?: boolean;
  requireTyping?: boolean;
  /** Ask for a reason (recorded in the audit log). */
  reason?: boolean;
}

export function confirmDialog(o: ConfirmOptions): Promise<{ reason: string } | null> {
  return new Promise((resolve) => {
    const titleId = nextId('dlg');
    const typed = o.requireTyping ? field({ name: 'confirmName', label: `Type ${o.objectName} to confirm`, required: true, autocomplete: 'off' }) : null;
    const reason = o.reason ? field({ name: 'reason', label: 'Reason (recorded in the audit log)', type: 'text', maxlength: 500 }) : null;
    const ok = h('button', { type: 'submit', class: o.danger ? 'btn btn-danger' : 'btn btn-primary' }, o.confirmLabel);
    const cancel = h('button', { type: 'button', class: 'btn' }, 'Cancel');
    const dlg = h(
      'dialog',
      { class: 'dialog', 'aria-labelledby': titleId },
      h(
        'form',
        { method: 'dialog', class: 'form' },
        h('h2', { id: titleId }, o.title),
        h('p', null, h('strong', { class: 'object-name' }, o.objectName)),
        o.body ?? null,
        reason?.wrap,
        typed?.wrap,
        h('div', { class: 'form-actions' }, ok, cancel),
      ),
    );
    const done = (v: { reason: string } | null) => {
      dlg.close();
      dlg.remove();
      resolve(v);
    };
    if (typed) {
      ok.disabled = true;
      typed.input.addEventListener('input', () => {
        ok.disabled = typed.input.value.trim() !== o.objectName;
      });
    }
    cancel.addEventListener('click', () => done(null));
    dlg.addEventListener('cancel', (ev) => {
      ev.preventDefault();
      done(null);
    });
    dlg.querySelector('form')!.addEventListener('submit', (ev) => {
      ev.preventDefault();
      if (typed && typed.input.value.trim() !== o.objectName) return;
      done({ reason: reason ? reason.input.value.trim() : '' });
    });
    document.body.appendChild(dlg);
    dlg.showModal();
    (typed?.input ?? reason?.input ?? cancel).focus();
  });
}

// ——— tables ———
export interface Column<T> {
  label: string;
  cell: (row: T) => Child;
  class?: string;
}

export function table<T>(columns: Column<T>[], rows: T[], caption?: string, empty = 'Nothing here yet.'): HTMLElement {
  if (!rows.length) return h('p', { class: 'empty' }, empty);
  return h(
    'div',
    { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': caption ?? 'table' },
    h(
      'table',
      null,
      caption ? h('caption', { class: 'sr-only' }, caption) : null,
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          columns.map((c) => h('th', { scope: 'col', class: c.class }, c.label)),
        ),
      ),
      h(
        'tbody',
        null,
        rows.map((r) =>
          h(
            'tr',
            null,
            columns.map((c) => h('td', { class: c.class, 'data-label': c.label }, c.cell(r))),
          ),
        ),
      ),
    ),
  );
}

export interface PagedListOptions<T> {
  caption: string;
  columns: Column<T>[];
  pageSize?: number;
  /** Filters shown above the table; their values go to `load` as query. */
  filters?: FieldSpec[];
  load: (query: Record<string, string>, page: { limit: number; after: string | null }) => Promise<T[]>;
  cursor: (row: T) => string;
  empty?: string;
}

/** A list with search/filters and cursor pagination (limit + after, as every list endpoint takes). */
export function pagedList<T>(o: PagedListOptions<T>): HTMLElement & { reload: () => Promise<void> } {
  const limit = o.pageSize ?? 25;
  const out = h('div', { class: 'paged-body', 'aria-live': 'polite' });
  const status = h('p', { class: 'page-status' });
  const prev = h('button', { type: 'button', class: 'btn btn-small' }, '← Previous');
  const next = h('button', { type: 'button', class: 'btn btn-small' }, 'Next →');
  const stack: Array<string | null> = [];
  let after: string | null = null;
  let query: Record<string, string> = {};
  const filterFields = (o.filters ?? []).map((f) => field(f));
  const filterForm = filterFields.length
    ? h(
        'form',
        { class: 'filters', role: 'search', 'aria-label': `Filter ${o.caption}` },
        filterFields.map((f) => f.wrap),
        h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn' }, 'Apply')),
      )
    : null;
  const run = async () => {
    replace(out, loading());
    try {
      const rows = await o.load(query, { limit: limit + 1, after });
      const more = rows.length > limit;
      const shown = rows.slice(0, limit);
      replace(out, table(o.columns, shown, o.caption, o.empty));
      prev.disabled = stack.length === 0;
      next.disabled = !more;
      next.onclick = () => {
        stack.push(after);
        after = o.cursor(shown[shown.length - 1]!);
        void run();
      };
      status.textContent = `Page ${stack.length + 1}${shown.length ? ` · ${shown.length} shown` : ''}`;
    } catch (err) {
      replace(out, alertBox(err));
    }
  };
  prev.onclick = () => {
    after = stack.pop() ?? null;
    void run();
  };
  filterForm?.addEventListener('submit', (ev) => {
    ev.preventDefault();
    query = {};
    for (const f of filterFields) {
      const v = f.input instanceof HTMLInputElement && f.input.type === 'checkbox' ? (f.input.checked ? 'true' : '') : f.input.value.trim();
      if (v) query[f.spec.name] = v;
    }
    stack.length = 0;
    after = null;
    void run();
  });
  for (const f of filterFields) if (f.input instanceof HTMLSelectElement) f.input.addEventListener('change', () => filterForm?.requestSubmit());
  const el = h('div', { class: 'paged' }, filterForm, out, h('div', { class: 'pager' }, prev, status, next)) as unknown as HTMLElement & { reload: () => Promise<void> };
  el.reload = run;
  void run();
  return el;
}

/** A collapsible section with a heading (keyboard-accessible via <details>). */
export function section(title: string, ...children: Child[]): HTMLElement {
  return h('section', { class: 'card' }, h('h2', null, title), children);
}

export function dl(pairs: Array<[string, Child]>): HTMLElement {
  return h(
    'dl',
    { class: 'kv' },
    pairs.map(([k, v]) => [h('dt', null, k), h('dd', null, v ?? '—')]),
  );
}

/** An event handler whose failures are announced instead of lost. */
export function guard(fn: (ev: Event) => Promise<void>): (ev: Event) => void {
  return (ev) => {
    fn(ev).catch((err: unknown) => toast(`Failed: ${errorText(err)}`));
  };
}
