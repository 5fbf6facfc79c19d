// Cache: a North's queue and error store; selected error-store entries are retried (queued
// again) or deleted. The Souths' logs the North reads, with what they retain: the North sends
// again everything since an instant (a replay).

import { api } from '../api.js';
import { h, fill, labelled, num, count, toast, when } from '../dom.js';

const SHOWN = 500;

export async function cache(main, chosen) {
  const norths = await api('GET', '/api/north');
  const select = h('select', { id: 'cache-north' }, norths.map((n) => h('option', { value: n.id }, n.id)));
  if (chosen) select.value = chosen;
  const holder = h('div');

  // The error store says, for each entry, what it holds (file, or the first point ids), when it
  // was set aside and why (the destination's refusal, or the last error of the retries).
  const entries = (caption, id, list, errors) => {
    // One box selects (or clears) every entry shown, for an error store of hundreds.
    const all = errors ? h('input', { type: 'checkbox', id: 'select-all', 'aria-label': 'select every entry shown' }) : '';
    const table = h('table', { class: 'grid', id },
      h('caption', {}, `${caption}: ${num(list.length)} entr${list.length === 1 ? 'y' : 'ies'}${list.length > SHOWN ? ` (the first ${SHOWN} shown)` : ''}`),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, all),
        [['Key', 'n'], ['Kind'], ['Values', 'n'], ['Bytes', 'n'], [errors ? 'File or points' : 'File'],
          ...(errors ? [['Set aside'], ['Reason']] : [])].map(([c, cls]) => h('th', { scope: 'col', class: cls }, c)))),
      h('tbody', {}, list.slice(0, SHOWN).map((e) => h('tr', { 'data-key': e.key },
        h('td', {}, errors ? h('input', { type: 'checkbox', class: 'entry', 'aria-label': `select ${e.kind} ${e.key}`, 'data-key': e.key, 'data-kind': e.kind }) : ''),
        h('th', { scope: 'row', class: 'n' }, String(e.key)), h('td', {}, e.kind), h('td', { class: 'n' }, num(e.count)),
        h('td', { class: 'n' }, num(e.bytes)),
        h('td', { class: 'points' }, e.name || (e.points || []).join(', ') + (e.points && e.points.length >= 5 ? ' …' : '')),
        ...(errors ? [
          h('td', {}, e.failed_at ? when(e.failed_at) : ''),
          h('td', { class: 'reason' }, e.reason || '(set aside by an earlier version: no reason kept)'),
        ] : [])))));
    if (all) {
      const boxes = () => [...table.querySelectorAll('input.entry')];
      all.addEventListener('change', () => { for (const b of boxes()) b.checked = all.checked; });
      table.addEventListener('change', (e) => {
        if (e.target === all) return;
        const b = boxes();
        all.checked = b.length > 0 && b.every((x) => x.checked);
        all.indeterminate = !all.checked && b.some((x) => x.checked);
      });
    }
    return table;
  };

  const act = async (action) => {
    const boxes = [...holder.querySelectorAll('#cache-errors input.entry:checked')];
    if (boxes.length === 0) { toast('Select error-store entries first.', 'bad'); return; }
    const batches = boxes.filter((b) => b.dataset.kind === 'values').map((b) => Number(b.dataset.key));
    const files = boxes.filter((b) => b.dataset.kind === 'file').map((b) => Number(b.dataset.key));
    try {
      const r = await api('POST', `/api/north/${encodeURIComponent(select.value)}/cache/errors/${action}`, { batches, files });
      toast(`${r.entries} entr${r.entries === 1 ? 'y' : 'ies'} ${action === 'retry' ? 'queued again' : 'deleted'}`);
    } catch (e) { toast(e.message, 'bad'); }
    await draw();
  };

  // Each log: what it retains (a replay reaches back to its oldest value) and where this North
  // stands in it (the first value it has not sent yet).
  const logs = (list) => h('table', { class: 'grid', id: 'cache-logs' },
    h('caption', {}, `South logs read: ${num(list.length)}`),
    h('thead', {}, h('tr', {}, [['South'], ['Retained from'], ['to'], ['Values', 'n'], ['Bytes', 'n'], ['Not sent from']]
      .map(([c, cls]) => h('th', { scope: 'col', class: cls }, c)))),
    h('tbody', {}, list.map((l) => h('tr', { 'data-south': l.south },
      h('th', { scope: 'row' }, l.south),
      h('td', {}, l.oldest ? when(l.oldest) : 'nothing retained'), h('td', {}, l.newest ? when(l.newest) : ''),
      h('td', { class: 'n' }, num(l.retained_values)), h('td', { class: 'n' }, num(l.retained_bytes)),
      h('td', {}, l.next ? when(l.next) : 'all sent')))));

  const replay = (list) => {
    // A local date and time, an hour ago by default.
    const ago = new Date(Date.now() - 3600e3);
    const local = new Date(ago.getTime() - ago.getTimezoneOffset() * 60e3).toISOString().slice(0, 19);
    const since = h('input', { type: 'datetime-local', id: 'replay-since', step: '1', value: local });
    const south = h('select', { id: 'replay-south' },
      h('option', { value: '' }, 'every South'), list.map((l) => h('option', { value: l.south }, l.south)));
    const go = async () => {
      const at = new Date(since.value);
      if (Number.isNaN(at.getTime())) { toast('Choose a date and time to send again from.', 'bad'); return; }
      const body = { since: at.toISOString() };
      if (south.value) body.south = south.value;
      try {
        const r = await api('POST', `/api/north/${encodeURIComponent(select.value)}/cache/replay`, body);
        toast(`${count(r.values, 'value')} to send again`);
      } catch (e) { toast(e.message, 'bad'); }
      await draw();
    };
    return h('div', { class: 'actions' },
      labelled('Send again since', since), ' ', labelled('from', south), ' ',
      h('button', { type: 'button', id: 'replay', onclick: go }, 'Send again'));
  };

  const draw = async () => {
    if (!select.value) { fill(holder, h('p', {}, 'No North connector.')); return; }
    const listing = await api('GET', `/api/north/${encodeURIComponent(select.value)}/cache`);
    fill(holder,
      entries('Error store', 'cache-errors', listing.errors, true),
      h('div', { class: 'actions' },
        h('button', { type: 'button', id: 'retry-selected', onclick: () => act('retry') }, 'Retry selected'), ' ',
        h('button', { type: 'button', class: 'danger', id: 'delete-selected', onclick: () => act('delete') }, 'Delete selected'), ' ',
        h('button', { type: 'button', onclick: draw }, 'Refresh')),
      entries('Queue', 'cache-queue', listing.queued, false),
      ...(listing.logs.length ? [logs(listing.logs), replay(listing.logs)] : []));
  };
  select.addEventListener('change', () => { location.hash = `#/cache/${encodeURIComponent(select.value)}`; });
  fill(main, h('h1', {}, 'Cache'), h('div', { class: 'filters' }, labelled('North', select)), holder);
  await draw();
}
