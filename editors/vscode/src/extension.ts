// Entry point: wires the server, the commands, the quiz panel and the settings together.
import * as vscode from 'vscode';
import { QuizCodeLensProvider } from './codeLens';
import { parseQuizArgs } from './protocol';
import { onActivePythonChanged } from './python';
import { QuizPanel } from './quizPanel';
import { NntutorServer } from './server';
import { RESTART_SETTINGS, RULE_SETTINGS } from './settings';

let server: NntutorServer | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel('nntutor', { log: true });
  server = new NntutorServer(log);
  const quiz = new QuizPanel(context, server, log);
  const lenses = new QuizCodeLensProvider(server, log);
  const srv = server;

  context.subscriptions.push(
    log,
    server,
    quiz,
    lenses,
    vscode.commands.registerCommand('nntutor.restart', () => srv.restart()),
    vscode.commands.registerCommand('nntutor.showLog', () => log.show()),
    vscode.commands.registerCommand('nntutor.quiz', (arg?: unknown) => quiz.show(parseQuizArgs(arg))),
    vscode.languages.registerCodeLensProvider(
      [
        { scheme: 'file', language: 'python' },
        { scheme: 'untitled', language: 'python' },
      ],
      lenses,
    ),
    server.onDidChangeRunning((up) => up && lenses.refresh()),
    // The first lens query can reach the server before it has analysed the file (and comes back
    // empty); new diagnostics mean a fresh analysis, so ask again then.
    vscode.languages.onDidChangeDiagnostics((e) => {
      if (e.uris.some((u) => u.scheme === 'file' || u.scheme === 'untitled')) lenses.refresh();
    }),
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (RESTART_SETTINGS.some((s) => e.affectsConfiguration(s))) {
        await srv.restart();
      } else if (RULE_SETTINGS.some((s) => e.affectsConfiguration(s))) {
        await srv.sendRuleSettings();
      }
      if (e.affectsConfiguration('nntutor.codeLens')) lenses.refresh();
    }),
  );

  const pythonChanged = await onActivePythonChanged(() => {
    // Only matters when the interpreter comes from the Python extension, not from our settings.
    const config = vscode.workspace.getConfiguration('nntutor');
    if (!config.get<string>('path') && !(config.get<string[]>('interpreter') ?? []).length) void srv.restart();
  });
  if (pythonChanged) context.subscriptions.push(pythonChanged);

  void server.start(); // not awaited: activation should not wait for Python to start
}

export async function deactivate(): Promise<void> {
  await server?.stop();
}
