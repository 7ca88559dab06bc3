import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConceptsResult, parseQuizArgs } from '../../src/protocol';

test('concepts result is read defensively', () => {
  assert.deepEqual(parseConceptsResult(null), { concepts: [], rules: [] });
  assert.deepEqual(
    parseConceptsResult({
      concepts: [
        { id: 'dropout', title: 'Dropout', summary: 's', quiz: ['dropout-1', 2], lines: [3, -1, 1.5] },
        { title: 'no id' },
        { id: 'softmax' },
      ],
      rules: ['missing-eval-mode', null],
    }),
    {
      concepts: [
        { id: 'dropout', title: 'Dropout', summary: 's', quiz: ['dropout-1'], lines: [3] },
        { id: 'softmax', title: 'softmax', summary: '', quiz: [], lines: [] },
      ],
      rules: ['missing-eval-mode'],
    },
  );
});

test('a pending concepts result is kept: the server has not opened the document yet', () => {
  assert.deepEqual(parseConceptsResult({ concepts: [], rules: [], pending: true }), { concepts: [], rules: [], pending: true });
  assert.deepEqual(parseConceptsResult({ concepts: [], rules: [], pending: 'yes' }), { concepts: [], rules: [] });
});

test('quiz command arguments: hover link, code lens, palette', () => {
  // command:nntutor.quiz?%5B%22dropout%22%5D -> VS Code calls the command with "dropout"
  assert.deepEqual(parseQuizArgs(JSON.parse(decodeURIComponent('%5B%22dropout%22%5D'))[0]), { concept: 'dropout' });
  assert.deepEqual(parseQuizArgs({ concept: 'dropout', uri: 'file:///a.py' }), { concept: 'dropout', uri: 'file:///a.py' });
  assert.deepEqual(parseQuizArgs(undefined), {});
  assert.deepEqual(parseQuizArgs({ concept: 3, uri: '' }), {});
  assert.deepEqual(parseQuizArgs(['x']), {});
});
