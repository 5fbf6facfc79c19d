// Items as CSV (RFC 4180 quoting), one column per item setting in dotted form
// (`settings.signal.type`), as OIBus exports them; imported cells are typed by the item schema.
//
// Two attacks are turned away here. A text cell that a spreadsheet would run as a formula
// (starting with = + - @, a tab or a carriage return: OWASP's CSV injection list) is exported
// behind a ' — the spreadsheet's own "this is text" mark — and a cell starting with ' has that
// one mark taken off on import, so names round-trip unchanged. A column whose dotted path names
// __proto__, prototype or constructor is refused: it would write into the page's objects
// (prototype pollution), not into an item's settings.

/** Parses CSV text into rows of cells. */
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i += 1; } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(cell); cell = ''; } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i += 1;
      row.push(cell); cell = '';
      if (row.length > 1 || row[0] !== '') rows.push(row);
      row = [];
    } else cell += c;
  }
  row.push(cell);
  if (row.length > 1 || row[0] !== '') rows.push(row);
  return rows;
}

/** Characters that make a spreadsheet read a cell as a formula, and the text mark. */
const FORMULA_START = /^[=+\-@\t\r']/;

/** The path segments that would reach an object's prototype instead of a setting. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'prototype', 'constructor']);

function quote(v) {
  let s = v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (typeof v === 'string' && FORMULA_START.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function flatten(value, prefix, out) {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, `${prefix}.${k}`, out);
  } else out[prefix] = value;
  return out;
}

/** The items as CSV text: name, enabled, scan_mode, then every setting. */
export function itemsToCsv(items) {
  const flat = items.map((i) => flatten(i.settings || {}, 'settings', {}));
  const columns = [...new Set(flat.flatMap((f) => Object.keys(f)))].sort();
  const lines = [['name', 'enabled', 'scan_mode', ...columns].join(',')];
  items.forEach((item, n) => {
    lines.push([item.name, item.enabled !== false, item.scan_mode, ...columns.map((c) => flat[n][c])].map(quote).join(','));
  });
  return `${lines.join('\r\n')}\r\n`;
}

function resolve(schema, root) {
  let s = schema || {};
  for (let i = 0; i < 16 && s.$ref; i += 1) {
    let t = root;
    for (const p of s.$ref.replace(/^#\//, '').split('/')) t = t && t[p];
    if (!t) break;
    s = t;
  }
  return s;
}

/** The JSON types the item schema allows at `path` (every alternative of a union). */
function typesAt(schema, root, path) {
  let level = [resolve(schema, root)];
  for (const key of path) {
    const next = [];
    for (const s of level) {
      for (const alt of [s, ...(s.oneOf || []), ...(s.anyOf || []), ...(s.allOf || [])]) {
        const r = resolve(alt, root);
        if (r.properties && r.properties[key]) next.push(resolve(r.properties[key], root));
      }
    }
    level = next;
  }
  const out = new Set();
  for (const s of level) {
    for (const alt of [s, ...(s.oneOf || []), ...(s.anyOf || [])]) {
      const r = resolve(alt, root);
      for (const t of [].concat(r.type || [])) out.add(t);
      if (r.const !== undefined) out.add(typeof r.const);
    }
  }
  return out;
}

/** A cell as written: one leading text mark (') taken off. */
function unmarked(text) {
  return text.startsWith("'") ? text.slice(1) : text;
}

function typed(cell, allowed) {
  if (cell === '') return undefined;
  const text = unmarked(cell);
  if (allowed.has('string') && !allowed.has('number') && !allowed.has('integer')) return text;
  try { return JSON.parse(text); } catch { return text; }
}

/**
 * Items from CSV text; problems name the line and column. Returns `{items, problems}`.
 */
export function csvToItems(text, itemSchema) {
  const rows = parseCsv(text);
  const problems = [];
  if (rows.length === 0) return { items: [], problems: ['the file is empty'] };
  const header = rows[0].map((c) => c.trim());
  const at = (name) => header.indexOf(name);
  if (at('name') < 0) return { items: [], problems: ['line 1: no "name" column'] };
  const forbidden = header.filter((c) => c.split('.').some((k) => FORBIDDEN_KEYS.has(k)));
  if (forbidden.length > 0) {
    return {
      items: [],
      problems: forbidden.map((c) => `line 1, column ${c}: ${c.split('.').find((k) => FORBIDDEN_KEYS.has(k))} is not a setting name (it would reach the page's objects, not the item)`),
    };
  }
  const items = [];
  const names = new Set();
  rows.slice(1).forEach((row, n) => {
    const line = n + 2;
    const name = unmarked((row[at('name')] || '').trim());
    if (!name) { problems.push(`line ${line}: the name is empty`); return; }
    if (names.has(name)) { problems.push(`line ${line}: the name ${name} is already on an earlier line`); return; }
    names.add(name);
    const enabledText = at('enabled') >= 0 ? (row[at('enabled')] || '').trim().toLowerCase() : 'true';
    if (!['true', 'false', ''].includes(enabledText)) problems.push(`line ${line}, column enabled: ${enabledText} is neither true nor false`);
    const item = { name, enabled: enabledText !== 'false', scan_mode: at('scan_mode') >= 0 ? unmarked((row[at('scan_mode')] || '').trim()) : '', settings: {} };
    header.forEach((column, i) => {
      if (!column.startsWith('settings.')) return;
      const path = column.split('.').slice(1);
      const value = typed(row[i] ?? '', typesAt(itemSchema || {}, itemSchema || {}, path));
      if (value === undefined) return;
      let o = item.settings;
      path.slice(0, -1).forEach((k) => { o[k] = Object.hasOwn(o, k) && o[k] && typeof o[k] === 'object' ? o[k] : {}; o = o[k]; });
      o[path[path.length - 1]] = value;
    });
    items.push(item);
  });
  return { items, problems };
}
