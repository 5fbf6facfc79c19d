// Overview: every connector with its state, plugin, rates, queue and last error, live from
// the status stream (one page of the filter at a time, so 1,000 connectors stay readable).

import { follow, query } from '../api.js';
import { h, fill, num, age, count, labelled, pager, lastPage, keepingFocus, when } from '../dom.js';
import { sparkline } from '../chart.js';

const PER_PAGE = 50;

/** Samples of each connector are kept this long (seconds): the trend's span. */
const KEEP_S = 120;
/** The shortest and longest window a rate is measured over (seconds). */
const MIN_WINDOW_S = 10;
const MAX_WINDOW_S = 120;
/** Points of each trend. */
const TREND = 60;

/**
 * The window that fits how `key` grows: twice the mean time between its increases (a South that
 * scans every 10 s is measured over 20 s, not shown 0 between scans), within the bounds.
 */
function windowFor(samples, key) {
  const changes = [];
  for (let i = 1; i < samples.length; i += 1) {
    if (samples[i].c.counters[key] > samples[i - 1].c.counters[key]) changes.push(samples[i].t);
  }
  if (changes.length < 2) return changes.length === 1 ? MAX_WINDOW_S : MIN_WINDOW_S;
  const every = (changes[changes.length - 1] - changes[0]) / (changes.length - 1);
  return Math.min(MAX_WINDOW_S, Math.max(MIN_WINDOW_S, 2 * every));
}

/** `key` per second over the window that fits it; `null` until two samples are there. */
function rate(samples, key) {
  const last = samples[samples.length - 1];
  if (!last) return null;
  const from = last.t - windowFor(samples, key);
  const first = samples.find((x) => x.t >= from) || samples[0];
  if (last.t - first.t <= 0) return null;
  return Math.max(0, (last.c.counters[key] - first.c.counters[key]) / (last.t - first.t));
}

/** A status text that starts with its instant (`2026-…Z: what`), the instant as elsewhere. */
function stamped(text) {
  const m = /^(\d{4}-\d\d-\d\dT[0-9:.]+Z): ([\s\S]*)$/.exec(text);
  return m ? [when(m[1]), ' ', m[2]] : text;
}

export async function overview(main) {
  const q = h('input', { type: 'search', id: 'ov-q', placeholder: 'id, type, plugin, error' });
  const kind = h('select', { id: 'ov-kind' }, h('option', { value: '' }, 'all'), h('option', { value: 'south' }, 'South'), h('option', { value: 'north' }, 'North'));
  const state = h('select', { id: 'ov-state' }, h('option', { value: '' }, 'any'));
  const summary = h('p', { class: 'summary' });
  const live = h('span', { class: 'live' }, 'connecting…');
  const body = h('tbody');
  const paging = h('div');
  let offset = 0;
  let stop = null;
  let samples = new Map();

  const table = h('table', { class: 'grid', id: 'overview' },
    h('caption', {}, 'Connectors'),
    h('thead', {}, h('tr', {}, [['Connector'], ['Kind'], ['Plugin'], ['State'], ['In /s', 'n'], ['Out /s', 'n'], ['Trend (2 min)'], ['Queued', 'n'], ['Oldest queued', 'n'], ['Error store', 'n'], ['Last error']]
      .map(([c, cls]) => h('th', { scope: 'col', class: cls }, c)))),
    body);

  const draw = (page) => {
    // Connectors removed since: back to the last page there is.
    if (offset > 0 && offset > lastPage(PER_PAGE, page.matching)) { offset = lastPage(PER_PAGE, page.matching); restart(); return; }
    keepingFocus(() => drawPage(page));
  };
  const drawPage = (page) => {
    const t = Date.parse(page.updated) / 1000;
    document.getElementById('engine').textContent = `engine ${page.engine}`;
    table.dataset.updated = page.updated;
    const states = Object.entries(page.by_state).map(([s, n]) => `${num(n)} ${s}`).join(', ');
    fill(updated, 'updated ', when(page.updated));
    // An empty gateway says what to do next, in the order that works.
    start.hidden = page.total !== 0;
    table.hidden = page.total === 0;
    fill(summary, `${num(page.total)} connectors: ${states || 'none'}`,
      page.refused_plugins ? h('a', { href: '#/plugins', class: 'bad' }, ` · ${page.refused_plugins} plugin file(s) refused`) : '',
      ` · add_values p50 ${num(page.add_values_latency_us[0] / 1000, 1)} ms, p99 ${num(page.add_values_latency_us[1] / 1000, 1)} ms`);
    if (state.options.length === 1 || state.dataset.known !== Object.keys(page.by_state).join()) {
      const chosen = state.value;
      fill(state, h('option', { value: '' }, 'any'), Object.keys(page.by_state).map((s) => h('option', { value: s }, s)));
      state.value = chosen;
      state.dataset.known = Object.keys(page.by_state).join();
    }
    fill(body, page.connectors.map((c) => {
      const key = `${c.kind}/${c.id}`;
      const mine = samples.get(key) || { kept: [], rates: [], queue: [] };
      mine.kept = mine.kept.filter((x) => t - x.t <= KEEP_S && x.t < t);
      mine.kept.push({ t, c });
      samples.set(key, mine);
      const { kept } = mine;
      const south = c.kind === 'south';
      const inRate = south ? rate(kept, 'values_in') : null;
      const filesIn = south ? rate(kept, 'files_in') : null;
      const outRate = south ? null : rate(kept, 'values_sent');
      const filesOut = south ? null : rate(kept, 'files_sent');
      const cacheInfo = c.cache;
      const shown = south ? inRate : outRate;
      if (shown !== null) mine.rates = mine.rates.concat(shown).slice(-TREND);
      if (cacheInfo) mine.queue = mine.queue.concat(cacheInfo.queued_values + cacheInfo.queued_files).slice(-TREND);
      const trend = h('td', { class: 'trend' },
        mine.rates.length > 1 ? sparkline(mine.rates, { label: `${c.id}: ${south ? 'values in' : 'values sent'} per second, last ${mine.rates.length} s` }) : '',
        mine.queue.length > 1 && Math.max(...mine.queue) > 0 ? sparkline(mine.queue, { label: `${c.id}: queued, last ${mine.queue.length} s`, kind: 'area' }) : '');
      const both = (v, f) => (v === null && f === null ? '–' : `${num(v, 1)}${f ? ` + ${num(f, 1)} files` : ''}`);
      return h('tr', { 'data-id': c.id, 'data-kind': c.kind },
        h('th', { scope: 'row' }, h('a', { href: `#/connector/${c.kind}/${encodeURIComponent(c.id)}`, 'data-key': `edit:${c.kind}/${c.id}` }, c.id), h('small', { class: 'type' }, ` ${c.type}`)),
        h('td', {}, south ? 'South' : 'North'),
        h('td', {}, c.plugin || '–'),
        h('td', {}, h('span', { class: `state ${c.state}` }, c.state)),
        h('td', { class: 'n' }, south ? both(inRate, filesIn) : '–'),
        h('td', { class: 'n' }, south ? '–' : both(outRate, filesOut)),
        trend,
        h('td', { class: 'n' }, cacheInfo ? `${count(cacheInfo.queued_values, 'value')}${cacheInfo.queued_files ? `, ${count(cacheInfo.queued_files, 'file')}` : ''}` : '–'),
        h('td', { class: 'n' }, cacheInfo ? age(cacheInfo.oldest_queued_age_s) : '–'),
        h('td', { class: 'n' }, cacheInfo ? h('a', { href: `#/cache/${encodeURIComponent(c.id)}`, 'data-key': `cache:${c.id}`, class: cacheInfo.error_batches + cacheInfo.error_files ? 'bad' : '' }, `${count(cacheInfo.error_values, 'value')}${cacheInfo.error_files ? `, ${count(cacheInfo.error_files, 'file')}` : ''}`) : '–'),
        // Red while the last error holds; once the connector worked since, greyed and said so.
        c.last_error
          ? h('td', { class: c.failing ? 'error' : 'error resolved' }, c.failing ? '' : 'resolved: ', stamped(c.last_error))
          : h('td', { class: 'error resolved' }, c.last_drop ? `dropped: ${c.last_drop}` : ''));
    }));
    fill(paging, pager(offset, PER_PAGE, page.matching, (o) => { offset = o; restart(); }));
  };

  const restart = () => {
    if (stop) stop();
    samples = new Map();
    const path = `/api/status/stream${query({ q: q.value, kind: kind.value, state: state.value, offset, limit: PER_PAGE })}`;
    stop = follow(path, 'status', draw, (s) => { live.textContent = s; });
  };
  let timer = null;
  q.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(() => { offset = 0; restart(); }, 250); });
  kind.addEventListener('change', () => { offset = 0; restart(); });
  state.addEventListener('change', () => { offset = 0; restart(); });

  const updated = h('span', { class: 'live', id: 'ov-updated' });
  const start = h('section', { class: 'start', id: 'getting-started', hidden: true },
    h('h2', {}, 'No connector yet: three steps to data flowing'),
    h('ol', {},
      h('li', {}, h('a', { href: '#/scan-modes' }, 'Scan modes'), ': when Souths read their items (every second, a cron schedule…). ',
        'One or more come with the configuration; add yours.'),
      h('li', {}, h('a', { href: '#/connector/north/+new', id: 'start-north' }, 'Add a North'), ': where the data goes (files, MQTT, NATS, OPC UA…). ',
        'It keeps what it receives in its cache until it is sent.'),
      h('li', {}, h('a', { href: '#/connector/south/+new', id: 'start-south' }, 'Add a South'), ': where the data comes from (Modbus, OPC UA, MQTT, SQL, a folder…), ',
        'then its items, by hand or from a CSV file. Test an item to see its value before saving.')),
    h('p', {}, 'The connector types offered are those of the plugins loaded: see ', h('a', { href: '#/plugins' }, 'Plugins'), ' to add one.'));
  fill(main,
    h('h1', {}, 'Overview ', live, ' ', updated),
    summary, start,
    h('div', { class: 'filters' }, labelled('Filter', q), labelled('Kind', kind), labelled('State', state)),
    table, paging);
  restart();
  return () => stop && stop();
}
