// The custom requests nntutor's server answers beyond standard LSP. Types only: no `vscode` import.

export const CONCEPTS_METHOD = 'nntutor/concepts';
export const QUIZ_ITEMS_METHOD = 'nntutor/quizItems';

export interface ConceptsParams {
  /** A text document, or for a notebook the notebook document's uri. */
  textDocument: { uri: string };
}

export interface ConceptInfo {
  id: string;
  title: string;
  summary: string;
  /** Quiz item ids for this concept. */
  quiz: string[];
  /** 0-based lines where the concept shows up in the document. */
  lines: number[];
}

export interface ConceptsResult {
  concepts: ConceptInfo[];
  /** Rule ids of the diagnostics raised in the document. */
  rules: string[];
  /** The server has not opened the document yet: the empty answer means "ask again". */
  pending?: true;
}

export interface QuizItemsParams {
  ids: string[];
}

export interface QuizItemsResult {
  /** Raw items; validated by quiz/items.ts before use. */
  items: unknown[];
}

/** Reads a `nntutor/concepts` result defensively: a server bug must not break the panel. */
export function parseConceptsResult(raw: unknown): ConceptsResult {
  const obj = (raw ?? {}) as Record<string, unknown>;
  const concepts: ConceptInfo[] = [];
  for (const c of Array.isArray(obj.concepts) ? obj.concepts : []) {
    const r = (c ?? {}) as Record<string, unknown>;
    if (typeof r.id !== 'string' || !r.id) continue;
    concepts.push({
      id: r.id,
      title: typeof r.title === 'string' && r.title ? r.title : r.id,
      summary: typeof r.summary === 'string' ? r.summary : '',
      quiz: Array.isArray(r.quiz) ? r.quiz.filter((q): q is string => typeof q === 'string') : [],
      lines: Array.isArray(r.lines)
        ? r.lines.filter((n): n is number => Number.isInteger(n) && (n as number) >= 0)
        : [],
    });
  }
  const rules = Array.isArray(obj.rules) ? obj.rules.filter((r): r is string => typeof r === 'string') : [];
  return obj.pending === true ? { concepts, rules, pending: true } : { concepts, rules };
}

/** Arguments of `nntutor.quiz`: from the code lens, a hover link, or none (the active editor). */
export interface QuizArgs {
  concept?: string;
  uri?: string;
}

/** Hover links pass a bare concept id (`command:nntutor.quiz?["dropout"]`); code lenses an object. */
export function parseQuizArgs(arg: unknown): QuizArgs {
  if (typeof arg === 'string') return arg ? { concept: arg } : {};
  if (arg && typeof arg === 'object' && !Array.isArray(arg)) {
    const a = arg as Record<string, unknown>;
    return {
      ...(typeof a.concept === 'string' && a.concept ? { concept: a.concept } : {}),
      ...(typeof a.uri === 'string' && a.uri ? { uri: a.uri } : {}),
    };
  }
  return {};
}
