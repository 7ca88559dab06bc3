import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkAnswer, choicesOf, orderItems, validateItem, type QuizItem } from '../../src/quiz/items';
import { multi, single, spot, trueFalse } from './fixtures';

function valid(raw: unknown): QuizItem {
  const v = validateItem(raw);
  assert.ok(v.ok, v.ok ? '' : v.error);
  return v.item;
}

test('all four item types validate', () => {
  assert.deepEqual(valid(single).type, 'single');
  assert.deepEqual((valid(multi) as { answer: number[] }).answer, [0, 1]);
  assert.equal(valid(trueFalse).type, 'true-false');
  const s = valid(spot);
  assert.equal(s.type, 'spot-the-bug');
  assert.deepEqual(choicesOf(s), ['1', '2', '3', '4', '5']); // trailing newline adds no line
  assert.equal((s as { explanations: Record<number, string> }).explanations[4], 'Right: still in training mode.');
});

test('malformed items are rejected with a reason', () => {
  const cases: [unknown, RegExp][] = [
    [{ ...single, answer: 3 }, /option index/],
    [{ ...single, explanations: ['x'] }, /one string per option/],
    [{ ...multi, answer: [] }, /list of option indices/],
    [{ ...trueFalse, answer: 'false' }, /true or false/],
    [{ ...spot, answer: 9 }, /line number 1..5/],
    [{ ...spot, code: undefined }, /needs code/],
    [{ ...single, type: 'essay' }, /unknown type/],
    [{ ...single, question: '' }, /missing question/],
    [null, /missing id/],
  ];
  for (const [raw, re] of cases) {
    const v = validateItem(raw);
    assert.equal(v.ok, false);
    if (!v.ok) assert.match(v.error, re);
  }
});

test('single: right and wrong picks, every option explained', () => {
  const item = valid(single);
  const right = checkAnswer(item, ['0'])!;
  assert.equal(right.correct, true);
  assert.equal(right.explained.length, 3);
  assert.deepEqual(right.rightChoices, ['0']);
  const wrong = checkAnswer(item, ['2'])!;
  assert.equal(wrong.correct, false);
  assert.deepEqual(wrong.explained.find((e) => e.picked), { choice: '2', right: false, picked: true, text: 'Wrong: old-style test time.' });
});

test('multi: exact set needed', () => {
  const item = valid(multi);
  assert.equal(checkAnswer(item, ['1', '0'])!.correct, true);
  assert.equal(checkAnswer(item, ['0'])!.correct, false);
  assert.equal(checkAnswer(item, ['0', '1', '2'])!.correct, false);
});

test('true-false: explanation per pick', () => {
  const item = valid(trueFalse);
  const f = checkAnswer(item, ['false'])!;
  assert.equal(f.correct, true);
  assert.equal(f.explained[1].text, 'Right: eval() sets training=False.');
  assert.equal(checkAnswer(item, ['true'])!.correct, false);
});

test('spot-the-bug: picked line explained, else a default; answer line always shown', () => {
  const item = valid(spot);
  const right = checkAnswer(item, ['4'])!;
  assert.equal(right.correct, true);
  assert.equal(right.explained.length, 1);
  const decoy = checkAnswer(item, ['1'])!;
  assert.equal(decoy.correct, false);
  assert.deepEqual(decoy.explained.map((e) => e.text), ['Wrong: training mode is right for training.', 'Right: still in training mode.']);
  assert.equal(checkAnswer(item, ['2'])!.explained[0].text, 'Line 2 is not where the bug is.');
});

test('malformed responses are not scored', () => {
  assert.equal(checkAnswer(valid(single), []), undefined);
  assert.equal(checkAnswer(valid(single), ['0', '1']), undefined);
  assert.equal(checkAnswer(valid(single), ['7']), undefined);
  assert.equal(checkAnswer(valid(trueFalse), ['yes']), undefined);
  assert.equal(checkAnswer(valid(spot), ['0']), undefined);
});

test('order: items of raised rules first, then concept order, then difficulty', () => {
  const a = valid({ ...single, id: 'b-1', concept: 'b', difficulty: 2 });
  const b = valid({ ...single, id: 'a-1', concept: 'a', difficulty: 3 });
  const c = valid({ ...single, id: 'a-2', concept: 'a', difficulty: 1 });
  const d = valid(spot);
  assert.deepEqual(orderItems([a, b, c, d], ['a', 'b', 'dropout'], ['missing-eval-mode']).map((i) => i.id), ['dropout-3', 'a-2', 'a-1', 'b-1']);
  assert.deepEqual(orderItems([a, b, c, d], ['a', 'b', 'dropout'], []).map((i) => i.id), ['a-2', 'a-1', 'b-1', 'dropout-3']);
});
