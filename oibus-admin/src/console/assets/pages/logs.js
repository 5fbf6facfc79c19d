// Logs: the engine's recent records (a bounded ring), filtered by connector, level and text,
// with a live tail.

import { api, follow, query } from '../api.js';
import { h, fill, labelled } from '../dom.js';

const SHOWN = 1000;

export async function logs(main, preset) {
  const connector = h('input', { type: 'text', id: 'logs-connector', value: preset || '', placeholder: 'a connector id' });
  const level = h('select', { id: 'logs-level' }, ['trace', 'debug', 'info', 'warn', 'error'].map((l) => h('option', { value: l }, l)));
  level.value = 'info';
  const text = h('input', { type: 'search', id: 'logs-text' });
  const tail = h('input', { type: 'checkbox', id: 'logs-tail', checked: true });
  const state = h('span', { class: 'live' });
  const body = h('tbody');
  let stop = null;

  const row = (r) => h('tr', { class: `level-${r.level}` },
    h('td', { class: 'time' }, new Date(r.time).toLocaleTimeString('en-GB', { hour12: false })),
    h('td', {}, r.level), h('td', {}, r.connector || ''), h('td', { class: 'message' }, r.message));

  const params = () => ({ connector: connector.value.trim(), level: level.value, text: text.value.trim() });
  let loads = 0;
  const load = async () => {
    const mine = ++loads;
    if (stop) { stop(); stop = null; }
    const { records } = await api('GET', `/api/logs${query({ ...params(), limit: 500 })}`);
    if (mine !== loads) return; // a newer filter is loading
    fill(body, records.slice().reverse().map(row));
    const last = records.length ? records[records.length - 1].seq : undefined;
    if (tail.checked) {
      stop = follow(`/api/logs/stream${query({ ...params(), after: last, limit: 500 })}`, 'message', (r) => {
        body.insertBefore(row(r), body.firstChild);
        while (body.children.length > SHOWN) body.lastChild.remove();
      }, (s) => { state.textContent = s; });
    } else state.textContent = 'paused';
  };
  let timer = null;
  for (const c of [connector, text]) c.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(load, 300); });
  level.addEventListener('change', load);
  tail.addEventListener('change', load);
  fill(main, h('h1', {}, 'Logs ', state),
    h('div', { class: 'filters' }, labelled('Connector', connector), labelled('At least', level), labelled('Text', text),
      h('div', { class: 'field' }, h('label', { for: 'logs-tail', class: 'inline' }, tail, ' Live'))),
    h('table', { class: 'grid', id: 'logs' },
      h('thead', {}, h('tr', {}, ['Time', 'Level', 'Connector', 'Message'].map((c) => h('th', { scope: 'col' }, c)))), body));
  await load();
  return () => stop && stop();
}
