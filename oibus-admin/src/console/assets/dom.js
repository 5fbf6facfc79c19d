// Small DOM helpers: every text goes through textContent, never innerHTML, so nothing a
// connector, a plugin or a log line contains can run as script in the console.

/** Creates an element: `h('button', {class: 'x', onclick: f}, 'Save')`. */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  add(el, children);
  return el;
}

function add(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) add(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** Replaces the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren();
  add(el, children);
  return el;
}

let ids = 0;
/** A fresh element id. */
export function uid(prefix) { ids += 1; return `${prefix || 'f'}-${ids}`; }

/** Shows a short message to the user (announced by screen readers). */
export function toast(text, kind) {
  const t = document.getElementById('toast');
  t.className = kind || 'ok';
  t.textContent = text;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.textContent = ''; t.className = ''; }, 6000);
}

/** A number with thousands separators; '–' for nothing. */
export function num(n, digits) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  return Number(n).toLocaleString('en-US', { maximumFractionDigits: digits ?? 0 });
}

/** `n` things: `count(1, 'value')` is "1 value", `count(3, 'value')` "3 values". */
export function count(n, what) {
  return `${num(n)} ${what}${n === 1 ? '' : 's'}`;
}

/** A duration in seconds, short. */
export function age(s) {
  if (s === null || s === undefined) return '–';
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** A labelled control: `<label>text</label>` + control. */
export function labelled(text, control, help) {
  if (!control.id) control.id = uid('c');
  return h('div', { class: 'field' },
    h('label', { for: control.id }, text), control,
    help ? h('small', { class: 'help' }, help) : null);
}

/** The offset of the last page of `total` rows, `per` a page. */
export function lastPage(per, total) {
  return Math.max(0, Math.floor((total - 1) / per) * per);
}

/** Pager buttons for `total` rows, `per` a page, calling `go(offset)`. */
export function pager(offset, per, total, go) {
  const last = lastPage(per, total);
  return h('div', { class: 'pager' },
    h('button', { type: 'button', 'data-key': 'pager:previous', disabled: offset <= 0, onclick: () => go(Math.max(0, offset - per)) }, '‹ Previous'),
    h('span', {}, total === 0 ? 'none' : `${offset + 1}–${Math.min(offset + per, total)} of ${num(total)}`),
    h('button', { type: 'button', 'data-key': 'pager:next', disabled: offset >= last, onclick: () => go(Math.min(last, offset + per)) }, 'Next ›'));
}

/**
 * Redraws part of a page without losing the keyboard focus: the element that had it is found
 * again by its `data-key` in what `redraw` made, and focused.
 */
export function keepingFocus(redraw) {
  const key = document.activeElement && document.activeElement.dataset && document.activeElement.dataset.key;
  redraw();
  if (!key) return;
  const again = document.querySelector(`[data-key="${CSS.escape(key)}"]`);
  if (again && !again.disabled) again.focus({ preventScroll: true });
}

/** Focuses the element with this `data-key`, if it is there. */
export function focusKey(key) {
  const el = document.querySelector(`[data-key="${CSS.escape(key)}"]`);
  if (el) el.focus();
}

/** An instant as the console shows it everywhere: local `YYYY-MM-DD HH:MM:SS`, its UTC form in
 * the tooltip (`title`). */
export function when(t) {
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return h('time', {}, '–');
  const p = (n) => String(n).padStart(2, '0');
  const local = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  return h('time', { datetime: d.toISOString(), title: `${d.toISOString()} (UTC)` }, local);
}
