// The Python extension's active environment, when that extension is installed. nntutor works
// without it (settings or `python3` on PATH), so every failure here just means "no answer".
import * as vscode from 'vscode';
import { PythonExtension } from '@vscode/python-extension';

const PYTHON_EXTENSION_ID = 'ms-python.python';

export function hasPythonExtension(): boolean {
  return vscode.extensions.getExtension(PYTHON_EXTENSION_ID) !== undefined;
}

/** The executable of the active environment for `resource`, or undefined. */
export async function activePython(resource: vscode.Uri | undefined, log: vscode.LogOutputChannel): Promise<string | undefined> {
  if (!hasPythonExtension()) return undefined;
  try {
    const api = await PythonExtension.api();
    const envPath = api.environments.getActiveEnvironmentPath(resource);
    const env = await api.environments.resolveEnvironment(envPath);
    // A conda env without python has no executable: then there is nothing to run.
    return env?.executable.uri?.fsPath ?? undefined;
  } catch (err) {
    log.warn(`Could not ask the Python extension for the active environment: ${String(err)}`);
    return undefined;
  }
}

/** Calls `listener` when the user picks another interpreter in the Python extension. */
export async function onActivePythonChanged(listener: () => void): Promise<vscode.Disposable | undefined> {
  if (!hasPythonExtension()) return undefined;
  try {
    const api = await PythonExtension.api();
    return api.environments.onDidChangeActiveEnvironmentPath(() => listener());
  } catch {
    return undefined;
  }
}

/** Opens the Python extension's interpreter picker, or our setting when it is not installed. */
export async function selectInterpreter(): Promise<void> {
  if (hasPythonExtension()) {
    await vscode.commands.executeCommand('python.setInterpreter');
  } else {
    await vscode.commands.executeCommand('workbench.action.openSettings', 'nntutor.interpreter');
  }
}
