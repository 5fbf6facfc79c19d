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
