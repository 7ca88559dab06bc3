// Quiz items: validation of what the server sends, and answer checking. Pure, unit-tested.

export type ItemType = 'single' | 'multi' | 'true-false' | 'spot-the-bug';

interface BaseItem {
  id: string;
  concept: string;
  question: string;
  difficulty: number;
  seed: string;
  seed_question?: string;
  rule?: string;
}
export interface ChoiceItem extends BaseItem {
  type: 'single' | 'multi';
  options: string[];
  /** single: one index; multi: the set of right indices (0-based). */
  answer: number[];
  explanations: string[];
  code?: string;
}
export interface TrueFalseItem extends BaseItem {
  type: 'true-false';
  answer: boolean;
  /** [shown if True is picked, shown if False is picked] */
  explanations: [string, string];
  code?: string;
}
export interface SpotItem extends BaseItem {
  type: 'spot-the-bug';
  code: string;
  /** 1-based line of the bug in `code`. */
  answer: number;
  /** 1-based line -> why (JSON turns the YAML int keys into strings; both are accepted). */
  explanations: Record<number, string>;
}
export type QuizItem = ChoiceItem | TrueFalseItem | SpotItem;

/** What the user picked, as the webview reports it: option indices, "true"/"false", or a line. */
export type Choice = string;

export type Validated = { ok: true; item: QuizItem } | { ok: false; id: string; error: string };

export function validateItem(raw: unknown): Validated {
  const r = (raw ?? {}) as Record<string, unknown>;
  const id = typeof r.id === 'string' ? r.id : '?';
  const fail = (error: string): Validated => ({ ok: false, id, error });
  if (typeof r.id !== 'string' || !r.id) return fail('missing id');
  if (typeof r.question !== 'string' || !r.question) return fail('missing question');
  const base: BaseItem = {
    id: r.id,
    concept: typeof r.concept === 'string' ? r.concept : '',
    question: r.question,
    difficulty: Number.isInteger(r.difficulty) ? (r.difficulty as number) : 1,
    seed: typeof r.seed === 'string' ? r.seed : '',
    ...(typeof r.seed_question === 'string' ? { seed_question: r.seed_question } : {}),
    ...(typeof r.rule === 'string' ? { rule: r.rule } : {}),
  };
  const code = typeof r.code === 'string' ? r.code : undefined;
  const strings = (v: unknown) => Array.isArray(v) && v.every((s) => typeof s === 'string');
  switch (r.type) {
    case 'single':
    case 'multi': {
      if (!strings(r.options) || (r.options as string[]).length < 2) return fail('options must be >= 2 strings');
      const options = r.options as string[];
      const answer = r.type === 'single' ? [r.answer] : r.answer;
      const inRange = (n: unknown) => Number.isInteger(n) && (n as number) >= 0 && (n as number) < options.length;
      if (!Array.isArray(answer) || answer.length === 0 || !answer.every(inRange)) {
        return fail(`answer must be ${r.type === 'single' ? 'an option index' : 'a list of option indices'}`);
      }
      if (!strings(r.explanations) || (r.explanations as string[]).length !== options.length) {
        return fail('explanations must have one string per option');
      }
      return {
        ok: true,
        item: { ...base, type: r.type, options, answer: [...new Set(answer as number[])].sort(), explanations: r.explanations as string[], ...(code ? { code } : {}) },
      };
    }
    case 'true-false': {
      if (typeof r.answer !== 'boolean') return fail('answer must be true or false');
      if (!strings(r.explanations) || (r.explanations as string[]).length !== 2) return fail('explanations must be two strings');
      const [ifTrue, ifFalse] = r.explanations as string[];
      return { ok: true, item: { ...base, type: 'true-false', answer: r.answer, explanations: [ifTrue, ifFalse], ...(code ? { code } : {}) } };
    }
    case 'spot-the-bug': {
      if (!code) return fail('spot-the-bug needs code');
      const lineCount = codeLines(code).length;
      if (!Number.isInteger(r.answer) || (r.answer as number) < 1 || (r.answer as number) > lineCount) {
        return fail(`answer must be a line number 1..${lineCount}`);
      }
      const explanations: Record<number, string> = {};
      if (r.explanations && typeof r.explanations === 'object' && !Array.isArray(r.explanations)) {
        for (const [k, v] of Object.entries(r.explanations as Record<string, unknown>)) {
          const line = Number(k);
          if (Number.isInteger(line) && typeof v === 'string') explanations[line] = v;
        }
      }
      return { ok: true, item: { ...base, type: 'spot-the-bug', code, answer: r.answer as number, explanations } };
    }
    default:
      return fail(`unknown type ${JSON.stringify(r.type)}`);
  }
}

/** Code split into lines, without the trailing empty line a YAML block scalar leaves. */
export function codeLines(code: string): string[] {
  const lines = code.replace(/\r\n?/g, '\n').split('\n');
  while (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** The choices a user may pick for an item, as the webview names them. */
export function choicesOf(item: QuizItem): Choice[] {
  switch (item.type) {
    case 'single':
    case 'multi':
      return item.options.map((_o, i) => String(i));
    case 'true-false':
      return ['true', 'false'];
    case 'spot-the-bug':
      return codeLines(item.code).map((_l, i) => String(i + 1));
  }
}

export interface ExplainedChoice {
  choice: Choice;
  /** Is this choice part of the right answer? */
  right: boolean;
  picked: boolean;
  text: string;
}

export interface Feedback {
  correct: boolean;
  /** Every choice that has something to say, in display order. */
  explained: ExplainedChoice[];
  /** The choices that make up the right answer (to highlight them). */
  rightChoices: Choice[];
}

/**
 * Checks an answer. Returns undefined for a malformed response (wrong count or unknown choice),
 * which the panel ignores instead of scoring.
 */
export function checkAnswer(item: QuizItem, picked: Choice[]): Feedback | undefined {
  const valid = new Set(choicesOf(item));
  const pickedSet = new Set(picked);
  if (pickedSet.size === 0 || ![...pickedSet].every((c) => valid.has(c))) return undefined;
  if (item.type !== 'multi' && pickedSet.size !== 1) return undefined;

  switch (item.type) {
    case 'single':
    case 'multi': {
      const right = new Set(item.answer.map(String));
      const correct = right.size === pickedSet.size && [...right].every((c) => pickedSet.has(c));
      const explained = item.options.map((_o, i) => ({
        choice: String(i),
        right: right.has(String(i)),
        picked: pickedSet.has(String(i)),
        text: item.explanations[i],
      }));
      return { correct, explained, rightChoices: [...right] };
    }
    case 'true-false': {
      const right = String(item.answer);
      const explained = (['true', 'false'] as const).map((c, i) => ({
        choice: c,
        right: c === right,
        picked: pickedSet.has(c),
        text: item.explanations[i],
      }));
      return { correct: pickedSet.has(right), explained, rightChoices: [right] };
    }
    case 'spot-the-bug': {
      const line = Number(picked[0]);
      const correct = line === item.answer;
      const explained: ExplainedChoice[] = [];
      if (!correct) {
        explained.push({
          choice: String(line),
          right: false,
          picked: true,
          text: item.explanations[line] ?? `Line ${line} is not where the bug is.`,
        });
      }
      explained.push({
        choice: String(item.answer),
        right: true,
        picked: correct,
        text: item.explanations[item.answer] ?? `The bug is on line ${item.answer}.`,
      });
      return { correct, explained, rightChoices: [String(item.answer)] };
    }
  }
}

/**
 * Order for the panel: items tied to a diagnostic raised in this file first (the user just met
 * that bug), then by the order of the concepts in the file, then easy before hard.
 */
export function orderItems(items: QuizItem[], conceptOrder: string[], raisedRules: string[]): QuizItem[] {
  const raised = new Set(raisedRules);
  const rank = (c: string) => {
    const i = conceptOrder.indexOf(c);
    return i < 0 ? conceptOrder.length : i;
  };
  return items
    .map((item, index) => ({ item, index }))
    .sort((a, b) => {
      const ra = a.item.rule && raised.has(a.item.rule) ? 0 : 1;
      const rb = b.item.rule && raised.has(b.item.rule) ? 0 : 1;
      return ra - rb || rank(a.item.concept) - rank(b.item.concept) || a.item.difficulty - b.item.difficulty || a.index - b.index;
    })
    .map((x) => x.item);
}
