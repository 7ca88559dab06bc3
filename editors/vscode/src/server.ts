// Owns the language client: resolves how to run the server, checks nntutor is importable,
// starts/stops/restarts, and keeps the server's rule settings in sync.
import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import * as os from 'node:os';
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification,
  DocumentDiagnosticRequest,
  LanguageClient,
  RevealOutputChannelOn,
  State,
  type DynamicFeature,
  type LanguageClientOptions,
  type ServerOptions,
  type StaticFeature,
} from 'vscode-languageclient/node';
import { activePython, selectInterpreter } from './python';
import {
  classifyImportCheck,
  importCheckArgs,
  pipInstallCommandLine,
  resolveServerCommand,
  type ServerCommand,
} from './serverCommand';
import { ruleSettings, type RuleSettings } from './settings';

/** Python files on disk and unsaved, and Python cells of any notebook (LSP 3.17 notebook sync). */
export const DOCUMENT_SELECTOR = [
  { scheme: 'file', language: 'python' },
  { scheme: 'untitled', language: 'python' },
  { notebook: '*', language: 'python' },
];

/**
 * A client without pull diagnostics. vscode-languageclient 9 never pulls for notebook cells
 * (vscode-languageserver-node#1464, fixed only in v10), and nntutor's server pushes only to
 * clients that cannot pull; so without this, notebooks would show no diagnostics at all.
 * Leaving the feature out drops the `textDocument.diagnostic` capability: the server then
 * pushes for files and cells alike.
 */
class PushDiagnosticsClient extends LanguageClient {
  override registerFeature(feature: StaticFeature | DynamicFeature<unknown>): void {
    const method = (feature as Partial<DynamicFeature<unknown>>).registrationType?.method;
    if (method === DocumentDiagnosticRequest.method) return;
    super.registerFeature(feature);
  }
}

export class NntutorServer implements vscode.Disposable {
  private client: LanguageClient | undefined;
  /** Start/stop/restart run one after another, never interleaved. */
  private queue: Promise<void> = Promise.resolve();
  private readonly stateEmitter = new vscode.EventEmitter<boolean>();
  /** Fires true when a server is up, false when it went away. */
  readonly onDidChangeRunning = this.stateEmitter.event;

  constructor(private readonly log: vscode.LogOutputChannel) {}

  get running(): LanguageClient | undefined {
    return this.client?.state === State.Running ? this.client : undefined;
  }

  /** The running client once any start/restart under way has finished, or undefined. */
  async ready(): Promise<LanguageClient | undefined> {
    await this.queue;
    return this.running;
  }

  start(): Promise<void> {
    return this.enqueue(() => this.doStart());
  }

  stop(): Promise<void> {
    return this.enqueue(() => this.doStop());
  }

  restart(): Promise<void> {
    return this.enqueue(async () => {
      await this.doStop();
      await this.doStart();
    });
  }

  /** Tells the running server about changed select/ignore/severity settings. */
  async sendRuleSettings(): Promise<void> {
    const client = this.running;
    if (!client) return;
    await client.sendNotification(DidChangeConfigurationNotification.type, {
      settings: { nntutor: this.readRuleSettings(vscode.workspace.workspaceFolders?.[0]?.uri) },
    });
  }

  dispose(): void {
    void this.stop();
    this.stateEmitter.dispose();
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    const next = this.queue.then(step, step);
    this.queue = next.catch((err) => this.log.error(`nntutor: ${String(err)}`));
    return next;
  }

  private readRuleSettings(scope?: vscode.Uri): RuleSettings {
    const { settings, problems } = ruleSettings(vscode.workspace.getConfiguration('nntutor', scope));
    for (const p of problems) this.log.warn(`Ignoring setting: ${p}`);
    return settings;
  }

  private async doStart(): Promise<void> {
    const folder = vscode.workspace.workspaceFolders?.[0];
    const config = vscode.workspace.getConfiguration('nntutor', folder?.uri);
    const settings = {
      path: config.get<string>('path') ?? '',
      interpreter: config.get<string[]>('interpreter') ?? [],
      fastStart: config.get<boolean>('fastStart') ?? false,
    };
    const fromPythonExtension = settings.path || settings.interpreter.length ? undefined : await activePython(folder?.uri, this.log);
    const cmd = resolveServerCommand(settings, fromPythonExtension, {
      workspaceFolder: folder?.uri.fsPath,
      userHome: os.homedir(),
      env: process.env,
    });
    this.log.info(`Server command (from ${cmd.source}): ${[cmd.command, ...cmd.args].join(' ')}`);
    if (!(await this.checkCommand(cmd))) return;

    const serverOptions: ServerOptions = {
      command: cmd.command,
      args: cmd.args,
      // No `transport`: with TransportKind.stdio the client would append `--stdio` to the args.
      options: { cwd: folder?.uri.fsPath, env: { ...process.env, PYTHONUNBUFFERED: '1' } },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: DOCUMENT_SELECTOR,
      outputChannel: this.log,
      traceOutputChannel: this.log,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: () => this.readRuleSettings(folder?.uri),
      // Hovers may link to the quiz (`command:nntutor.quiz?...`); no other command is trusted.
      markdown: { isTrusted: { enabledCommands: ['nntutor.quiz'] }, supportHtml: false },
      middleware: {
        workspace: {
          // A server that pulls `nntutor` settings gets the same mapped shape as initializationOptions.
          configuration: async (params, token, next) => {
            const result = await next(params, token);
            if (!Array.isArray(result)) return result;
            return result.map((value, i) => {
              const item = params.items[i];
              if (item?.section !== 'nntutor') return value;
              return this.readRuleSettings(item.scopeUri ? vscode.Uri.parse(item.scopeUri) : undefined);
            });
          },
        },
      },
    };
    const client = new PushDiagnosticsClient('nntutor', 'nntutor', serverOptions, clientOptions);
    client.onDidChangeState((e) => this.stateEmitter.fire(e.newState === State.Running));
    this.client = client;
    try {
      await client.start();
    } catch (err) {
      this.log.error(`The nntutor server did not start: ${String(err)}`);
      void vscode.window
        .showErrorMessage(`nntutor: the server did not start (${[cmd.command, ...cmd.args].join(' ')}).`, 'Show log')
        .then((pick) => pick && this.log.show());
    }
  }

  private async doStop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    try {
      if (client.needsStop()) await client.stop(2000);
    } catch (err) {
      this.log.warn(`Stopping the server: ${String(err)}`);
    }
    await client.dispose().catch(() => undefined);
    this.stateEmitter.fire(false);
  }

  /** Checks the command can work before starting it; explains and offers a fix when not. */
  private async checkCommand(cmd: ServerCommand): Promise<boolean> {
    if (!cmd.python) {
      const isPath = cmd.command.includes('/') || cmd.command.includes('\\');
      if (isPath && !(await exists(cmd.command))) {
        const pick = await vscode.window.showErrorMessage(
          `nntutor: the file set in nntutor.path does not exist: ${cmd.command}`,
          'Open settings',
        );
        if (pick) await vscode.commands.executeCommand('workbench.action.openSettings', 'nntutor.path');
        return false;
      }
      return true;
    }
    const result = await this.importCheck(cmd.python);
    if (result === 'ok') return true;
    const python = cmd.python.join(' ');
    const message =
      result === 'no-python'
        ? `nntutor: the Python interpreter "${python}" was not found. Select an interpreter that has nntutor installed.`
        : `nntutor is not installed in the Python interpreter "${python}". Install it there, or select another interpreter.`;
    const actions = result === 'no-python' ? ['Select interpreter'] : ['Install nntutor', 'Select interpreter'];
    void vscode.window.showErrorMessage(message, ...actions, 'Show log').then(async (pick) => {
      if (pick === 'Install nntutor') await this.install(cmd.python!);
      else if (pick === 'Select interpreter') await selectInterpreter();
      else if (pick === 'Show log') this.log.show();
    });
    return false;
  }

  private importCheck(python: string[]): Promise<'ok' | 'not-installed' | 'no-python'> {
    const { command, args } = importCheckArgs(python);
    return new Promise((resolve) => {
      execFile(command, args, { timeout: 30_000 }, (error, _stdout, stderr) => {
        const result = classifyImportCheck(error as { code?: unknown } | null);
        if (result !== 'ok') this.log.warn(`${command} ${args.join(' ')} failed: ${error?.message ?? ''}\n${stderr}`);
        resolve(result);
      });
    });
  }

  /** Runs pip in a terminal the user can watch, then starts the server once the import works. */
  private async install(python: string[]): Promise<void> {
    const terminal = vscode.window.createTerminal({ name: 'Install nntutor' });
    terminal.show();
    terminal.sendText(pipInstallCommandLine(python));
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 3000));
      if (this.client) return; // something else started it meanwhile
      const { command, args } = importCheckArgs(python);
      const ok = await new Promise<boolean>((resolve) => execFile(command, args, (error) => resolve(!error)));
      if (ok) {
        this.log.info('nntutor is now importable; starting the server.');
        await this.restart();
        return;
      }
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
