// Forms from a connector type's JSON Schema (as schemars writes them): objects and nested
// objects ($ref into $defs), optional objects (anyOf [X, null]), enums (enum, or oneOf of
// consts), tagged unions (oneOf of objects told apart by a const property), maps
// (additionalProperties: keys and values), arrays of values and of objects, integers, numbers, booleans, strings, and secrets (writeOnly) as password
// fields that start empty: left empty, the gateway keeps the secret it has.
//
// `schemaForm(schema, value, base)` returns `{ el, get(), showProblems(problems) }`; `get()`
// gives the value (an empty field is left out, so the plugin's default applies), and each
// problem of the API is shown at the field its JSON pointer names (under `base`, e.g.
// `/settings`).

import { h, uid } from './dom.js';

function resolve(schema, root) {
  let s = schema || {};
  for (let i = 0; i < 16 && s.$ref; i += 1) {
    const path = s.$ref.replace(/^#\//, '').split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    let t = root;
    for (const p of path) t = t && t[p];
    if (!t) break;
    const rest = { ...s };
    delete rest.$ref;
    s = { ...t, ...rest };
  }
  return s;
}

function types(s) {
  if (Array.isArray(s.type)) return s.type;
  return s.type ? [s.type] : [];
}

/** The alternative of `anyOf: [X, {type: null}]` that is not null, if that is its shape. */
function nullableOf(s, root) {
  const alts = s.anyOf || s.oneOf;
  if (!alts || alts.length !== 2) return null;
  const rs = alts.map((a) => resolve(a, root));
  const nul = rs.findIndex((a) => types(a).length === 1 && types(a)[0] === 'null');
  if (nul < 0) return null;
  return rs[1 - nul];
}

/** Enum choices `[{value, text}]`, from `enum` or a oneOf of consts. */
function choices(s, root) {
  if (Array.isArray(s.enum)) return s.enum.filter((v) => v !== null).map((v) => ({ value: v, text: String(v) }));
  const alts = s.oneOf || s.anyOf;
  if (alts && alts.every((a) => resolve(a, root).const !== undefined)) {
    return alts.map((a) => { const r = resolve(a, root); return { value: r.const, text: String(r.const), help: r.description }; });
  }
  return null;
}

/** The tag property of a tagged union, if every alternative has one const property in common. */
function tagOf(s, root) {
  const alts = s.oneOf || s.anyOf;
  if (!alts || alts.length < 2) return null;
  const rs = alts.map((a) => resolve(a, root));
  if (!rs.every((a) => a.properties)) return null;
  const first = Object.entries(rs[0].properties).find(([, p]) => resolve(p, root).const !== undefined);
  if (!first) return null;
  const tag = first[0];
  if (!rs.every((a) => a.properties[tag] && resolve(a.properties[tag], root).const !== undefined)) return null;
  return { tag, variants: rs.map((a) => ({ value: resolve(a.properties[tag], root).const, schema: a })) };
}

function help(s) {
  const bits = [];
  if (s.description) bits.push(s.description.replace(/\n/g, ' '));
  const said = s.description && /\bdefault\b/i.test(s.description);
  if (!said && s.default !== undefined && s.default !== null && typeof s.default !== 'object') bits.push(`Default: ${s.default}.`);
  return bits.length ? h('small', { class: 'help' }, bits.join(' ')) : null;
}

function errorSlot() { return h('p', { class: 'problem', role: 'alert', hidden: true }); }

/** The form of one value at `pointer`; fields register their error slots in `slots`. */
function field(name, schema, value, root, pointer, required, slots, secretKept) {
  const s = resolve(schema, root);
  const slot = errorSlot();
  slots.set(pointer, slot);
  const label = `${name}${required ? ' *' : ''}`;

  const inner = nullableOf(s, root);
  if (inner && (inner.properties || tagOf(inner, root))) {
    // An optional object: a switch, and its fields when on.
    const id = uid('opt');
    const on = h('input', { type: 'checkbox', id, checked: value !== undefined && value !== null });
    const sub = field(name, inner, value ?? {}, root, pointer, false, slots, secretKept);
    const box = h('div', { class: 'optional' }, sub.el);
    box.hidden = !on.checked;
    on.addEventListener('change', () => { box.hidden = !on.checked; });
    return {
      el: h('div', { class: 'field' }, h('label', { for: id, class: 'inline' }, on, ` ${label} (set)`), help(s), box, slot),
      get: () => (on.checked ? sub.get() ?? {} : undefined),
    };
  }
  const base = inner || s;

  const enumChoices = choices(base, root);
  if (enumChoices) {
    const id = uid('sel');
    const dflt = base.default ?? s.default;
    const select = h('select', { id },
      required ? null : h('option', { value: '' }, dflt !== undefined && dflt !== null ? `(default: ${dflt})` : '(none)'),
      enumChoices.map((c) => h('option', { value: JSON.stringify(c.value), title: c.help }, c.text)));
    if (value !== undefined && value !== null) select.value = JSON.stringify(value);
    else if (required && dflt !== undefined) select.value = JSON.stringify(dflt);
    return {
      el: h('div', { class: 'field' }, h('label', { for: id }, label), select, help(s), slot),
      get: () => (select.value === '' ? undefined : JSON.parse(select.value)),
    };
  }

  const union = tagOf(base, root);
  if (union) {
    const id = uid('union');
    const dflt = (value && value[union.tag]) ?? (s.default && s.default[union.tag]) ?? union.variants[0].value;
    const select = h('select', { id }, union.variants.map((v) => h('option', { value: JSON.stringify(v.value), title: v.schema.description }, String(v.value))));
    select.value = JSON.stringify(dflt);
    const holder = h('div', { class: 'variant' });
    let current = null;
    const show = () => {
      const tagValue = JSON.parse(select.value);
      const variant = union.variants.find((v) => v.value === tagValue);
      const props = { ...variant.schema.properties };
      delete props[union.tag];
      const keep = value && value[union.tag] === tagValue ? value : {};
      current = object({ ...variant.schema, properties: props }, keep, root, pointer, slots, secretKept);
      holder.replaceChildren(variant.schema.description ? h('small', { class: 'help' }, variant.schema.description) : '', current.el);
    };
    select.addEventListener('change', show);
    show();
    return {
      el: h('fieldset', {}, h('legend', {}, label), help(s),
        h('div', { class: 'field' }, h('label', { for: id }, union.tag), select), holder, slot),
      get: () => ({ [union.tag]: JSON.parse(select.value), ...(current.get() || {}) }),
    };
  }

  const t = types(base).filter((x) => x !== 'null');
  const kind = t[0];
  if (kind === 'object' || (!kind && base.properties)) {
    if (!base.properties && base.additionalProperties === false) {
      return { el: h('div', { class: 'field' }, h('span', { class: 'label' }, label), h('small', { class: 'help' }, 'No settings.'), slot), get: () => ({}) };
    }
    if (!base.properties && base.additionalProperties && typeof base.additionalProperties === 'object') {
      return map(label, s, resolve(base.additionalProperties, root), value || {}, root, pointer, slots, slot, secretKept);
    }
    if (!base.properties) return json(label, s, value, pointer, slot);
    const o = object(base, value || {}, root, pointer, slots, secretKept);
    return { el: h('fieldset', {}, h('legend', {}, label), help(s), o.el, slot), get: o.get };
  }
  if (kind === 'array') {
    const items = resolve(base.items || {}, root);
    if (items.properties) return list(label, s, items, value || [], root, pointer, slots, slot, secretKept);
    const itemTypes = types(items).filter((x) => x !== 'null');
    const plain = itemTypes.length === 1 && ['string', 'integer', 'number'].includes(itemTypes[0]);
    if (!plain) return json(label, s, value, pointer, slot);
    const id = uid('arr');
    const area = h('textarea', { id, rows: 3, value: (value || []).map(String).join('\n') });
    const itemKind = types(items)[0];
    return {
      el: h('div', { class: 'field' }, h('label', { for: id }, `${label} (one per line)`), area, help(s), slot),
      get: () => {
        const lines = area.value.split('\n').map((l) => l.trim()).filter((l) => l !== '');
        if (lines.length === 0 && (value === undefined || value === null)) return value ?? undefined;
        // What is not a number is sent as typed, so the gateway names the line and the problem.
        const number = (l) => (Number.isFinite(Number(l)) ? Number(l) : l);
        return itemKind === 'integer' || itemKind === 'number' ? lines.map(number) : lines;
      },
    };
  }
  if (kind === 'boolean') {
    const id = uid('bool');
    const box = h('input', { type: 'checkbox', id, checked: value ?? s.default ?? false });
    const initial = box.checked;
    return {
      el: h('div', { class: 'field' }, h('label', { for: id, class: 'inline' }, box, ` ${label}`), help(s), slot),
      get: () => ((value === undefined || value === null) && box.checked === initial ? value ?? undefined : box.checked),
    };
  }
  if (kind === 'integer' || kind === 'number') {
    const id = uid('num');
    const input = h('input', {
      type: 'text', inputmode: kind === 'integer' ? 'numeric' : 'decimal', id,
      value: value ?? '', placeholder: s.default ?? '',
    });
    return {
      el: h('div', { class: 'field' }, h('label', { for: id }, label), input, help(s), slot),
      // What is not a number is sent as typed, so the gateway names the field and the problem.
      get: () => {
        const v = input.value.trim();
        if (v === '') return undefined;
        const n = Number(v);
        return Number.isFinite(n) ? n : v;
      },
    };
  }
  if (kind === 'string') {
    const id = uid('str');
    const secret = s.writeOnly === true || base.writeOnly === true;
    const input = h('input', {
      type: secret ? 'password' : 'text', id, autocomplete: secret ? 'new-password' : 'off',
      value: secret ? '' : value ?? '',
      placeholder: secret ? (secretKept ? 'unchanged (write-only)' : 'write-only') : s.default ?? '',
    });
    return {
      el: h('div', { class: 'field' }, h('label', { for: id }, `${label}${secret ? ' (secret)' : ''}`), input, help(s), slot),
      get: () => (input.value === '' ? undefined : input.value),
    };
  }
  return json(label, s, value, pointer, slot);
}

/** A value the form cannot draw field by field: edited as JSON. */
function json(label, s, value, pointer, slot) {
  const id = uid('json');
  const area = h('textarea', { id, rows: 4, class: 'code', value: value === undefined ? '' : JSON.stringify(value, null, 2) });
  return {
    el: h('div', { class: 'field' }, h('label', { for: id }, `${label} (JSON)`), area, help(s), slot),
    get: () => {
      if (area.value.trim() === '') return undefined;
      try { return JSON.parse(area.value); } catch { return area.value; }
    },
  };
}

function object(s, value, root, pointer, slots, secretKept) {
  const required = new Set(s.required || []);
  const fields = Object.entries(s.properties || {}).map(([k, p]) => [k, field(k, p, value[k], root, `${pointer}/${k}`, required.has(k), slots, secretKept)]);
  return {
    el: h('div', { class: 'object' }, fields.map(([, f]) => f.el)),
    get: () => {
      const out = {};
      for (const [k, f] of fields) {
        const v = f.get();
        if (v !== undefined) out[k] = v;
      }
      return out;
    },
  };
}

/** An object of any keys, all of one schema (`additionalProperties`): rows of key and value. */
function map(label, s, entry, value, root, pointer, slots, slot, secretKept) {
  const rows = [];
  const body = h('tbody');
  const addRow = (k, v) => {
    const key = h('input', { type: 'text', value: k, 'aria-label': `${label}: key` });
    const f = field('value', entry, v, root, `${pointer}/${k}`, false, slots, secretKept);
    const row = { key, f, el: null };
    row.el = h('tr', {}, h('td', {}, key), h('td', {}, f.el),
      h('td', {}, h('button', { type: 'button', onclick: () => { rows.splice(rows.indexOf(row), 1); row.el.remove(); } }, 'Remove')));
    rows.push(row);
    body.appendChild(row.el);
  };
  Object.entries(value).forEach(([k, v]) => addRow(k, v));
  return {
    el: h('div', { class: 'field' }, h('span', { class: 'label' }, label), help(s),
      h('table', { class: 'grid map' }, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Key'), h('th', { scope: 'col' }, 'Value'), h('th', {}))), body),
      h('button', { type: 'button', onclick: () => addRow('', undefined) }, `Add to ${label}`), slot),
    get: () => {
      // No prototype: a key typed as "__proto__" is a key of the map, not the object's parent.
      const out = Object.create(null);
      for (const r of rows) {
        const k = r.key.value.trim();
        const v = r.f.get();
        if (k !== '' && v !== undefined) out[k] = v;
      }
      return rows.length === 0 && Object.keys(value).length === 0 ? undefined : out;
    },
  };
}

function list(label, s, items, value, root, pointer, slots, slot, secretKept) {
  const rows = [];
  const holder = h('div', { class: 'list' });
  const addRow = (v) => {
    const i = rows.length;
    const f = object(items, v || {}, root, `${pointer}/${i}`, slots, secretKept);
    const row = { f, el: null };
    row.el = h('fieldset', { class: 'row' }, h('legend', {}, `${label} ${i + 1}`), f.el,
      h('button', { type: 'button', onclick: () => { rows.splice(rows.indexOf(row), 1); row.el.remove(); } }, 'Remove'));
    rows.push(row);
    holder.appendChild(row.el);
  };
  value.forEach(addRow);
  return {
    el: h('div', { class: 'field' }, h('span', { class: 'label' }, label), help(s), holder,
      h('button', { type: 'button', onclick: () => addRow({}) }, `Add to ${label}`), slot),
    get: () => (rows.length === 0 && value.length === 0 ? undefined : rows.map((r) => r.f.get())),
  };
}

/**
 * The form of `value` against `schema`; `base` is the JSON pointer of the value in the API's
 * request body, so that a problem at `/settings/port` lands on the field `port`.
 */
export function schemaForm(schema, value, base, options) {
  const slots = new Map();
  const secretKept = !!(options && options.editing);
  const root = schema || {};
  const s = resolve(root, root);
  const top = s.properties || tagOf(s, root)
    ? field('settings', root, value || {}, root, base, true, slots, secretKept)
    : json('settings', s, value, base, errorSlot());
  return {
    el: top.el,
    get: () => top.get() ?? {},
    /** Shows each problem at its field (or the nearest field above it); returns those shown. */
    showProblems(problems) {
      for (const slot of slots.values()) { slot.hidden = true; slot.textContent = ''; }
      let shown = 0;
      for (const p of problems || []) {
        let ptr = p.pointer;
        while (ptr && !slots.has(ptr)) ptr = ptr.slice(0, ptr.lastIndexOf('/'));
        const slot = slots.get(ptr || base) || slots.get(base);
        if (!slot || !(p.pointer === base || p.pointer.startsWith(`${base}/`))) continue;
        slot.hidden = false;
        slot.textContent = slot.textContent ? `${slot.textContent} ${p.message}` : p.message;
        shown += 1;
      }
      const first = [...slots.values()].find((x) => !x.hidden);
      if (first) first.parentElement.querySelector('input, select, textarea')?.focus();
      return shown;
    },
  };
}
