import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ruleSettings } from '../../src/settings';

const reader = (values: Record<string, unknown>) => ({ get: <T>(k: string) => values[k] as T | undefined });

test('maps settings to {select, ignore, severity} like [tool.nntutor]', () => {
  const { settings, problems } = ruleSettings(
    reader({ select: ['missing-eval-mode'], ignore: [' data-leakage '], severity: { 'missing-eval-mode': 'Error' },
      exclude: ['legacy/*'], path: '/x' }),
  );
  assert.deepEqual(settings, {
    select: ['missing-eval-mode'],
    ignore: ['data-leakage'],
    severity: { 'missing-eval-mode': 'error' },
    exclude: ['legacy/*'],
  });
  assert.deepEqual(problems, []);
  // Settings that only the client uses (path, interpreter) are not sent.
  assert.deepEqual(Object.keys(settings).sort(), ['exclude', 'ignore', 'select', 'severity']);
});

test('defaults are empty, never undefined', () => {
  // (the server reads an empty list or table as "not set": every rule, no extra exclusions)
  assert.deepEqual(ruleSettings(reader({})).settings, { select: [], ignore: [], severity: {}, exclude: [] });
});

test('bad values are dropped and reported', () => {
  const { settings, problems } = ruleSettings(
    reader({ select: 'missing-eval-mode', ignore: ['ok', 3, ''], severity: { a: 'fatal', b: 'hint', c: 2 } }),
  );
  assert.deepEqual(settings, { select: [], ignore: ['ok'], severity: { b: 'hint' }, exclude: [] });
  assert.equal(problems.length, 5);
  assert.deepEqual(ruleSettings(reader({ exclude: 'legacy/*' })).problems, ['nntutor.exclude must be an array of glob patterns']);
  assert.match(problems.join('\n'), /nntutor.severity.a: "fatal" is not one of error, warning, info, hint/);
  assert.deepEqual(ruleSettings(reader({ severity: ['x'] })).problems, ['nntutor.severity must be an object of rule id -> severity']);
});
