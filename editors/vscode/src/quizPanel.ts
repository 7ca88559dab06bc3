// The "Quiz me" webview: asks the server which concepts the current file uses, fetches their
// quiz items, renders them (quiz/html.ts), checks answers (quiz/items.ts) and keeps score.
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { CONCEPTS_METHOD, QUIZ_ITEMS_METHOD, parseConceptsResult, type ConceptInfo, type QuizArgs } from './protocol';
import { renderFeedback, renderPage } from './quiz/html';
import { checkAnswer, orderItems, validateItem, type QuizItem } from './quiz/items';
import { SCORE_KEY, describeScore, loadScores, recordAnswer } from './quiz/score';
import type { LanguageClient } from 'vscode-languageclient/node';
import type { NntutorServer } from './server';

export class QuizPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private items = new Map<string, QuizItem>();
  private concepts: ConceptInfo[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly server: NntutorServer,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  async show(args: QuizArgs): Promise<void> {
    const target = this.targetDocument(args);
    const panel = this.ensurePanel();
    panel.reveal(vscode.ViewColumn.Beside, true);
    if (!target) {
      this.render('', 'Open a Python file or notebook, then run "nntutor: Quiz me".');
      return;
    }
    const name = path.basename(target.fsPath || target.path);
    panel.title = `Quiz: ${name}`;
    const client = await this.server.ready();
    if (!client) {
      this.render(name, 'The nntutor server is not running. See "nntutor: Show Log".');
      return;
    }
    try {
      const uri = client.code2ProtocolConverter.asUri(target);
      const found = parseConceptsResult(await client.sendRequest(CONCEPTS_METHOD, { textDocument: { uri } }));
      this.concepts = args.concept ? found.concepts.filter((c) => c.id === args.concept) : found.concepts;
      const ids = [...new Set(this.concepts.flatMap((c) => c.quiz))];
      const items = ids.length ? await this.fetchItems(client, ids) : [];
      this.items = new Map(items.map((i) => [i.id, i]));
      const ordered = orderItems(items, this.concepts.map((c) => c.id), found.rules);
      const empty = args.concept
        ? `No quiz items for "${args.concept}" in this file.`
        : 'No quiz items for the concepts in this file yet.';
      this.render(name, ordered.length ? undefined : empty, ordered);
    } catch (err) {
      this.log.error(`Quiz: ${String(err)}`);
      this.render(name, `Could not get the quiz from the server: ${String(err)}`);
    }
  }

  dispose(): void {
    this.panel?.dispose();
  }

  private async fetchItems(client: LanguageClient, ids: string[]): Promise<QuizItem[]> {
    const raw = (await client.sendRequest(QUIZ_ITEMS_METHOD, { ids })) as { items?: unknown };
    const items: QuizItem[] = [];
    for (const r of Array.isArray(raw?.items) ? raw.items : []) {
      const v = validateItem(r);
      if (v.ok) items.push(v.item);
      else this.log.warn(`Skipping quiz item ${v.id}: ${v.error}`);
    }
    return items;
  }

  /** The document to quiz on: the given uri, else the active notebook, else the active editor. */
  private targetDocument(args: QuizArgs): vscode.Uri | undefined {
    if (args.uri) return vscode.Uri.parse(args.uri);
    const editor = vscode.window.activeTextEditor;
    const notebook = vscode.window.activeNotebookEditor;
    // The server joins a notebook's cells into one document, so concepts are asked per notebook.
    if (notebook && (!editor || editor.document.uri.scheme === 'vscode-notebook-cell')) return notebook.notebook.uri;
    return editor?.document.uri;
  }

  private ensurePanel(): vscode.WebviewPanel {
    if (this.panel) return this.panel;
    const media = vscode.Uri.joinPath(this.context.extensionUri, 'media');
    const panel = vscode.window.createWebviewPanel('nntutor.quiz', 'nntutor quiz', vscode.ViewColumn.Beside, {
      enableScripts: true,
      localResourceRoots: [media],
      retainContextWhenHidden: true,
    });
    panel.onDidDispose(() => (this.panel = undefined));
    panel.webview.onDidReceiveMessage((msg) => this.onMessage(msg));
    this.panel = panel;
    return panel;
  }

  private render(fileName: string, message?: string, items: QuizItem[] = []): void {
    const webview = this.panel?.webview;
    if (!webview) return;
    const media = vscode.Uri.joinPath(this.context.extensionUri, 'media');
    webview.html = renderPage({
      nonce: randomBytes(16).toString('base64'),
      cspSource: webview.cspSource,
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'quiz.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(media, 'quiz.css')).toString(),
      fileName,
      concepts: this.concepts,
      items,
      scores: loadScores(this.context.globalState.get(SCORE_KEY)),
      message,
    });
  }

  private async onMessage(msg: unknown): Promise<void> {
    const m = (msg ?? {}) as { type?: unknown; item?: unknown; picked?: unknown };
    if (m.type !== 'answer' || typeof m.item !== 'string' || !Array.isArray(m.picked)) return;
    const item = this.items.get(m.item);
    const picked = m.picked.filter((p): p is string => typeof p === 'string');
    const feedback = item && checkAnswer(item, picked);
    if (!item || !feedback) return;
    const concept = item.concept || this.concepts[0]?.id || '';
    const book = recordAnswer(loadScores(this.context.globalState.get(SCORE_KEY)), concept, item.id, feedback.correct, new Date());
    await this.context.globalState.update(SCORE_KEY, book);
    const conceptInfo = this.concepts.find((c) => c.id === concept);
    await this.panel?.webview.postMessage({
      type: 'feedback',
      item: item.id,
      correct: feedback.correct,
      picked,
      right: feedback.rightChoices,
      html: renderFeedback(item, feedback),
      score: { concept, text: describeScore(book[concept], conceptInfo?.quiz ?? [item.id]) },
    });
  }
}
