// Overview: every connector with its state, plugin, rates, queue and last error, live from
// the status stream (one page of the filter at a time, so 1,000 connectors stay readable).

import { follow, query } from '../api.js';
import { h, fill, num, age, count, labelled, pager, lastPage, keepingFocus } from '../dom.js';

const PER_PAGE = 50;

/** Rates are measured over this many seconds (a North sends in groups, every few seconds). */
const WINDOW_S = 10;

function rate(now, samples, key, t) {
  const first = samples && samples[0];
  if (!first || t - first.t <= 0) return null;
  return Math.max(0, (now.counters[key] - first.c.counters[key]) / (t - first.t));
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
    h('thead', {}, h('tr', {}, ['Connector', 'Kind', 'Plugin', 'State', 'In /s', 'Out /s', 'Queued', 'Oldest queued', 'Error store', 'Last error']
      .map((c) => h('th', { scope: 'col' }, c)))),
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
      const kept = (samples.get(key) || []).filter((x) => t - x.t <= WINDOW_S);
      kept.push({ t, c });
      samples.set(key, kept);
      const south = c.kind === 'south';
      const inRate = south ? rate(c, kept, 'values_in', t) : null;
      const filesIn = south ? rate(c, kept, 'files_in', t) : null;
      const outRate = south ? null : rate(c, kept, 'values_sent', t);
      const filesOut = south ? null : rate(c, kept, 'files_sent', t);
      const cacheInfo = c.cache;
      const both = (v, f) => (v === null && f === null ? '–' : `${num(v, 1)}${f ? ` + ${num(f, 1)} files` : ''}`);
      return h('tr', { 'data-id': c.id, 'data-kind': c.kind },
        h('th', { scope: 'row' }, h('a', { href: `#/connector/${c.kind}/${encodeURIComponent(c.id)}`, 'data-key': `edit:${c.kind}/${c.id}` }, c.id), h('small', { class: 'type' }, ` ${c.type}`)),
        h('td', {}, south ? 'South' : 'North'),
        h('td', {}, c.plugin || '–'),
        h('td', {}, h('span', { class: `state ${c.state}` }, c.state)),
        h('td', { class: 'n' }, south ? both(inRate, filesIn) : '–'),
        h('td', { class: 'n' }, south ? '–' : both(outRate, filesOut)),
        h('td', { class: 'n' }, cacheInfo ? `${count(cacheInfo.queued_values, 'value')}${cacheInfo.queued_files ? `, ${count(cacheInfo.queued_files, 'file')}` : ''}` : '–'),
        h('td', { class: 'n' }, cacheInfo ? age(cacheInfo.oldest_queued_age_s) : '–'),
        h('td', { class: 'n' }, cacheInfo ? h('a', { href: `#/cache/${encodeURIComponent(c.id)}`, 'data-key': `cache:${c.id}`, class: cacheInfo.error_batches + cacheInfo.error_files ? 'bad' : '' }, `${count(cacheInfo.error_values, 'value')}${cacheInfo.error_files ? `, ${count(cacheInfo.error_files, 'file')}` : ''}`) : '–'),
        // Red while the last error holds; once the connector worked since, greyed and said so.
        c.last_error
          ? h('td', { class: c.failing ? 'error' : 'error resolved' }, c.failing ? c.last_error : `resolved: ${c.last_error}`)
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

  fill(main,
    h('h1', {}, 'Overview ', live),
    summary,
    h('div', { class: 'filters' }, labelled('Filter', q), labelled('Kind', kind), labelled('State', state)),
    table, paging);
  restart();
  return () => stop && stop();
}
