// REST client for the nntutor server extension (<base_url>/nntutor/api/...).
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export type ItemType = 'single' | 'multi' | 'true-false' | 'spot-the-bug';

export interface IItem {
  id: string;
  concept: string;
  concept_title: string;
  type: ItemType;
  question: string;
  difficulty: number;
  reason: string; // diagnostic | notebook | review | new
  options?: string[];
  code?: string;
}

export interface IConcept {
  id: string;
  title: string;
  summary: string;
  reason: 'diagnostic' | 'notebook';
  rules: string[];
  cells: number[];
  demo: string | null;
}

export interface IScore {
  concept: string;
  title: string;
  answered: number;
  correct: number;
}

export interface IQuiz {
  path: string;
  concepts: IConcept[];
  items: IItem[];
  scores: IScore[];
}

export type Choice = number | number[] | boolean;

export interface IFeedback {
  item_id: string;
  concept: string;
  correct: boolean;
  choice: Choice;
  answer: Choice;
  // One per option (single/multi), [if True picked, if False picked], or line -> text.
  explanations: string[] | Record<string, string>;
  interview_question: { id: string; text: string };
  score: { concept: string; answered: number; correct: number };
  demo: string | null;
}

export interface IDemo {
  demo: string;
  title: string;
  concept: string;
  source: string;
}

async function call<T>(endpoint: string, init: RequestInit = {}): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'nntutor', 'api', endpoint);
  const response = await ServerConnection.makeRequest(url, init, settings);
  const text = await response.text();
  let data: any = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { message: text };
  }
  if (!response.ok) {
    throw new Error((data && (data.message || data.reason)) || response.statusText);
  }
  return data as T;
}

export const api = {
  quiz: (path: string) =>
    call<IQuiz>('quiz' + (path ? '?path=' + encodeURIComponent(path) : '')),
  answer: (itemId: string, choice: Choice) =>
    call<IFeedback>('answer', {
      method: 'POST',
      body: JSON.stringify({ item_id: itemId, choice })
    }),
  progress: () => call<{ scores: IScore[] }>('progress'),
  demo: (concept: string) =>
    call<IDemo>('demo?concept=' + encodeURIComponent(concept))
};
