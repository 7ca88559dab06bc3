// How to start the server: pure logic, no `vscode` import, so it is unit-tested in plain node.
// Order (as in Microsoft's Python tool extensions): nntutor.path > nntutor.interpreter >
// the Python extension's active environment > a plain `python3` on PATH.

export interface ServerSettings {
  /** `nntutor.path`: the nntutor executable; run as `<path> lsp`. */
  path: string;
  /** `nntutor.interpreter`: `[python, ...extra args]`; run as `<python> ... -m nntutor lsp`. */
  interpreter: string[];
  /** `nntutor.fastStart`: `lsp --daemon`, servers forked from a warm background process
   * (POSIX only; the server falls back to a normal start by itself when it cannot). */
  fastStart?: boolean;
}

export type CommandSource = 'path' | 'interpreter' | 'python-extension' | 'default';

export interface ServerCommand {
  command: string;
  args: string[];
  /** The Python to check and to install into; absent when `nntutor.path` is used. */
  python?: string[];
  source: CommandSource;
}

export interface VariableContext {
  workspaceFolder?: string;
  userHome: string;
  env: Record<string, string | undefined>;
}

/** Expands `~`, `${userHome}`, `${workspaceFolder}` and `${env:NAME}` the way settings users expect. */
export function expandVariables(value: string, ctx: VariableContext): string {
  let out = value.trim();
  if (out === '~' || out.startsWith('~/') || out.startsWith('~\\')) {
    out = ctx.userHome + out.slice(1);
  }
  out = out.replace(/\$\{userHome\}/g, ctx.userHome);
  if (ctx.workspaceFolder !== undefined) {
    out = out.replace(/\$\{workspaceFolder\}/g, ctx.workspaceFolder);
  }
  return out.replace(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => ctx.env[name] ?? '');
}

export function resolveServerCommand(
  settings: ServerSettings,
  activeEnvironmentPython: string | undefined,
  ctx: VariableContext,
  platform: string = process.platform,
): ServerCommand {
  const cmd = resolveBase(settings, activeEnvironmentPython, ctx, platform);
  if (settings.fastStart && platform !== 'win32') cmd.args.push('--daemon');
  return cmd;
}

function resolveBase(
  settings: ServerSettings,
  activeEnvironmentPython: string | undefined,
  ctx: VariableContext,
  platform: string,
): ServerCommand {
  const path = expandVariables(settings.path ?? '', ctx);
  if (path) {
    return { command: path, args: ['lsp'], source: 'path' };
  }
  const interpreter = (settings.interpreter ?? [])
    .filter((s) => typeof s === 'string')
    .map((s) => expandVariables(s, ctx))
    .filter((s) => s.length > 0);
  if (interpreter.length > 0) {
    return fromPython(interpreter, 'interpreter');
  }
  if (activeEnvironmentPython) {
    return fromPython([activeEnvironmentPython], 'python-extension');
  }
  return fromPython([platform === 'win32' ? 'python' : 'python3'], 'default');
}

function fromPython(python: string[], source: CommandSource): ServerCommand {
  const [command, ...extra] = python;
  return { command, args: [...extra, '-m', 'nntutor', 'lsp'], python, source };
}

/** Arguments that exit 0 only when `import nntutor` works in that interpreter. */
export function importCheckArgs(python: string[]): { command: string; args: string[] } {
  const [command, ...extra] = python;
  return { command, args: [...extra, '-c', 'import nntutor'] };
}

/** The line typed into a terminal to install nntutor into `python`. */
export function pipInstallCommandLine(python: string[], platform: string = process.platform): string {
  const words = [...python, '-m', 'pip', 'install', '-U', 'nntutor'];
  if (platform === 'win32') {
    // The default Windows terminal is PowerShell: a quoted program needs the call operator `&`.
    return '& ' + words.map(quotePowerShell).join(' ');
  }
  return words.map(quotePosix).join(' ');
}

export function quotePosix(word: string): string {
  return /^[A-Za-z0-9_\-+=.,/:@%]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export function quotePowerShell(word: string): string {
  return /^[A-Za-z0-9_\-+=.,/:\\]+$/.test(word) ? word : `'${word.replace(/'/g, "''")}'`;
}

export type ImportCheck = 'ok' | 'not-installed' | 'no-python';

/**
 * Interprets the result of the import check: a missing program (ENOENT) means the interpreter
 * itself is wrong; any other failure means nntutor is not importable there.
 */
export function classifyImportCheck(error: { code?: unknown } | null | undefined): ImportCheck {
  if (!error) return 'ok';
  if (error.code === 'ENOENT' || error.code === 'EACCES') return 'no-python';
  return 'not-installed';
}
