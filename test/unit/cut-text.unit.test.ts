import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cutText } from '../../proto/text.js';

test('cut to at most max units, never between the halves of a pair; short text and edges as they are', () => {
  assert.equal(cutText('hello', 10), 'hello');
  assert.equal(cutText('hello', 5), 'hello');
  assert.equal(cutText('hello', 3), 'hel');
  assert.equal(cutText('hello', 0), '');
  assert.equal(cutText('ab😀c', 3), 'ab', 'the pair would be split at 3: cut before it');
  assert.equal(cutText('ab😀c', 4), 'ab😀');
  assert.equal(cutText('\ud800\ud800x', 1), '', 'a lone high surrogate at the edge is dropped too');
  assert.equal(cutText('\udc00xyz', 1), '\udc00', 'a low surrogate splits nothing');
  assert.equal(cutText('x'.repeat(100_000), 255).length, 255);
});
