import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeScore, loadScores, recordAnswer } from '../../src/quiz/score';

const t = new Date('2025-01-02T03:04:05Z');

test('records answers per concept without mutating the input', () => {
  const empty = loadScores(undefined);
  const one = recordAnswer(empty, 'dropout', 'dropout-1', false, t);
  const two = recordAnswer(one, 'dropout', 'dropout-1', true, t);
  const three = recordAnswer(two, 'dropout', 'dropout-1', true, t);
  const other = recordAnswer(three, 'softmax', 'softmax-1', true, t);
  assert.deepEqual(empty, {});
  assert.equal(one.dropout.answered, 1);
  assert.deepEqual(other.dropout, { answered: 3, correct: 2, mastered: ['dropout-1'], last: '2025-01-02T03:04:05.000Z' });
  assert.equal(other.softmax.correct, 1);
});

test('stored junk is cleaned on load', () => {
  assert.deepEqual(loadScores({ a: { answered: 2, correct: 5, mastered: ['x', 1] }, b: null, c: 'x' }), {
    a: { answered: 2, correct: 2, mastered: ['x'], last: '' },
    b: { answered: 0, correct: 0, mastered: [], last: '' },
    c: { answered: 0, correct: 0, mastered: [], last: '' },
  });
  assert.deepEqual(loadScores('nope'), {});
});

test('score line', () => {
  assert.equal(describeScore(undefined, ['a', 'b']), 'not tried yet, 2 items');
  assert.equal(describeScore(undefined, ['a']), 'not tried yet, 1 item');
  assert.equal(
    describeScore({ answered: 4, correct: 3, mastered: ['a', 'gone'], last: '' }, ['a', 'b']),
    '3/4 right (75%), 1 of 2 mastered',
  );
});
