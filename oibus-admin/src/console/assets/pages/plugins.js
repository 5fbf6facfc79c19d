// Plugins: the plugins folder as `oibus plugins list` shows it, uploads of a plugin file and
// its signature, forced versions, and the last upgrade of every connector with its downtime.

import { api } from '../api.js';
import { h, fill, num, labelled, toast, keepingFocus, when } from '../dom.js';

function baseName(path) { return String(path).split(/[\\/]/).pop(); }

function signer(s) {
  if (!s) return '–';
  return s.key_id ? `${s.signature} (${s.key_id})` : s.signature;
}

export async function plugins(main) {
  const listing = h('div');
  const upgrades = h('div');
  const result = h('p', { class: 'summary', role: 'status' });

  const draw = async () => {
    const [p, status] = await Promise.all([api('GET', '/api/plugins'), api('GET', '/api/status')]);
    keepingFocus(() => drawTables(p, status));
  };
  const drawTables = (p, status) => {
    fill(listing, h('table', { class: 'grid', id: 'plugin-files' },
      h('caption', {}, 'Files of the plugins folder'),
      h('thead', {}, h('tr', {}, ['File', 'Plugin', 'Version', 'API', 'Signer', 'Status', ''].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, p.plugins.map((r) => {
        const m = r.manifest;
        const reason = r.reason || '';
        return h('tr', { 'data-file': baseName(r.file) },
          h('th', { scope: 'row' }, baseName(r.file)),
          h('td', {}, m ? m.id : r.declared || '–'),
          h('td', {}, m ? m.version : '–'),
          h('td', {}, m ? m.api_version : '–'),
          h('td', {}, signer(r.signer)),
          h('td', {}, h('span', { class: `state ${r.status}` }, r.status), reason ? h('div', { class: 'error' }, reason) : ''),
          h('td', {}, r.status === 'standby'
            ? h('button', { type: 'button', 'data-key': `force:${baseName(r.file)}`, onclick: () => act('/api/plugins/force', { file: baseName(r.file) }, `${baseName(r.file)} forced`) }, 'Force this version')
            : '',
          r.status !== 'ok'
            ? h('button', { type: 'button', 'data-key': `delete:${baseName(r.file)}`, onclick: () => remove(baseName(r.file)) }, 'Delete')
            : ''));
      }))));
    const loaded = h('table', { class: 'grid', id: 'loaded-versions' },
      h('caption', {}, 'Versions loaded in the engine'),
      h('thead', {}, h('tr', {}, ['Plugin', 'Version', 'In use', 'Signer', 'Size', ''].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, p.loaded_versions.map((v) => h('tr', {},
        h('th', { scope: 'row' }, v.id), h('td', {}, v.version), h('td', {}, v.in_use ? (v.forced ? 'yes (forced)' : 'yes') : 'standby'),
        h('td', {}, v.signer), h('td', { class: 'n' }, `${num(v.bytes / 1e6, 1)} MB`),
        h('td', {}, v.forced ? h('button', { type: 'button', 'data-key': `unforce:${v.id}`, onclick: () => act('/api/plugins/unforce', { id: v.id }, `${v.id}: back to its highest version`) }, 'Clear forced version') : '')))));
    listing.appendChild(loaded);
    const rows = status.connectors.filter((c) => c.last_upgrade);
    fill(upgrades, h('table', { class: 'grid', id: 'upgrades' },
      h('caption', {}, 'Last upgrade of each connector'),
      h('thead', {}, h('tr', {}, ['Connector', 'From', 'To', 'Downtime', 'When'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows.length === 0
        ? h('tr', {}, h('td', { colspan: 5 }, 'No upgrade since the engine started.'))
        : rows.map((c) => h('tr', {},
          h('th', { scope: 'row' }, c.id), h('td', {}, c.last_upgrade.from), h('td', {}, c.last_upgrade.to),
          h('td', { class: 'n' }, `${num(c.last_upgrade.downtime_ms, 2)} ms`), h('td', {}, when(c.last_upgrade.at)))))));
  };

  const act = async (path, body, done) => {
    try {
      await api('POST', path, body);
      toast(done);
    } catch (e) {
      toast(e.message, 'bad');
    }
    await draw();
  };

  // A file no connector runs on (refused, or a standby version) can go; the gateway refuses
  // to delete the one in use, and says which connectors run on it.
  const remove = async (file) => {
    if (!window.confirm(`Delete ${file} from the plugins folder? This cannot be undone.`)) return;
    try {
      await api('DELETE', `/api/plugins/files/${encodeURIComponent(file)}`);
      toast(`${file} deleted`);
    } catch (e) {
      toast(e.message, 'bad');
    }
    await draw();
  };

  const library = h('input', { type: 'file', id: 'upload-library', accept: '.so,.dll,.dylib' });
  const signature = h('input', { type: 'file', id: 'upload-signature', accept: '.minisig' });
  const form = h('form', { class: 'upload', id: 'upload' },
    h('h2', {}, 'Add or upgrade a plugin'),
    h('p', {}, 'The file goes into the plugins folder and is checked as any file put there: a newer version of a plugin in use upgrades its connectors at once.'),
    labelled('Plugin file (.so, .dll, .dylib)', library), labelled('Its signature (.minisig, if the gateway checks signatures)', signature),
    h('button', { type: 'submit' }, 'Upload'), result);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const file = library.files[0];
    if (!file) { result.textContent = 'Choose a plugin file first.'; return; }
    result.textContent = `Uploading ${file.name} (${num(file.size / 1e6, 1)} MB)…`;
    try {
      // The signature first, so the library is checked with it when it lands.
      if (signature.files[0]) {
        await api('PUT', `/api/plugins/files/${encodeURIComponent(`${file.name}.minisig`)}`, signature.files[0], true);
      }
      const reports = await api('PUT', `/api/plugins/files/${encodeURIComponent(file.name)}`, file, true);
      const mine = reports.find((r) => baseName(r.file) === file.name);
      result.textContent = mine
        ? `${file.name}: ${mine.status}${mine.manifest ? ` (${mine.manifest.id} ${mine.manifest.version})` : ''}${mine.reason ? `: ${mine.reason}` : ''}`
        : `${file.name} written`;
      form.reset();
    } catch (err) {
      result.textContent = `Upload refused: ${err.message}`;
    }
    await draw();
  });

  fill(main, h('h1', {}, 'Plugins'), listing, form, upgrades);
  await draw();
  const timer = setInterval(() => draw().catch(() => {}), 5000);
  return () => clearInterval(timer);
}
