// Logs: the engine's recent records (a bounded ring), filtered by connector, level and text,
// with a live tail.

import { api, follow, query } from '../api.js';
import { h, fill, labelled, when } from '../dom.js';

const SHOWN = 1000;

export async function logs(main, preset) {
  const connector = h('input', { type: 'search', id: 'logs-connector', value: preset || '', placeholder: 'part of a connector id' });
  const level = h('select', { id: 'logs-level' }, ['trace', 'debug', 'info', 'warn', 'error'].map((l) => h('option', { value: l }, l)));
  level.value = 'info';
  const text = h('input', { type: 'search', id: 'logs-text' });
  const tail = h('input', { type: 'checkbox', id: 'logs-tail', checked: true });
  const grouped = h('input', { type: 'checkbox', id: 'logs-group', checked: true });
  const state = h('span', { class: 'live' });
  const body = h('tbody');
  let stop = null;

  // Repeats grouped: records of one level whose messages differ only in numbers (the delay of
  // "next connection attempt in 3.2 s", an address's port) show as one row, the newest, with
  // how many and of which connectors, so that 30 offline connectors do not bury the rest.
  let groups = new Map();
  const shape = (r) => `${r.level}|${r.message.replace(/[0-9]+([.:][0-9]+)*/g, '#')}`;
  const plain = (r) => h('tr', { class: `level-${r.level}` },
    h('td', { class: 'time' }, when(r.time)),
    h('td', {}, r.level), h('td', {}, r.connector || ''), h('td', { class: 'message' }, r.message));
  const groupRow = (r, g) => {
    const tr = plain(r);
    if (g.count > 1) {
      const names = [...g.connectors];
      tr.classList.add('grouped');
      tr.cells[2].textContent = names.length > 3 ? `${names.slice(0, 3).join(', ')} +${names.length - 3}` : names.join(', ');
      tr.cells[3].appendChild(h('span', { class: 'repeats', title: `the same message ${g.count} times${names.length ? ` from ${names.join(', ')}` : ''}` }, ` ×${g.count}`));
    }
    return tr;
  };
  /** Adds `r` (newer than every row shown) at the top. */
  const add = (r) => {
    if (!grouped.checked) { body.insertBefore(plain(r), body.firstChild); return; }
    const key = shape(r);
    const g = groups.get(key) || { count: 0, connectors: new Set(), row: null };
    g.count += 1;
    if (r.connector) g.connectors.add(r.connector);
    if (g.row) g.row.remove();
    g.row = groupRow(r, g);
    g.row.dataset.group = key;
    groups.set(key, g);
    body.insertBefore(g.row, body.firstChild);
  };
  /** Keeps at most SHOWN rows; a group whose row goes is forgotten with it. */
  const trim = () => {
    while (body.children.length > SHOWN) {
      const gone = body.lastChild;
      if (gone.dataset.group) groups.delete(gone.dataset.group);
      gone.remove();
    }
  };

  const params = () => ({ connector: connector.value.trim(), level: level.value, text: text.value.trim() });
  let loads = 0;
  const load = async () => {
    const mine = ++loads;
    if (stop) { stop(); stop = null; }
    const { records } = await api('GET', `/api/logs${query({ ...params(), limit: 500 })}`);
    if (mine !== loads) return; // a newer filter is loading
    fill(body);
    groups = new Map();
    records.forEach(add);
    const last = records.length ? records[records.length - 1].seq : undefined;
    if (tail.checked) {
      stop = follow(`/api/logs/stream${query({ ...params(), after: last, limit: 500 })}`, 'message', (r) => {
        add(r);
        trim();
      }, (s) => { state.textContent = s; });
    } else state.textContent = 'paused';
  };
  let timer = null;
  for (const c of [connector, text]) c.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(load, 300); });
  level.addEventListener('change', load);
  tail.addEventListener('change', load);
  grouped.addEventListener('change', load);
  fill(main, h('h1', {}, 'Logs ', state),
    h('div', { class: 'filters' }, labelled('Connector', connector), labelled('At least', level), labelled('Text', text),
      h('div', { class: 'field' }, h('label', { for: 'logs-tail', class: 'inline' }, tail, ' Live')),
      h('div', { class: 'field' }, h('label', { for: 'logs-group', class: 'inline' }, grouped, ' Group repeats'))),
    h('table', { class: 'grid', id: 'logs' },
      h('thead', {}, h('tr', {}, ['Time', 'Level', 'Connector', 'Message'].map((c) => h('th', { scope: 'col' }, c)))), body));
  await load();
  return () => stop && stop();
}
