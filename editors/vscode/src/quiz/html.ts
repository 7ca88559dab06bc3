// The quiz panel's HTML. Everything from the server is escaped here, in one tested place; the
// webview script only wires clicks and swaps in fragments this module rendered.

import type { ConceptInfo } from '../protocol';
import { codeLines, type Feedback, type QuizItem } from './items';
import { describeScore, type ScoreBook } from './score';

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Escapes, then shows `backticked` spans as code: the only markup quiz text uses. */
export function inlineText(text: string): string {
  return escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

export interface PageInput {
  nonce: string;
  /** `webview.cspSource`: the only origin styles and scripts may come from. */
  cspSource: string;
  scriptUri: string;
  styleUri: string;
  fileName: string;
  concepts: ConceptInfo[];
  items: QuizItem[];
  scores: ScoreBook;
  /** Shown instead of the items (server not running, nothing found, ...). */
  message?: string;
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `style-src ${cspSource}`,
    `img-src ${cspSource}`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
}

export function renderPage(input: PageInput): string {
  const { nonce, cspSource } = input;
  const body = input.message
    ? `<p class="message">${inlineText(input.message)}</p>`
    : `${renderScores(input.concepts, input.scores)}\n${input.items.map(renderItem).join('\n')}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy(cspSource, nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escapeHtml(input.styleUri)}">
<title>nntutor quiz</title>
</head>
<body>
<h1>Quiz: ${escapeHtml(input.fileName)}</h1>
${body}
<script nonce="${escapeHtml(nonce)}" src="${escapeHtml(input.scriptUri)}"></script>
</body>
</html>`;
}

export function renderScores(concepts: ConceptInfo[], scores: ScoreBook): string {
  const rows = concepts
    .filter((c) => c.quiz.length > 0)
    .map(
      (c) =>
        `<li><strong>${escapeHtml(c.title)}</strong>${c.summary ? ` — ${inlineText(c.summary)}` : ''}` +
        `<br><span class="score" data-score="${escapeHtml(c.id)}">${escapeHtml(describeScore(scores[c.id], c.quiz))}</span></li>`,
    );
  return `<section class="concepts"><h2>Concepts in this file</h2><ul>${rows.join('')}</ul></section>`;
}

export function renderItem(item: QuizItem): string {
  const attrs = `data-item="${escapeHtml(item.id)}" data-type="${item.type}"`;
  const head =
    `<p class="meta">${escapeHtml(item.concept)} · ${'●'.repeat(clamp(item.difficulty))}${'○'.repeat(3 - clamp(item.difficulty))}</p>` +
    `<p class="question">${inlineText(item.question)}</p>`;
  let answers: string;
  switch (item.type) {
    case 'single':
    case 'multi':
      answers =
        (item.code ? renderCode(item.code) : '') +
        `<div class="choices">${item.options
          .map((o, i) => choiceButton(item.id, String(i), inlineText(o), item.type === 'multi'))
          .join('')}</div>` +
        (item.type === 'multi' ? `<button class="check" data-check="${escapeHtml(item.id)}">Check</button><span class="hint">Pick every right option.</span>` : '');
      break;
    case 'true-false':
      answers =
        (item.code ? renderCode(item.code) : '') +
        `<div class="choices">${choiceButton(item.id, 'true', 'True', false)}${choiceButton(item.id, 'false', 'False', false)}</div>`;
      break;
    case 'spot-the-bug':
      answers =
        `<p class="hint">Click the line with the bug.</p><ol class="code-lines">` +
        codeLines(item.code)
          .map(
            (line, i) =>
              `<li><button class="line" data-item="${escapeHtml(item.id)}" data-choice="${i + 1}">` +
              `<span class="lineno">${i + 1}</span><code>${escapeHtml(line) || ' '}</code></button></li>`,
          )
          .join('') +
        `</ol>`;
      break;
  }
  return `<article class="item" ${attrs}>${head}${answers}<div class="feedback" data-feedback="${escapeHtml(item.id)}" aria-live="polite"></div></article>`;
}

function choiceButton(itemId: string, choice: string, labelHtml: string, toggle: boolean): string {
  return `<button class="choice" data-item="${escapeHtml(itemId)}" data-choice="${escapeHtml(choice)}"${toggle ? ' aria-pressed="false"' : ''}>${labelHtml}</button>`;
}

function renderCode(code: string): string {
  return `<pre class="code"><code>${escapeHtml(code)}</code></pre>`;
}

function clamp(d: number): number {
  return Math.max(1, Math.min(3, d));
}

/** The fragment put into an item's feedback box after an answer. */
export function renderFeedback(item: QuizItem, feedback: Feedback): string {
  const label = (choice: string) => {
    switch (item.type) {
      case 'single':
      case 'multi':
        return `Option ${Number(choice) + 1}`;
      case 'true-false':
        return choice === 'true' ? 'True' : 'False';
      case 'spot-the-bug':
        return `Line ${choice}`;
    }
  };
  const rows = feedback.explained.map((e) => {
    const cls = [e.right ? 'right' : 'wrong', e.picked ? 'picked' : ''].filter(Boolean).join(' ');
    const tag = e.picked ? (e.right ? ' (your pick, right)' : ' (your pick)') : e.right ? ' (right answer)' : '';
    return `<li class="${cls}"><strong>${escapeHtml(label(e.choice))}${tag}:</strong> ${inlineText(e.text)}</li>`;
  });
  return `<p class="verdict ${feedback.correct ? 'right' : 'wrong'}">${feedback.correct ? 'Right!' : 'Not quite.'}</p><ul class="explanations">${rows.join('')}</ul>` +
    `<button class="retry" data-retry="${escapeHtml(item.id)}">Try again</button>`;
}
