// "Quiz me: <concept>" above the first line where each concept shows up in a Python file.
import * as vscode from 'vscode';
import { CONCEPTS_METHOD, parseConceptsResult } from './protocol';
import type { NntutorServer } from './server';

export class QuizCodeLensProvider implements vscode.CodeLensProvider {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;

  constructor(private readonly server: NntutorServer) {}

  /** Asks VS Code to re-query, e.g. when the server (re)starts or the setting changes. */
  refresh(): void {
    this.changed.fire();
  }

  async provideCodeLenses(document: vscode.TextDocument, token: vscode.CancellationToken): Promise<vscode.CodeLens[]> {
    // Wait for a starting server: VS Code asks for lenses as soon as the file opens.
    const client = await this.server.ready();
    if (!client || token.isCancellationRequested || !vscode.workspace.getConfiguration('nntutor', document.uri).get<boolean>('codeLens', true)) return [];
    try {
      const uri = client.code2ProtocolConverter.asUri(document.uri);
      const raw = await client.sendRequest(CONCEPTS_METHOD, { textDocument: { uri } }, token);
      const { concepts } = parseConceptsResult(raw);
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
    } catch {
      return []; // e.g. an older server without nntutor/concepts: no lenses, no noise
    }
  }

  dispose(): void {
    this.changed.dispose();
  }
}
