import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contentSecurityPolicy, escapeHtml, inlineText, renderFeedback, renderItem, renderPage } from '../../src/quiz/html';
import { checkAnswer, validateItem, type QuizItem } from '../../src/quiz/items';
import { single, spot, trueFalse } from './fixtures';

const item = (raw: unknown): QuizItem => {
  const v = validateItem(raw);
  if (!v.ok) throw new Error(v.error);
  return v.item;
};
const evil = '<img src=x onerror="alert(1)">\'&';

test('escapeHtml escapes the five characters', () => {
  assert.equal(escapeHtml(evil), '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&#39;&amp;');
  assert.equal(inlineText('use `model.eval()` <b>'), 'use <code>model.eval()</code> &lt;b&gt;');
});

test('server text cannot inject markup anywhere in the page', () => {
  const html = renderPage({
    nonce: 'abc123',
    cspSource: 'vscode-webview://x',
    scriptUri: 'vscode-webview://x/quiz.js',
    styleUri: 'vscode-webview://x/quiz.css',
    fileName: `${evil}.py`,
    concepts: [{ id: evil, title: evil, summary: evil, quiz: ['i'], lines: [0] }],
    items: [
      item({ ...single, id: evil, concept: evil, question: evil, options: [evil, 'b'], explanations: ['a', 'b'] }),
      item({ ...spot, code: `x = 1\n${evil}\n`, answer: 2 }),
      item({ ...trueFalse, code: evil }),
    ],
    scores: {},
  });
  assert.ok(!html.includes('<img'), 'no raw tag from the server');
  assert.ok(!html.includes('onerror="'), 'no raw attribute from the server');
  // Exactly one script, carrying the nonce, loaded from the webview origin.
  assert.equal(html.match(/<script/g)?.length, 1);
  assert.match(html, /<script nonce="abc123" src="vscode-webview:\/\/x\/quiz.js"><\/script>/);
});

test('strict CSP: nothing by default, scripts only with the nonce, no remote origins', () => {
  const csp = contentSecurityPolicy('vscode-webview://x', 'n0nce');
  assert.equal(csp, "default-src 'none'; style-src vscode-webview://x; img-src vscode-webview://x; font-src vscode-webview://x; script-src 'nonce-n0nce'");
  assert.ok(!csp.includes('unsafe'));
  assert.ok(!/https?:/.test(csp));
});

test('items render as buttons per type', () => {
  const s = renderItem(item(single));
  assert.equal(s.match(/class="choice"/g)?.length, 3);
  assert.match(s, /data-type="single"/);
  assert.match(s, /<code>nn.Dropout\(p=0.5\)<\/code>/);
  const tf = renderItem(item(trueFalse));
  assert.match(tf, /data-choice="true">True</);
  assert.match(tf, /data-choice="false">False</);
  const sp = renderItem(item(spot));
  assert.equal(sp.match(/class="line"/g)?.length, 5);
  assert.match(sp, /data-choice="4"><span class="lineno">4<\/span><code>with torch.no_grad\(\):<\/code>/);
  const multi = renderItem(item({ ...single, type: 'multi', answer: [0, 1] }));
  assert.match(multi, /aria-pressed="false"/);
  assert.match(multi, /data-check="dropout-1">Check/);
  // No answer or explanation leaks into the page before the user answers.
  for (const html of [s, tf, sp]) assert.ok(!/Right:|Wrong:/.test(html));
});

test('feedback fragment is escaped and labels the picks', () => {
  const it = item({ ...single, explanations: [evil, 'b', 'c'] });
  const html = renderFeedback(it, checkAnswer(it, ['1'])!);
  assert.ok(!html.includes('<img'));
  assert.match(html, /Not quite\./);
  assert.match(html, /Option 1 \(right answer\):/);
  assert.match(html, /Option 2 \(your pick\):/);
  const sp = item(spot);
  assert.match(renderFeedback(sp, checkAnswer(sp, ['4'])!), /Right!.*Line 4 \(your pick, right\)/);
});

test('a message replaces the items', () => {
  const html = renderPage({
    nonce: 'n', cspSource: 'c', scriptUri: 's', styleUri: 't', fileName: 'f.py', concepts: [], items: [], scores: {},
    message: 'The nntutor server is not running.',
  });
  assert.match(html, /<p class="message">The nntutor server is not running.<\/p>/);
  assert.ok(!html.includes('<article'));
});
