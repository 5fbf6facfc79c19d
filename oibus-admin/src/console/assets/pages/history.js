// History: a history read of a South over a range, followed window by window.

import { api, follow, query } from '../api.js';
import { h, fill, labelled, num, when } from '../dom.js';

function local(d) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export async function history(main) {
  const souths = await api('GET', '/api/south');
  const select = h('select', { id: 'history-south' }, souths.map((s) => h('option', { value: s.id }, `${s.id} (${s.type})`)));
  const now = new Date();
  const start = h('input', { type: 'datetime-local', id: 'history-start', value: local(new Date(now - 3600e3)) });
  const end = h('input', { type: 'datetime-local', id: 'history-end', value: local(now) });
  const progress = h('progress', { id: 'history-progress', max: 1, value: 0 });
  const state = h('p', { id: 'history-state', role: 'status' }, 'No request yet.');
  let stop = null;

  const watch = () => {
    if (stop) stop();
    stop = follow(`/api/status/stream${query({ q: select.value, kind: 'south', limit: 1000 })}`, 'status', (page) => {
      const c = page.connectors.find((x) => x.id === select.value);
      const r = c && c.history_request;
      if (!r) { state.textContent = 'No history request for this South since the engine started.'; progress.value = 0; return; }
      progress.max = Math.max(1, r.windows);
      progress.value = r.windows_done;
      fill(state, `${r.state}: ${num(r.windows_done)} of ${num(r.windows)} window(s), `, when(r.start), ' to ', when(r.end), r.error ? ` — ${r.error}` : '');
    });
  };

  const form = h('form', { id: 'history-form' },
    labelled('South', select), labelled('From', start), labelled('To', end),
    h('button', { type: 'submit' }, 'Read history'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const body = { start: new Date(start.value).toISOString(), end: new Date(end.value).toISOString() };
    state.textContent = 'Starting…';
    // The request answers when the read is over; the status stream shows it meanwhile.
    api('POST', `/api/south/${encodeURIComponent(select.value)}/history`, body)
      .then((r) => { state.textContent = `done: ${num(r.windows)} window(s) read.`; progress.value = progress.max; })
      .catch((err) => { state.textContent = `refused: ${err.message}`; });
  });
  select.addEventListener('change', watch);
  fill(main, h('h1', {}, 'History'),
    h('p', {}, 'Reads a South\'s history over a range, window by window (its history settings), and sends it to the Norths as any data.'),
    form, progress, state);
  watch();
  return () => stop && stop();
}
