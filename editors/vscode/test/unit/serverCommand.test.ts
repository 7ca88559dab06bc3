import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  classifyImportCheck,
  expandVariables,
  importCheckArgs,
  pipInstallCommandLine,
  resolveServerCommand,
} from '../../src/serverCommand';

const ctx = { workspaceFolder: '/ws', userHome: '/home/u', env: { VENV: '/opt/venv' } };
const none = { path: '', interpreter: [] as string[] };

test('nntutor.path wins over everything and runs `<path> lsp`', () => {
  const cmd = resolveServerCommand({ path: '${workspaceFolder}/.venv/bin/nntutor', interpreter: ['/usr/bin/python3'] }, '/env/python', ctx);
  assert.deepEqual(cmd, { command: '/ws/.venv/bin/nntutor', args: ['lsp'], source: 'path' });
});

test('nntutor.interpreter runs `<python> [extra] -m nntutor lsp`', () => {
  const cmd = resolveServerCommand({ path: '', interpreter: ['~/py/bin/python', '-X', 'utf8'] }, '/env/python', ctx);
  assert.equal(cmd.command, '/home/u/py/bin/python');
  assert.deepEqual(cmd.args, ['-X', 'utf8', '-m', 'nntutor', 'lsp']);
  assert.deepEqual(cmd.python, ['/home/u/py/bin/python', '-X', 'utf8']);
  assert.equal(cmd.source, 'interpreter');
});

test('blank settings fall through to the Python extension, then python3', () => {
  assert.deepEqual(resolveServerCommand({ path: '  ', interpreter: [''] }, '/env/bin/python', ctx), {
    command: '/env/bin/python',
    args: ['-m', 'nntutor', 'lsp'],
    python: ['/env/bin/python'],
    source: 'python-extension',
  });
  assert.equal(resolveServerCommand(none, undefined, ctx, 'linux').command, 'python3');
  assert.equal(resolveServerCommand(none, undefined, ctx, 'win32').command, 'python');
  assert.equal(resolveServerCommand(none, undefined, ctx).source, 'default');
});

test('nntutor.fastStart adds --daemon (not on Windows), whatever starts the server', () => {
  const fast = { path: '', interpreter: ['/usr/bin/python3'], fastStart: true };
  assert.deepEqual(resolveServerCommand(fast, undefined, ctx, 'linux').args, ['-m', 'nntutor', 'lsp', '--daemon']);
  assert.deepEqual(resolveServerCommand({ ...fast, path: '/bin/nntutor' }, undefined, ctx, 'darwin').args, ['lsp', '--daemon']);
  assert.deepEqual(resolveServerCommand(fast, undefined, ctx, 'win32').args, ['-m', 'nntutor', 'lsp']);
  assert.deepEqual(resolveServerCommand({ ...fast, fastStart: false }, undefined, ctx, 'linux').args, ['-m', 'nntutor', 'lsp']);
});

test('variables: ~, ${userHome}, ${env:X}; unknown env becomes empty', () => {
  assert.equal(expandVariables('~', ctx), '/home/u');
  assert.equal(expandVariables('${userHome}/x', ctx), '/home/u/x');
  assert.equal(expandVariables('${env:VENV}/bin/python', ctx), '/opt/venv/bin/python');
  assert.equal(expandVariables('${env:NOPE}/p', ctx), '/p');
  assert.equal(expandVariables('a~b', ctx), 'a~b');
  // Without a workspace folder the placeholder stays, so the error message shows it.
  assert.equal(expandVariables('${workspaceFolder}/p', { userHome: '/h', env: {} }), '${workspaceFolder}/p');
});

test('import check and pip command line', () => {
  assert.deepEqual(importCheckArgs(['/p/python', '-I']), { command: '/p/python', args: ['-I', '-c', 'import nntutor'] });
  assert.equal(pipInstallCommandLine(['/usr/bin/python3'], 'linux'), '/usr/bin/python3 -m pip install -U nntutor');
  assert.equal(pipInstallCommandLine(["/my env/it's/python"], 'darwin'), `'/my env/it'\\''s/python' -m pip install -U nntutor`);
  assert.equal(
    pipInstallCommandLine(['C:\\Program Files\\Python\\python.exe'], 'win32'),
    "& 'C:\\Program Files\\Python\\python.exe' -m pip install -U nntutor",
  );
});

test('import check result: missing interpreter vs missing module', () => {
  assert.equal(classifyImportCheck(null), 'ok');
  assert.equal(classifyImportCheck({ code: 'ENOENT' }), 'no-python');
  assert.equal(classifyImportCheck({ code: 1 }), 'not-installed');
});
