// Scan modes: when Souths read their items. Listed with the items that use each; created,
// changed (the running Souths using a changed mode start again with it) and deleted (refused,
// with the Souths named, while items use it).

import { api } from '../api.js';
import { h, fill, labelled, num, toast, focusKey } from '../dom.js';

function schedule(m) {
  return m.cron !== undefined && m.cron !== null ? `cron ${m.cron}` : `every ${m.every}`;
}

export async function scanModes(main) {
  const holder = h('div');
  const message = h('div', { class: 'summary', role: 'alert', id: 'scan-mode-message' });
  const name = h('input', { type: 'text', id: 'scan-mode-name', required: true, placeholder: 'every-10s' });
  const how = h('select', { id: 'scan-mode-kind' }, h('option', { value: 'every' }, 'every (a fixed interval)'), h('option', { value: 'cron' }, 'cron (a schedule)'));
  const value = h('input', { type: 'text', id: 'scan-mode-value', required: true, placeholder: '10s' });
  const hint = h('small', { class: 'help', id: 'scan-mode-hint' });
  const sayHint = () => {
    hint.textContent = how.value === 'every'
      ? 'An interval such as 500ms, 10s, 1m or 1h (at least 10ms): runs at whole multiples of it, without drift.'
      : 'Six fields with seconds: sec min hour day-of-month month day-of-week, e.g. 0 */5 * * * * (every 5 minutes).';
    value.placeholder = how.value === 'every' ? '10s' : '0 */5 * * * *';
  };
  how.addEventListener('change', sayHint);
  sayHint();

  const draw = async () => {
    const [modes, souths] = await Promise.all([api('GET', '/api/scan-modes'), api('GET', '/api/south')]);
    const users = (m) => souths.map((s) => [s.id, s.items.filter((i) => i.scan_mode === m.name).length]).filter(([, n]) => n > 0);
    fill(holder, h('table', { class: 'grid', id: 'scan-modes' },
      h('caption', {}, `Scan modes (${num(modes.length)})`),
      h('thead', {}, h('tr', {}, [['Name'], ['Schedule'], ['Used by'], ['']].map(([c]) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, modes.map((m) => h('tr', { 'data-mode': m.name },
        h('th', { scope: 'row' }, m.name), h('td', { class: 'code' }, schedule(m)),
        h('td', {}, users(m).map(([s, n]) => `${s} (${num(n)} item${n === 1 ? '' : 's'})`).join(', ') || 'no item'),
        h('td', {},
          h('button', { type: 'button', 'data-key': `mode-edit:${m.name}`, onclick: () => edit(m) }, 'Edit'), ' ',
          h('button', { type: 'button', class: 'danger', 'data-key': `mode-delete:${m.name}`, onclick: () => remove(m) }, 'Delete')))))));
  };
  const edit = (m) => {
    name.value = m.name;
    how.value = m.cron !== undefined && m.cron !== null ? 'cron' : 'every';
    value.value = how.value === 'cron' ? m.cron : m.every;
    sayHint();
    value.focus();
  };
  const remove = async (m) => {
    if (!window.confirm(`Delete scan mode ${m.name}?`)) return;
    try {
      await api('DELETE', `/api/scan-modes/${encodeURIComponent(m.name)}`);
      toast(`${m.name} deleted`);
      fill(message);
    } catch (e) { fill(message, h('p', { class: 'bad' }, e.message)); }
    await draw();
  };
  const form = h('form', { id: 'scan-mode-form', class: 'upload' },
    h('h2', {}, 'Add or change a scan mode'),
    labelled('Name', name), labelled('Kind', how), labelled('Value', value, ''), hint,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save scan mode')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const n = name.value.trim();
    try {
      await api('PUT', `/api/scan-modes/${encodeURIComponent(n)}`, { [how.value]: value.value.trim() });
      fill(message, h('p', { class: 'ok' }, `${n} saved and applied.`));
      toast(`${n} saved`);
      form.reset();
      sayHint();
      await draw();
      focusKey(`mode-edit:${n}`);
    } catch (err) { fill(message, h('p', { class: 'bad' }, err.message)); }
  });
  fill(main, h('h1', {}, 'Scan modes'),
    h('p', { class: 'help' }, 'A South reads each item at the times of its scan mode; items with the scan mode subscription are read as the source pushes them.'),
    message, holder, form);
  await draw();
}
