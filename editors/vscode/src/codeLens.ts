// "Quiz me: <concept>" above the first line where each concept shows up in a Python file.
import * as vscode from 'vscode';
import { CONCEPTS_METHOD, parseConceptsResult } from './protocol';
import type { NntutorServer } from './server';

export class QuizCodeLensProvider implements vscode.CodeLensProvider {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  // A lens query can reach the server before the file's didOpen (the answer then says `pending`)
  // or fail on the way (a server restarting, a request lost under load); it is then asked again
  // a few times, later each time (per document version: 0.25 s, 0.5 s ... 4 s).
  private readonly retries = new Map<string, { version: number; tries: number }>();
  private static readonly MAX_RETRIES = 5;
  private static readonly METHOD_NOT_FOUND = -32601;

  constructor(
    private readonly server: NntutorServer,
    private readonly log?: vscode.LogOutputChannel,
  ) {}

  /** Asks VS Code to re-query, e.g. when the server (re)starts or the setting changes. */
  refresh(): void {
    this.changed.fire();
  }

  async provideCodeLenses(document: vscode.TextDocument, token: vscode.CancellationToken): Promise<vscode.CodeLens[]> {
    // Wait for a starting server: VS Code asks for lenses as soon as the file opens.
    const client = await this.server.ready();
    if (!client) {
      // Asked again when the server reports it is running; and, in case that event came before
      // this answer went out, a few more times on the retry schedule.
      this.log?.info(`code lenses: no server running yet for ${document.uri.toString()}`);
      if (!token.isCancellationRequested) this.retryLater(document, true);
      return [];
    }
    if (token.isCancellationRequested || !vscode.workspace.getConfiguration('nntutor', document.uri).get<boolean>('codeLens', true)) return [];
    try {
      const uri = client.code2ProtocolConverter.asUri(document.uri);
      const raw = await client.sendRequest(CONCEPTS_METHOD, { textDocument: { uri } }, token);
      const { concepts, pending } = parseConceptsResult(raw);
      this.log?.debug(`code lenses: ${concepts.length} concepts${pending ? ' (pending)' : ''} for ${document.uri.toString()}`);
      this.retryLater(document, pending === true);
      return concepts
        .filter((c) => c.quiz.length > 0 && c.lines.length > 0)
        .map((c) => {
          const line = Math.min(Math.min(...c.lines), document.lineCount - 1);
          return new vscode.CodeLens(new vscode.Range(line, 0, line, 0), {
            title: `$(mortar-board) Quiz me: ${c.title}`,
            tooltip: c.summary,
            command: 'nntutor.quiz',
            arguments: [{ concept: c.id, uri: document.uri.toString() }],
          });
        });
    } catch (err) {
      // Cancelled: VS Code has asked again already. An older server without nntutor/concepts:
      // no lenses, no noise. Anything else: ask again later, as for a pending answer.
      const code = (err as { code?: unknown } | null)?.code;
      if (!token.isCancellationRequested) this.log?.info(`code lenses: ${document.uri.toString()}: ${String(err)}`);
      if (!token.isCancellationRequested && code !== QuizCodeLensProvider.METHOD_NOT_FOUND) {
        this.retryLater(document, true);
      }
      return [];
    }
  }

  private retryLater(document: vscode.TextDocument, again: boolean): void {
    const key = document.uri.toString();
    if (!again) {
      this.retries.delete(key);
      return;
    }
    const last = this.retries.get(key);
    const tries = last && last.version === document.version ? last.tries : 0;
    if (tries >= QuizCodeLensProvider.MAX_RETRIES) {
      this.log?.info(`code lenses: gave up asking for ${key} (version ${document.version}) until the next change`);
      return;
    }
    this.retries.set(key, { version: document.version, tries: tries + 1 });
    setTimeout(() => this.refresh(), 250 * 2 ** tries);
  }

  dispose(): void {
    this.changed.dispose();
  }
}
