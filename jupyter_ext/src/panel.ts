// The sidebar: concepts of the active notebook, one quiz item at a time, score per concept.
import { Widget } from '@lumino/widgets';

import { api, Choice, IFeedback, IItem, IQuiz, IScore } from './api';
import { h } from './dom';
import { renderItem } from './item';

export interface IPanelOptions {
  // Insert the concept's demo below the active cell and run it.
  tryIt(concept: string): Promise<void>;
}

// "Dropout" from "Dropout", "Activation functions" from "Activation functions (ReLU, ...)".
function shortTitle(title: string): string {
  return title.replace(/\s*\(.*\)\s*$/, '');
}

function conceptKey(quiz: IQuiz): string {
  return quiz.concepts.map(c => c.id + ':' + c.reason).join(',');
}

export class QuizPanel extends Widget {
  constructor(private options: IPanelOptions) {
    super();
    this.id = 'nntutor-quiz';
    this.addClass('nntutor-panel');
    this.title.caption = 'nntutor quiz';
    this.node.append(this._header, this._status, this._concepts, this._item, this._scores);
    this._render();
  }

  /** Show items for `path` (a notebook path relative to the server root, '' for none).
   *  With `keep`, an unchanged set of concepts keeps the question on screen (a save must not
   *  wipe an answer being read); only the chips and scores are refreshed. */
  async load(path: string, keep = false): Promise<void> {
    const ticket = ++this._ticket; // a slower older reply must not overwrite a newer one
    this._status.textContent = 'Loading…';
    try {
      const quiz = await api.quiz(path);
      if (ticket !== this._ticket) {
        return;
      }
      const same =
        keep && this._quiz !== null && path === this._path &&
        conceptKey(quiz) === conceptKey(this._quiz);
      this._path = path;
      this._status.textContent = '';
      if (same && this._quiz) {
        this._quiz.concepts = quiz.concepts;
        this._quiz.scores = quiz.scores;
        this._renderConcepts();
        this._renderScores(quiz.scores);
        return;
      }
      this._quiz = quiz;
      this._index = 0;
    } catch (err) {
      if (ticket === this._ticket) {
        this._path = path;
        this._status.textContent = 'nntutor: ' + (err as Error).message;
      }
    }
    this._render();
  }

  get path(): string {
    return this._path;
  }

  private _render(): void {
    this._header.replaceChildren(
      h('div', { class: 'nntutor-title' }, 'nntutor quiz'),
      h('div', { class: 'nntutor-path' }, this._path ? this._path : 'No notebook open: general review')
    );
    this._renderConcepts();
    this._renderItem();
    this._renderScores(this._quiz ? this._quiz.scores : []);
  }

  // Concepts behind the notebook's diagnostics as chips; the others as one short line.
  private _renderConcepts(): void {
    this._concepts.replaceChildren();
    const concepts = this._quiz ? this._quiz.concepts : [];
    if (!concepts.length) {
      return;
    }
    const flagged = concepts.filter(c => c.reason === 'diagnostic');
    const used = concepts.filter(c => c.reason !== 'diagnostic');
    this._concepts.appendChild(h('div', { class: 'nntutor-subtitle' }, 'In this notebook'));
    if (flagged.length) {
      const chips = h('div', { class: 'nntutor-chips' });
      for (const c of flagged) {
        const cells = c.cells.length ? ` (cell ${c.cells.map(i => i + 1).join(', ')})` : '';
        chips.appendChild(
          h('span', { class: 'nntutor-chip nntutor-chip-diagnostic', title: c.summary + '\n' + c.rules.join(', ') },
            '⚠ ' + shortTitle(c.title) + cells)
        );
      }
      this._concepts.appendChild(chips);
    }
    if (used.length) {
      this._concepts.appendChild(
        h('div', { class: 'nntutor-used' }, 'Also used: ' + used.map(c => shortTitle(c.title)).join(', '))
      );
    }
  }

  private _renderItem(): void {
    const quiz = this._quiz;
    this._item.replaceChildren();
    if (!quiz) {
      return;
    }
    const item = quiz.items[this._index];
    if (!item) {
      const again = h('button', { class: 'jp-Button', type: 'button' }, 'Ask me more');
      again.onclick = () => void this.load(this._path);
      this._item.append(h('div', { class: 'nntutor-done' }, 'Nothing due right now. '), again);
      return;
    }
    this._item.appendChild(
      h('div', { class: 'nntutor-counter' }, `Question ${this._index + 1} of ${quiz.items.length}`)
    );
    this._item.appendChild(
      renderItem(item, {
        answer: (it: IItem, choice: Choice) => this._answer(it, choice),
        tryIt: (concept: string) => void this.options.tryIt(concept),
        next: () => {
          this._index += 1;
          this._renderItem();
        }
      })
    );
  }

  private async _answer(item: IItem, choice: Choice): Promise<IFeedback> {
    const fb = await api.answer(item.id, choice);
    const { scores } = await api.progress();
    if (this._quiz) {
      this._quiz.scores = scores;
    }
    this._renderScores(scores);
    return fb;
  }

  private _renderScores(scores: IScore[]): void {
    this._scores.replaceChildren(h('div', { class: 'nntutor-subtitle' }, 'Score per concept'));
    if (!scores.length) {
      this._scores.appendChild(h('div', { class: 'nntutor-empty' }, 'No answers yet.'));
      return;
    }
    const table = h('table', { class: 'nntutor-score-table' });
    for (const s of scores) {
      const pct = s.answered ? Math.round((100 * s.correct) / s.answered) : 0;
      const bar = h('div', { class: 'nntutor-bar' }, h('div', { class: 'nntutor-bar-fill', style: `width:${pct}%` }));
      table.appendChild(
        h('tr', { 'data-concept': s.concept },
          h('td', { class: 'nntutor-score-title' }, s.title),
          h('td', { class: 'nntutor-score-num' }, `${s.correct}/${s.answered}`),
          h('td', {}, bar))
      );
    }
    this._scores.appendChild(table);
  }

  private _header = h('div', { class: 'nntutor-header' });
  private _status = h('div', { class: 'nntutor-status' });
  private _concepts = h('div', { class: 'nntutor-concepts' });
  private _item = h('div', { class: 'nntutor-current' });
  private _scores = h('div', { class: 'nntutor-scores' });
  private _quiz: IQuiz | null = null;
  private _index = 0;
  private _path = '';
  private _ticket = 0;
}
