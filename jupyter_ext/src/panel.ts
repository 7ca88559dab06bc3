// The sidebar: concepts of the active notebook, one quiz item at a time, score per concept.
import { Widget } from '@lumino/widgets';

import { api, Choice, IFeedback, IItem, IQuiz, IScore } from './api';
import { h } from './dom';
import { renderItem } from './item';

export interface IPanelOptions {
  // Insert the concept's demo below the active cell and run it.
  tryIt(concept: string): Promise<void>;
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

  /** Show items for `path` (a notebook path relative to the server root, '' for none). */
  async load(path: string): Promise<void> {
    const ticket = ++this._ticket; // a slower older reply must not overwrite a newer one
    this._path = path;
    this._status.textContent = 'Loading…';
    try {
      const quiz = await api.quiz(path);
      if (ticket !== this._ticket) {
        return;
      }
      this._quiz = quiz;
      this._index = 0;
      this._status.textContent = '';
    } catch (err) {
      if (ticket === this._ticket) {
        this._status.textContent = 'nntutor: ' + (err as Error).message;
      }
    }
    this._render();
  }

  get path(): string {
    return this._path;
  }

  private _render(): void {
    const quiz = this._quiz;
    this._header.replaceChildren(
      h('div', { class: 'nntutor-title' }, 'nntutor quiz'),
      h('div', { class: 'nntutor-path' }, this._path ? this._path : 'No notebook open: general review')
    );
    this._concepts.replaceChildren();
    if (quiz && quiz.concepts.length) {
      this._concepts.appendChild(h('div', { class: 'nntutor-subtitle' }, 'In this notebook'));
      const chips = h('div', { class: 'nntutor-chips' });
      for (const c of quiz.concepts) {
        const chip = h('span', { class: 'nntutor-chip nntutor-chip-' + c.reason, title: c.summary },
          (c.reason === 'diagnostic' ? '⚠ ' : '') + c.title);
        chips.appendChild(chip);
      }
      this._concepts.appendChild(chips);
    }
    this._renderItem();
    this._renderScores(quiz ? quiz.scores : []);
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
