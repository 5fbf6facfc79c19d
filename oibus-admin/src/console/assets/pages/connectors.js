// Connectors: the lists of Souths and Norths, and the editor of one: its form from the type's
// JSON Schema, the API's problems shown at their fields, test connection, start/stop, and a
// South's items (add, edit, delete, CSV import and export, test one item).

import { api } from '../api.js';
import { h, fill, labelled, pager, lastPage, keepingFocus, toast, num, focusKey } from '../dom.js';
import { sparkline } from '../chart.js';
import { schemaForm } from '../schema-form.js';
import { csvToItems, itemsToCsv } from '../csv.js';

const PER_PAGE = 50;

/** Values kept for an item's trend. */
const TREND = 60;

/** A message for the next editor drawn (after a creation moves to the new connector's page). */
let flash = null;

function table(kind, rows, states, offset, go, q, refresh) {
  const matching = rows.filter((c) => !q || `${c.id} ${c.type}`.toLowerCase().includes(q.toLowerCase()));
  const page = matching.slice(offset, offset + PER_PAGE);
  return h('section', {},
    h('h2', {}, kind === 'south' ? 'South connectors' : 'North connectors', ' ',
      h('a', { class: 'button', href: `#/connector/${kind}/+new`, id: `new-${kind}` }, kind === 'south' ? 'New South' : 'New North')),
    h('table', { class: 'grid', id: `${kind}-list` },
      h('thead', {}, h('tr', {}, ['Id', 'Type', 'Enabled', 'State', kind === 'south' ? 'Items' : 'Subscriptions', ''].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, page.map((c) => h('tr', { 'data-id': c.id },
        h('th', { scope: 'row' }, h('a', { href: `#/connector/${kind}/${encodeURIComponent(c.id)}`, 'data-key': `edit:${kind}/${c.id}` }, c.id)),
        h('td', {}, c.type),
        h('td', {}, c.enabled ? 'yes' : 'no'),
        h('td', {}, h('span', { class: `state ${states.get(`${kind}/${c.id}`) || ''}` }, states.get(`${kind}/${c.id}`) || '–')),
        h('td', { class: 'n' }, kind === 'south' ? num(c.items.length) : (c.subscriptions.length ? c.subscriptions.join(', ') : 'every South')),
        h('td', {}, runButtons(kind, c.id, states.get(`${kind}/${c.id}`), async () => (await refresh()).get(`${kind}/${c.id}`))))))),
    h('div', { 'data-pager': kind }, pager(offset, PER_PAGE, matching.length, go)));
}

/** States from which *Start* makes sense; *Stop* makes sense from every other but these. */
const STARTABLE = new Set(['stopped', 'failed', 'quarantined']);
const STOPPED = new Set(['stopped', 'stopping']);

/**
 * Start and Stop of a connector in `state` (unknown: both offered). Each says what the gateway
 * did only once `after` (a fresh read of the states) has run, so the row and the message agree.
 */
function runButtons(kind, id, state, after) {
  const run = async (what) => {
    try {
      await api('POST', `/api/${kind}/${encodeURIComponent(id)}/${what}`);
      const now = after ? await after() : undefined;
      toast(`${id}: ${what === 'start' ? 'started' : 'stopped'}${now ? ` (${now})` : ''}`);
    } catch (e) { toast(`${id}: ${e.message}`, 'bad'); }
  };
  const known = state !== undefined;
  return [h('button', { type: 'button', 'data-key': `start:${kind}/${id}`, disabled: known && !STARTABLE.has(state), onclick: () => run('start') }, 'Start'), ' ',
    h('button', { type: 'button', 'data-key': `stop:${kind}/${id}`, disabled: known && STOPPED.has(state), onclick: () => run('stop') }, 'Stop')];
}

export async function connectors(main) {
  const [south, north] = await Promise.all([api('GET', '/api/south'), api('GET', '/api/north')]);
  let states = new Map();
  const q = h('input', { type: 'search', id: 'conn-q', placeholder: 'id or type' });
  const offsets = { south: 0, north: 0 };
  const holder = h('div');
  const draw = () => keepingFocus(() => fill(holder,
    table('south', south, states, offsets.south, (o) => { offsets.south = o; draw(); }, q.value, refresh),
    table('north', north, states, offsets.north, (o) => { offsets.north = o; draw(); }, q.value, refresh)));
  // The states are read again every 2 s and after each start or stop: a row never says
  // `connected` for a connector just stopped.
  async function refresh() {
    const status = await api('GET', '/api/status');
    states = new Map(status.connectors.map((c) => [`${c.kind}/${c.id}`, c.state]));
    draw();
    return states;
  }
  q.addEventListener('input', () => { offsets.south = 0; offsets.north = 0; draw(); });
  fill(main, h('h1', {}, 'Connectors'), h('div', { class: 'filters' }, labelled('Filter', q)), holder);
  await refresh();
  const timer = setInterval(() => refresh().catch(() => {}), 2000);
  return () => clearInterval(timer);
}

/** Fields of a connector that the form does not draw one by one (edited as JSON). */
const ADVANCED = { south: ['history', 'isolation', 'plugin_version'], north: ['caching', 'isolation', 'plugin_version'] };

export async function editor(main, kind, id) {
  if (kind !== 'south' && kind !== 'north') throw new Error(`no connector kind ${kind}`);
  const creating = id === '+new';
  const types = (await api('GET', '/api/connector-types')).filter((t) => t.kind === kind);
  const scanModeNames = kind === 'south' ? (await api('GET', '/api/scan-modes')).map((m) => m.name) : [];
  const current = creating ? null : await api('GET', `/api/${kind}/${encodeURIComponent(id)}`);
  const title = creating ? `New ${kind === 'south' ? 'South' : 'North'}` : `${kind === 'south' ? 'South' : 'North'} ${id}`;
  const message = h('div', { class: 'summary', role: 'alert', id: 'editor-message' });
  const idInput = h('input', { type: 'text', id: 'connector-id', value: current ? current.id : '', disabled: !creating, required: true });
  const typeSelect = h('select', { id: 'connector-type', disabled: !creating },
    types.map((t) => h('option', { value: t.id, title: t.description }, `${t.name} (${t.id}, ${t.plugin} ${t.plugin_version})`)));
  if (current) {
    if (!types.some((t) => t.id === current.type)) typeSelect.appendChild(h('option', { value: current.type }, `${current.type} (its plugin is not loaded)`));
    typeSelect.value = current.type;
  }
  const enabled = h('input', { type: 'checkbox', id: 'connector-enabled', checked: current ? current.enabled : true });
  const query = h('input', { type: 'text', id: 'connector-query', value: current?.query || '', placeholder: 'the type\'s one query capability' });
  const subs = h('textarea', { id: 'connector-subscriptions', rows: 2, value: current?.subscriptions?.join('\n') || '' });
  const advanced = {};
  for (const k of ADVANCED[kind]) if (current && current[k] !== undefined) advanced[k] = current[k];
  const advancedArea = h('textarea', { id: 'connector-advanced', rows: 6, class: 'code', value: JSON.stringify(advanced, null, 2) });
  const settingsHolder = h('div', { id: 'settings-form' });
  let form = null;
  let items = current?.items ? current.items.map((i) => ({ ...i })) : [];
  const itemsHolder = h('div');
  const topSlots = {
    '/id': h('p', { class: 'problem', role: 'alert', hidden: true }),
    '/type': h('p', { class: 'problem', role: 'alert', hidden: true }),
  };

  const typeInfo = () => types.find((t) => t.id === typeSelect.value);
  const drawSettings = () => {
    const t = typeInfo();
    form = schemaForm(t ? t.settings_schema : {}, current && current.type === typeSelect.value ? current.settings : {}, '/settings', { editing: !!current });
    fill(settingsHolder, t ? h('p', { class: 'help' }, t.description) : '', form.el);
    if (kind === 'south') drawItems();
  };

  const body = () => {
    const out = { id: idInput.value.trim(), type: typeSelect.value, enabled: enabled.checked, settings: form.get() };
    if (kind === 'south') {
      if (query.value.trim()) out.query = query.value.trim();
      out.items = items;
    } else {
      out.subscriptions = subs.value.split('\n').map((s) => s.trim()).filter(Boolean);
    }
    let extra = {};
    try { extra = advancedArea.value.trim() ? JSON.parse(advancedArea.value) : {}; } catch (e) {
      throw new Error(`Advanced settings are not JSON: ${e.message}`);
    }
    return { ...out, ...extra };
  };

  const showProblems = (err) => {
    const problems = err.problems || [];
    for (const [p, slot] of Object.entries(topSlots)) {
      const mine = problems.filter((x) => x.pointer === p);
      slot.hidden = mine.length === 0;
      slot.textContent = mine.map((x) => x.message).join(' ');
    }
    const shown = form.showProblems(problems);
    const rest = problems.filter((p) => !p.pointer.startsWith('/settings') && !topSlots[p.pointer]);
    fill(message, h('p', { class: 'bad' }, err.message),
      rest.length ? h('ul', {}, rest.map((p) => h('li', {}, `${p.pointer}: ${p.message}`))) : '',
      shown ? h('p', {}, `${shown} problem(s) marked at their fields below.`) : '');
  };

  const save = async () => {
    let b;
    try { b = body(); } catch (e) { fill(message, h('p', { class: 'bad' }, e.message)); return; }
    try {
      if (creating) await api('POST', `/api/${kind}`, b);
      else await api('PUT', `/api/${kind}/${encodeURIComponent(id)}`, b);
      form.showProblems([]);
      Object.values(topSlots).forEach((s) => { s.hidden = true; });
      fill(message, h('p', { class: 'ok' }, `${b.id} saved and applied.`));
      toast(`${b.id} saved`);
      if (creating) {
        flash = `${b.id} saved and applied.`;
        location.hash = `#/connector/${kind}/${encodeURIComponent(b.id)}`;
      }
    } catch (e) { showProblems(e); }
  };

  const test = async () => {
    fill(message, h('p', {}, 'Testing the connection…'));
    try {
      // A saved connector's secrets are not in the form: the gateway fills them from its `id`.
      await api('POST', `/api/${kind}/test-connection`, { type: typeSelect.value, settings: form.get(), ...(creating ? {} : { id }) });
      fill(message, h('p', { class: 'ok' }, 'Connection test passed.'));
    } catch (e) { showProblems(e); }
  };

  const stateNow = async () => (await api('GET', '/api/status')).connectors.find((c) => c.kind === kind && c.id === id)?.state;

  // A North is deleted with its queue and error store. The gateway refuses while they hold
  // data and says what: the operator then confirms that losing it is meant.
  const remove = async () => {
    const what = kind === 'north' ? ' Its queue and error store are deleted with it.' : '';
    if (!window.confirm(`Delete ${id}?${what}`)) return;
    const path = `/api/${kind}/${encodeURIComponent(id)}`;
    try {
      try {
        await api('DELETE', path);
      } catch (e) {
        if (kind !== 'north' || e.status !== 409) throw e;
        if (!window.confirm(`${e.message}\n\nDelete ${id} and lose this data?`)) return;
        await api('DELETE', `${path}?discard_queue=true`);
      }
      toast(`${id} deleted`);
      location.hash = '#/connectors';
    } catch (e) { fill(message, h('p', { class: 'bad' }, e.message)); }
  };

  // Items of a South.
  let itemOffset = 0;
  const itemEditor = h('div', { id: 'item-editor' });
  const drawItems = () => keepingFocus(drawItemTable);
  const drawItemTable = () => {
    itemOffset = Math.min(itemOffset, lastPage(PER_PAGE, items.length));
    const t = typeInfo();
    const page = items.slice(itemOffset, itemOffset + PER_PAGE);
    fill(itemsHolder,
      h('h2', {}, `Items (${num(items.length)})`),
      h('div', { class: 'actions' },
        h('button', { type: 'button', 'data-key': 'item-add', onclick: () => editItem(null) }, 'Add item'), ' ',
        h('button', { type: 'button', onclick: exportCsv }, 'Export CSV'), ' ',
        h('label', { class: 'button' }, 'Import CSV',
          h('input', { type: 'file', id: 'import-csv', accept: '.csv,text/csv', class: 'hidden-file', onchange: importCsv }))),
      h('table', { class: 'grid', id: 'items' },
        h('thead', {}, h('tr', {}, ['Name', 'Enabled', 'Scan mode', 'Settings', ''].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, page.map((item, n) => h('tr', { 'data-item': item.name },
          h('th', { scope: 'row' }, item.name), h('td', {}, item.enabled === false ? 'no' : 'yes'), h('td', {}, item.scan_mode),
          h('td', { class: 'code' }, JSON.stringify(item.settings)),
          h('td', {},
            h('button', { type: 'button', 'data-key': `item-edit:${item.name}`, onclick: () => editItem(itemOffset + n) }, 'Edit'), ' ',
            t && t.item_schema ? h('button', { type: 'button', 'data-key': `item-test:${item.name}`, onclick: () => testItem(item) }, 'Test') : '', ' ',
            h('button', { type: 'button', onclick: () => { items.splice(itemOffset + n, 1); drawItems(); } }, 'Delete')))))),
      pager(itemOffset, PER_PAGE, items.length, (o) => { itemOffset = o; drawItems(); }),
      itemResult,
      h('p', { class: 'help' }, 'Item changes are applied when the connector is saved.'),
      itemEditor);
  };
  // An item's test result shows beside the items, where the button was pressed, not above the
  // form out of view; it is announced, and scrolled to.
  const itemResult = h('div', { id: 'item-result', role: 'status', tabindex: '-1' });

  const editItem = (index) => {
    const t = typeInfo();
    const item = index === null ? { name: '', enabled: true, scan_mode: items[0]?.scan_mode || '', settings: {} } : items[index];
    const name = h('input', { type: 'text', id: 'item-name', value: item.name });
    const on = h('input', { type: 'checkbox', id: 'item-enabled', checked: item.enabled !== false });
    // A choice among the gateway's scan modes (and subscription), not free text: a mistyped
    // name cannot be kept. A name the gateway does not know (an imported item) stays shown.
    const known = [...scanModeNames, 'subscription'];
    const current = item.scan_mode || known[0] || '';
    const scan = h('select', { id: 'item-scan-mode' },
      known.map((m) => h('option', { value: m }, m === 'subscription' ? 'subscription (pushed by the source)' : m)),
      known.includes(current) ? '' : h('option', { value: current }, `${current} (no such scan mode)`));
    scan.value = current;
    const modes = h('a', { href: '#/scan-modes', class: 'help' }, 'Add or change scan modes');
    const settings = schemaForm(t?.item_schema || {}, item.settings, `/items/${index ?? items.length}/settings`, { editing: index !== null });
    const problem = h('p', { class: 'problem', role: 'alert', hidden: true });
    fill(itemEditor, h('form', { class: 'item-form' },
      h('h3', {}, index === null ? 'New item' : `Item ${item.name}`),
      labelled('Name', name), h('div', { class: 'field' }, h('label', { for: 'item-enabled', class: 'inline' }, on, ' Enabled')),
      labelled('Scan mode (a scan mode name, or subscription)', scan), modes, settings.el, problem,
      h('button', { type: 'button', id: 'item-keep', onclick: () => {
        const n = name.value.trim();
        if (!n) { problem.hidden = false; problem.textContent = 'An item needs a name.'; return; }
        // The item's place now: rows deleted or a file imported while the form was open moved
        // it (or took it away: then it comes back as a new item).
        const at = index === null ? -1 : items.indexOf(item);
        if (items.some((i, k) => i.name === n && k !== at)) { problem.hidden = false; problem.textContent = `An item is already named ${n}.`; return; }
        const next = { name: n, enabled: on.checked, scan_mode: scan.value, settings: settings.get() };
        if (at < 0) items.push(next); else items[at] = next;
        fill(itemEditor);
        // Show the page holding the kept item, and give the keyboard back to its row.
        itemOffset = Math.floor(items.indexOf(next) / PER_PAGE) * PER_PAGE;
        drawItems();
        focusKey(`item-edit:${n}`);
      } }, 'Keep item'), ' ',
      h('button', { type: 'button', onclick: () => { fill(itemEditor); focusKey(index === null ? 'item-add' : `item-edit:${item.name}`); } }, 'Cancel')));
    name.focus();
  };

  const testItem = async (item) => {
    fill(itemResult, h('p', {}, `Reading ${item.name} once…`));
    itemResult.scrollIntoView({ block: 'nearest' });
    try {
      const r = await api('POST', '/api/south/test-item', { type: typeSelect.value, settings: form.get(), item: { name: item.name, settings: item.settings, scan_mode: item.scan_mode }, ...(creating ? {} : { id }) });
      const trend = remember(item.name, r.values);
      fill(itemResult, h('p', { class: 'ok' }, `${item.name}: ${r.values.length} value(s)`),
        trend.length > 1 ? h('figure', { class: 'trend' }, sparkline(trend, { label: `${item.name}: the last ${trend.length} values read` }),
          h('figcaption', {}, `Last ${trend.length} values read by the tests of ${item.name}: ${num(Math.min(...trend), 3)} to ${num(Math.max(...trend), 3)}`)) : '',
        h('pre', { class: 'code', id: 'test-item-values' }, r.values.slice(0, 20).map((v) => JSON.stringify(v)).join('\n')));
    } catch (e) { fill(itemResult, h('p', { class: 'bad' }, `${item.name}: ${e.message}`)); }
    itemResult.scrollIntoView({ block: 'nearest' });
  };

  // The numbers each item's tests read, newest last (at most TREND), for its trend.
  const tested = new Map();
  const remember = (name, values) => {
    // A value as OIBus writes it: `{pointId, timestamp, data: {value, quality}}`.
    const numbers = values.map((v) => (v.data ? v.data.value : v.value))
      .map((x) => (typeof x === 'string' && x.trim() !== '' ? Number(x) : x))
      .filter((x) => typeof x === 'number' && Number.isFinite(x));
    const kept = (tested.get(name) || []).concat(numbers).slice(-TREND);
    tested.set(name, kept);
    return kept;
  };

  function exportCsv() {
    const blob = new Blob([itemsToCsv(items)], { type: 'text/csv' });
    const a = h('a', { href: URL.createObjectURL(blob), download: `${idInput.value || 'items'}-items.csv` });
    document.body.appendChild(a);
    a.click();
    a.remove();
  }

  async function importCsv(e) {
    const file = e.target.files[0];
    if (!file) return;
    const { items: read, problems } = csvToItems(await file.text(), typeInfo()?.item_schema);
    if (problems.length) {
      fill(message, h('p', { class: 'bad' }, `${file.name} was not imported:`), h('ul', {}, problems.slice(0, 50).map((p) => h('li', {}, p))));
      return;
    }
    items = read;
    itemOffset = 0;
    drawItems();
    fill(message, h('p', { class: 'ok' }, `${num(read.length)} item(s) read from ${file.name}; save the connector to apply them.`));
  }

  typeSelect.addEventListener('change', drawSettings);
  fill(main,
    h('h1', {}, title), h('p', {}, h('a', { href: '#/connectors' }, '‹ All connectors')),
    message,
    h('form', { id: 'connector-form', onsubmit: (e) => { e.preventDefault(); save(); } },
      labelled('Id', idInput), topSlots['/id'], labelled('Type', typeSelect), topSlots['/type'],
      h('div', { class: 'field' }, h('label', { for: 'connector-enabled', class: 'inline' }, enabled, ' Enabled')),
      kind === 'south' ? labelled('Query (last-point, history, file or subscription)', query) : labelled('Subscriptions: South ids, one per line (none: every South)', subs),
      settingsHolder,
      h('details', {}, h('summary', {}, 'Advanced (JSON): ', ADVANCED[kind].join(', ')), labelled('Advanced settings', advancedArea)),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', id: 'save' }, creating ? 'Create' : 'Save'), ' ',
        h('button', { type: 'button', id: 'test-connection', onclick: test }, 'Test connection'), ' ',
        creating ? '' : runButtons(kind, id, undefined, stateNow), ' ',
        creating ? '' : h('button', { type: 'button', class: 'danger', onclick: remove }, 'Delete'))),
    kind === 'south' ? itemsHolder : '');
  drawSettings();
  if (flash) { fill(message, h('p', { class: 'ok' }, flash)); flash = null; }
  (creating ? idInput : main).focus();
}
