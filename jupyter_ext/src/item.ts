// One quiz item: the question, its inputs, and after "Check" the feedback from the server.
import { Choice, IFeedback, IItem } from './api';
import { h } from './dom';

const REASONS: Record<string, string> = {
  diagnostic: 'flagged in this notebook',
  notebook: 'used in this notebook',
  review: 'review',
  new: 'new'
};

export interface IItemCallbacks {
  answer(item: IItem, choice: Choice): Promise<IFeedback>;
  tryIt(concept: string): void;
  next(): void;
}

export function renderItem(item: IItem, cb: IItemCallbacks): HTMLElement {
  const card = h('div', { class: 'nntutor-item', 'data-item': item.id, 'data-type': item.type });
  card.appendChild(
    h(
      'div',
      { class: 'nntutor-item-head' },
      h('span', { class: 'nntutor-concept' }, item.concept_title),
      h('span', { class: 'nntutor-reason nntutor-reason-' + item.reason }, REASONS[item.reason] || item.reason)
    )
  );
  card.appendChild(h('div', { class: 'nntutor-question' }, item.question));
  const inputs = renderInputs(item);
  card.appendChild(inputs.element);
  const check = h('button', { class: 'jp-Button nntutor-check', type: 'button' }, 'Check') as HTMLButtonElement;
  const feedback = h('div', { class: 'nntutor-feedback' });
  card.appendChild(h('div', { class: 'nntutor-actions' }, check));
  card.appendChild(feedback);
  check.onclick = async () => {
    const choice = inputs.choice();
    if (choice === null) {
      feedback.textContent = 'Pick an answer first.';
      return;
    }
    check.disabled = true;
    try {
      const result = await cb.answer(item, choice);
      inputs.lock();
      feedback.replaceChildren(renderFeedback(item, result, cb));
    } catch (err) {
      check.disabled = false;
      feedback.textContent = 'Could not check the answer: ' + (err as Error).message;
    }
  };
  return card;
}

interface IInputs {
  element: HTMLElement;
  choice(): Choice | null;
  lock(): void;
}

function renderInputs(item: IItem): IInputs {
  const name = 'nntutor-' + item.id;
  if (item.type === 'spot-the-bug') {
    return renderCodeLines(item, name);
  }
  const multi = item.type === 'multi';
  const list = h('div', { class: 'nntutor-options' });
  const boxes: HTMLInputElement[] = [];
  (item.options || []).forEach((text, i) => {
    const box = h('input', { type: multi ? 'checkbox' : 'radio', name, value: String(i) }) as HTMLInputElement;
    boxes.push(box);
    list.appendChild(h('label', { class: 'nntutor-option', 'data-index': String(i) }, box, h('span', {}, text)));
  });
  return {
    element: list,
    choice: () => {
      const picked = boxes.filter(b => b.checked).map(b => Number(b.value));
      if (picked.length === 0) {
        return null;
      }
      if (multi) {
        return picked;
      }
      return item.type === 'true-false' ? picked[0] === 0 : picked[0];
    },
    lock: () => boxes.forEach(b => (b.disabled = true))
  };
}

// Spot-the-bug: click the line that holds the bug.
function renderCodeLines(item: IItem, name: string): IInputs {
  const code = h('div', { class: 'nntutor-code' });
  let picked: number | null = null;
  let locked = false;
  const lines = (item.code || '').replace(/\n$/, '').split('\n');
  lines.forEach((text, i) => {
    const row = h('div', { class: 'nntutor-line', 'data-line': String(i + 1), role: 'radio', tabindex: '0' },
      h('span', { class: 'nntutor-lineno' }, String(i + 1)),
      h('code', {}, text || ' '));
    const pick = () => {
      if (locked) {
        return;
      }
      picked = i + 1;
      code.querySelectorAll('.nntutor-line').forEach(r => r.classList.remove('nntutor-picked'));
      row.classList.add('nntutor-picked');
    };
    row.onclick = pick;
    row.onkeydown = (e: KeyboardEvent) => (e.key === 'Enter' || e.key === ' ') && pick();
    code.appendChild(row);
  });
  code.setAttribute('aria-label', name);
  return { element: code, choice: () => picked, lock: () => (locked = true) };
}

function renderFeedback(item: IItem, fb: IFeedback, cb: IItemCallbacks): HTMLElement {
  const box = h('div', { class: 'nntutor-result ' + (fb.correct ? 'nntutor-correct' : 'nntutor-wrong') });
  box.appendChild(h('div', { class: 'nntutor-verdict' }, fb.correct ? '✓ Correct' : '✗ Not quite'));
  box.appendChild(explanations(item, fb));
  const q = fb.interview_question;
  if (q && q.text) {
    box.appendChild(
      h('div', { class: 'nntutor-interview' }, h('strong', {}, 'Interview question: '), q.text)
    );
  }
  box.appendChild(
    h('div', { class: 'nntutor-score-line' },
      `${item.concept_title}: ${fb.score.correct}/${fb.score.answered} correct so far`)
  );
  const buttons = h('div', { class: 'nntutor-actions' });
  if (fb.demo) {
    const tryIt = h('button', { class: 'jp-Button nntutor-try', type: 'button' }, 'Try it') as HTMLButtonElement;
    tryIt.title = 'Insert a demo cell below the active cell and run it';
    tryIt.onclick = () => cb.tryIt(fb.concept);
    buttons.appendChild(tryIt);
  }
  const next = h('button', { class: 'jp-Button nntutor-next', type: 'button' }, 'Next question');
  next.onclick = () => cb.next();
  buttons.appendChild(next);
  box.appendChild(buttons);
  return box;
}

function explanations(item: IItem, fb: IFeedback): HTMLElement {
  const list = h('ul', { class: 'nntutor-explanations' });
  const add = (label: string, text: string, isAnswer: boolean, chosen: boolean) => {
    const cls = ['nntutor-expl', isAnswer ? 'nntutor-expl-answer' : '', chosen ? 'nntutor-expl-chosen' : ''];
    list.appendChild(
      h('li', { class: cls.join(' ').trim() },
        h('span', { class: 'nntutor-expl-label' }, (isAnswer ? '✓ ' : '') + label), ' ', text)
    );
  };
  const ex = fb.explanations;
  if (item.type === 'spot-the-bug' && !Array.isArray(ex)) {
    Object.keys(ex)
      .sort((a, b) => Number(a) - Number(b))
      .forEach(line => add('line ' + line + ':', ex[line], Number(line) === fb.answer, Number(line) === fb.choice));
  } else if (item.type === 'true-false' && Array.isArray(ex)) {
    // explanations[0] is shown if True was picked, [1] if False was.
    add('True:', ex[0], fb.answer === true, fb.choice === true);
    add('False:', ex[1], fb.answer === false, fb.choice === false);
  } else if (Array.isArray(ex)) {
    const answers = Array.isArray(fb.answer) ? fb.answer : [fb.answer];
    const chosen = Array.isArray(fb.choice) ? fb.choice : [fb.choice];
    ex.forEach((text, i) => add((item.options || [])[i] || String(i), '— ' + text, answers.includes(i), chosen.includes(i)));
  }
  return list;
}
