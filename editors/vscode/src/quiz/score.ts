// Per-concept score kept in `context.globalState` (so it follows the user across workspaces).
// Pure functions over a plain object; the panel does the load/store.

export const SCORE_KEY = 'nntutor.quizScores';

export interface ConceptScore {
  answered: number;
  correct: number;
  /** Item ids answered right at least once. */
  mastered: string[];
  /** ISO time of the last answer. */
  last: string;
}

export type ScoreBook = Record<string, ConceptScore>;

/** Reads a stored score book, dropping anything malformed (old versions, manual edits). */
export function loadScores(raw: unknown): ScoreBook {
  const book: ScoreBook = {};
  if (!raw || typeof raw !== 'object') return book;
  for (const [concept, s] of Object.entries(raw as Record<string, unknown>)) {
    const r = (s ?? {}) as Record<string, unknown>;
    const answered = Number.isInteger(r.answered) && (r.answered as number) >= 0 ? (r.answered as number) : 0;
    const correct = Number.isInteger(r.correct) && (r.correct as number) >= 0 ? Math.min(r.correct as number, answered) : 0;
    const mastered = Array.isArray(r.mastered) ? r.mastered.filter((x): x is string => typeof x === 'string') : [];
    book[concept] = { answered, correct, mastered, last: typeof r.last === 'string' ? r.last : '' };
  }
  return book;
}

/** Returns a new book with one answer recorded; the input is not changed. */
export function recordAnswer(book: ScoreBook, concept: string, itemId: string, correct: boolean, now: Date): ScoreBook {
  const old = book[concept] ?? { answered: 0, correct: 0, mastered: [], last: '' };
  const mastered = correct && !old.mastered.includes(itemId) ? [...old.mastered, itemId] : old.mastered;
  return {
    ...book,
    [concept]: {
      answered: old.answered + 1,
      correct: old.correct + (correct ? 1 : 0),
      mastered,
      last: now.toISOString(),
    },
  };
}

/** "3/4 right (75%), 2 of 5 items mastered" — the line shown per concept. */
export function describeScore(score: ConceptScore | undefined, itemIds: string[]): string {
  const n = itemIds.length;
  if (!score || score.answered === 0) return `not tried yet, ${n} item${n === 1 ? '' : 's'}`;
  const pct = Math.round((100 * score.correct) / score.answered);
  const mastered = itemIds.filter((id) => score.mastered.includes(id)).length;
  return `${score.correct}/${score.answered} right (${pct}%), ${mastered} of ${n} mastered`;
}
