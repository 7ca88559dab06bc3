// End-to-end test in a real VS Code (code-server 4.100.3 = VS Code 1.100.3) driven in Debian's
// headless Chromium: installs the packaged .vsix, opens a Python file and checks diagnostics,
// hover, the quiz code lens and webview, settings sync, restart, and the "not installed" prompt.
// Skips (exit 0) with a message when code-server, Chromium or a server to test against is absent.
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const extRoot = resolve(here, '../..');
const repoRoot = resolve(extRoot, '../..');
const vsix = join(extRoot, 'nntutor.vsix');
const artifacts = join(extRoot, 'test/e2e/.artifacts');

function skip(why) {
  console.log(`SKIP e2e: ${why}`);
  process.exit(0);
}

function findCodeServer() {
  const candidates = [
    process.env.CODE_SERVER,
    join(process.env.NNTUTOR_E2E_HOME ?? join(homedir(), '.cache/nntutor-e2e'), 'code-server-4.100.3/bin/code-server'),
  ];
  for (const c of candidates) if (c && existsSync(c)) return c;
  try {
    return execFileSync('sh', ['-c', 'command -v code-server'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The real server when `.venv/bin/nntutor lsp --help` works, else the pygls stand-in. */
function findServer(dir) {
  const real = join(repoRoot, '.venv/bin/nntutor');
  if (process.env.NNTUTOR_E2E_SERVER !== 'fake' && existsSync(real)) {
    try {
      execFileSync(real, ['lsp', '--help'], { stdio: 'ignore', timeout: 30_000 });
      return { kind: 'real', path: real };
    } catch {
      console.log(`note: ${real} exists but \`nntutor lsp --help\` fails; using the stand-in server`);
    }
  }
  const python = join(repoRoot, '.venv/bin/python');
  try {
    execFileSync(python, ['-c', 'import pygls, lsprotocol'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  const wrapper = join(dir, 'fake-nntutor');
  writeFileSync(wrapper, `#!/bin/sh\nexec "${python}" "${join(here, 'fake_server.py')}" "$@"\n`, { mode: 0o755 });
  return { kind: 'fake', path: wrapper };
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

async function waitForHttp(url, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer in ${ms} ms`);
}

const codeServer = findCodeServer();
const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';
if (!codeServer) skip('code-server not found (run test/e2e/install-code-server.sh, or set CODE_SERVER)');
if (!existsSync(chromiumPath)) skip(`Chromium not found at ${chromiumPath} (apt-get install -y chromium, or set CHROMIUM)`);
if (!existsSync(vsix)) skip('nntutor.vsix not built (npm run package)');
const { chromium } = await import('playwright-core');

const tmp = mkdtempSync(join(tmpdir(), 'nntutor-e2e-'));
const server = findServer(tmp);
if (!server) skip(`neither ${repoRoot}/.venv/bin/nntutor nor a Python with pygls in ${repoRoot}/.venv`);
console.log(`e2e: code-server ${codeServer}, server: ${server.kind} (${server.path})`);

const ws = join(tmp, 'workspace');
cpSync(join(here, 'workspace'), ws, { recursive: true });
const userData = join(tmp, 'data');
const extDir = join(tmp, 'extensions');
const record = join(tmp, 'record.jsonl');
writeFileSync(record, '');
const settingsFile = join(userData, 'User/settings.json');
mkdirSync(dirname(settingsFile), { recursive: true });
const baseSettings = {
  'nntutor.path': server.path,
  'nntutor.select': ['missing-eval-mode', 'double-softmax'],
  'nntutor.severity': { 'missing-eval-mode': 'error' },
  'security.workspace.trust.enabled': false,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'editor.hover.delay': 150,
  'nntutor.trace.server': 'verbose', // the LSP traffic lands in the extension's log, checked below
  // editSettings() types JSON into the settings editor: no auto-closing, or it ends up invalid.
  'editor.autoClosingBrackets': 'never',
  'editor.autoClosingQuotes': 'never',
  'editor.autoSurround': 'never',
};
writeFileSync(settingsFile, JSON.stringify(baseSettings, null, 2));

execFileSync(codeServer, ['--extensions-dir', extDir, '--user-data-dir', userData, '--install-extension', vsix], { stdio: 'inherit' });

const port = await freePort();
const cs = spawn(
  codeServer,
  [
    '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--config', join(tmp, 'config.yaml'),
    '--user-data-dir', userData, '--extensions-dir', extDir,
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override',
    '--ignore-last-opened', ws,
  ],
  { env: { ...process.env, NNTUTOR_FAKE_RECORD: record }, stdio: ['ignore', 'pipe', 'pipe'] },
);
const csLog = join(tmp, 'code-server.log');
cs.stdout.on('data', (d) => appendFileSync(csLog, d));
cs.stderr.on('data', (d) => appendFileSync(csLog, d));

let passed = 0;
let failed = 0;
let skipped = 0;
const SKIP = Symbol('skip');
let browser;
let page;
async function check(name, fn) {
  const t0 = Date.now();
  try {
    if ((await fn()) === SKIP) {
      skipped++;
      console.log(`skip - ${name} (needs the stand-in server)`);
      return;
    }
    passed++;
    console.log(`ok - ${name} (${Date.now() - t0} ms)`);
  } catch (err) {
    failed++;
    console.log(`not ok - ${name}: ${String(err?.message ?? err).split('\n').slice(0, 6).join('\n    ')}`);
    if (page) {
      mkdirSync(artifacts, { recursive: true });
      await page.screenshot({ path: join(artifacts, `${name.replace(/\W+/g, '-')}.png`) }).catch(() => {});
    }
    // The extension's output channel (with the LSP trace) says what the server was asked and answered.
    try {
      mkdirSync(artifacts, { recursive: true });
      writeFileSync(join(artifacts, `${name.replace(/\W+/g, '-')}.nntutor.log`), extensionLog());
    } catch {}
  }
}
/** The extension's "nntutor" output channel, as VS Code writes it under the user data dir. */
function extensionLog() {
  const found = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name === 'nntutor.log' && p.includes('nntutor.nntutor')) found.push(readFileSync(p, 'utf8'));
    }
  };
  walk(join(userData, 'logs'));
  return found.join('\n');
}
const count = (text, needle) => text.split(needle).length - 1;
const records = (kind) =>
  readFileSync(record, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.kind === kind);
async function until(what, fn, ms = 20_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
async function runCommand(title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor();
  await page.keyboard.press('Enter');
}
/** Edits user settings the way a user does (settings.json editor, save): code-server does not
 * reliably notice a settings file changed behind its back. */
async function editSettings(extra) {
  await runCommand('Preferences: Open User Settings (JSON)');
  const editor = page.locator('.monaco-editor[data-uri$="settings.json"]');
  await editor.waitFor();
  await editor.locator('.view-lines').click();
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(JSON.stringify({ ...baseSettings, ...extra }));
  await page.keyboard.press('Control+S');
  const want = JSON.stringify({ ...baseSettings, ...extra });
  await until('settings saved', () => {
    try {
      return JSON.stringify(JSON.parse(readFileSync(settingsFile, 'utf8'))) === want;
    } catch {
      return false; // caught mid-write
    }
  });
  await runCommand('View: Close Editor');
}
/** Moves the mouse over the first occurrence of `word` in the editor text. */
async function hoverWord(word) {
  const box = await page.evaluate((w) => {
    const walker = document.createTreeWalker(document.querySelector('.monaco-editor .view-lines'), NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const i = n.textContent.indexOf(w);
      if (i >= 0) {
        const r = document.createRange();
        r.setStart(n, i);
        r.setEnd(n, i + w.length);
        const b = r.getBoundingClientRect();
        return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
      }
    }
    return null;
  }, word);
  if (!box) throw new Error(`"${word}" not found in the editor`);
  await page.mouse.move(box.x - 40, box.y + 60);
  await page.mouse.move(box.x, box.y, { steps: 5 });
}

try {
  await waitForHttp(`http://127.0.0.1:${port}/healthz`, 30_000);
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(ws)}`);
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });

  await check('opens model.py', async () => {
    await until('quick open', async () => {
      await page.keyboard.press('Control+P');
      return page.locator('.quick-input-widget input').isVisible();
    });
    await page.locator('.quick-input-widget input').fill('model.py');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'model.py' }).first().waitFor();
    await page.keyboard.press('Enter');
    await page.locator('.monaco-editor .view-lines', { hasText: 'Dropout' }).waitFor({ timeout: 20_000 });
  });

  await check('server gets initializationOptions from the settings', async () => {
    const want = { select: ['missing-eval-mode', 'double-softmax'], ignore: [], severity: { 'missing-eval-mode': 'error' }, exclude: [] };
    if (server.kind === 'fake') {
      const r = await until('initialize', () => records('initializationOptions')[0], 30_000);
      if (JSON.stringify(r.value) !== JSON.stringify(want)) throw new Error(`got ${JSON.stringify(r.value)}`);
    } else {
      // The verbose trace prints the initialize params, initializationOptions included.
      const pretty = JSON.stringify(want, null, 4).split('\n').join('\n    ');
      await until('initializationOptions in the trace', () => extensionLog().includes(`"initializationOptions": ${pretty}`), 30_000);
    }
  });

  await check('diagnostic shows as a squiggle and in Problems', async () => {
    await page.locator('.monaco-editor .squiggly-error, .monaco-editor .squiggly-warning, .monaco-editor .squiggly-info').first().waitFor({ timeout: 30_000 });
    await page.keyboard.press('Control+Shift+M');
    const row = page.locator('.markers-panel .monaco-list-row', { hasText: server.kind === 'fake' ? 'missing-eval-mode' : 'nntutor' }).first();
    await row.waitFor({ timeout: 10_000 });
  });

  await check('hover on Dropout shows the teaching card', async () => {
    await until('hover', async () => {
      await hoverWord('Dropout');
      return page
        .locator('.monaco-hover:visible', { hasText: /Dropout/ })
        .first()
        .waitFor({ timeout: 3000 })
        .then(() => true, () => false);
    }, 30_000);
    if (server.kind === 'fake') await page.locator('.monaco-hover:visible', { hasText: 'stand-in server' }).first().waitFor();
    await page.keyboard.press('Escape');
    // Move the pointer off the word, or the hover opens again and stays over the editor.
    await page.mouse.move(5, 5);
  });

  await check('a "Quiz me" command link in a hover opens the quiz (trusted command)', async () => {
    if (server.kind === 'real') return SKIP; // the real server's hover has no such link (yet)
    await until('hover', async () => {
      await hoverWord('Dropout');
      return page.locator('.monaco-hover:visible a', { hasText: 'Quiz me' }).first().waitFor({ timeout: 3000 }).then(() => true, () => false);
    }, 30_000);
    await page.locator('.monaco-hover:visible a', { hasText: 'Quiz me' }).first().click();
    const quiz = page.frameLocator('iframe.webview.ready[src*="extensionId=nntutor.nntutor"]').frameLocator('iframe#active-frame');
    await quiz.locator('article.item').first().waitFor({ timeout: 20_000 });
  });

  await check('"Quiz me" code lens opens the quiz webview; answers get feedback', async () => {
    // The previous test left the focus in the Problems panel; VS Code may hold back code lens
    // updates for an editor without focus until it gets it (seen in about 1 run in 3), so click
    // into the editor first, as a user would.
    await page.locator('.monaco-editor .view-lines').first().click();
    const lens = page.locator('.codelens-decoration a', { hasText: 'Quiz me' }).first();
    await lens.waitFor({ timeout: 30_000 });
    await lens.click();
    const quiz = page.frameLocator('iframe.webview.ready[src*="extensionId=nntutor.nntutor"]').frameLocator('iframe#active-frame');
    await quiz.locator('article.item').first().waitFor({ timeout: 20_000 });
    // Answer the first single-choice item with option 1 and the first spot-the-bug with line 1.
    const single = quiz.locator('article.item[data-type="single"], article.item[data-type="true-false"]').first();
    await single.locator('button[data-choice]').first().click();
    await single.locator('.verdict').waitFor({ timeout: 10_000 });
    const verdict = await single.locator('.verdict').textContent();
    if (!/Right!|Not quite\./.test(verdict ?? '')) throw new Error(`verdict: ${verdict}`);
    await single.locator('.explanations li').first().waitFor();
    const scoreText = await quiz.locator('[data-score]').first().textContent();
    if (!/1\/1 right|0\/1 right/.test(scoreText ?? '')) throw new Error(`score line: ${scoreText}`);
    const spot = quiz.locator('article.item[data-type="spot-the-bug"]').first();
    if (await spot.count()) {
      await spot.locator('button.line').first().click();
      await spot.locator('.explanations').waitFor({ timeout: 10_000 });
    }
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'quiz.png') });
  });

  await check('notebook: cells are synced, diagnostics land in the cell, quiz works on the notebook', async () => {
    await until('quick open', async () => {
      await page.keyboard.press('Control+P');
      return page.locator('.quick-input-widget input').isVisible();
    });
    await page.locator('.quick-input-widget input').fill('notebook.ipynb');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'notebook.ipynb' }).first().waitFor();
    await page.keyboard.press('Enter');
    const cells = page.locator('.notebook-editor .cell-editor-container .monaco-editor');
    await cells.first().waitFor({ timeout: 20_000 });
    // Imports in one cell, the bug in another: the real server joins the cells to see it.
    await page
      .locator('.notebook-editor .monaco-editor .squiggly-error, .notebook-editor .monaco-editor .squiggly-warning')
      .first()
      .waitFor({ timeout: 30_000 });
    await page.locator('.notebook-editor .monaco-editor .view-lines', { hasText: 'Dropout' }).click();
    await runCommand('nntutor: Quiz me');
    const quiz = page.frameLocator('iframe.webview.ready[src*="extensionId=nntutor.nntutor"]').frameLocator('iframe#active-frame');
    await quiz.locator('h1', { hasText: 'notebook.ipynb' }).waitFor({ timeout: 20_000 });
    await quiz.locator('article.item').first().waitFor({ timeout: 20_000 });
    await page.screenshot({ path: join(artifacts, 'notebook.png') });
    await runCommand('View: Close All Editors');
    await until('quick open', async () => {
      await page.keyboard.press('Control+P');
      return page.locator('.quick-input-widget input').isVisible();
    });
    await page.locator('.quick-input-widget input').fill('model.py');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'model.py' }).first().waitFor();
    await page.keyboard.press('Enter');
    await page.locator('.monaco-editor .view-lines', { hasText: 'Dropout' }).waitFor();
  });

  await check('changed rule settings reach the running server', async () => {
    await editSettings({ 'nntutor.ignore': ['double-softmax'], 'nntutor.severity': { 'missing-eval-mode': 'hint' } });
    if (server.kind === 'fake') {
      const r = await until('didChangeConfiguration', () => records('didChangeConfiguration').at(-1), 20_000);
      const want = { nntutor: { select: ['missing-eval-mode', 'double-softmax'], ignore: ['double-softmax'], severity: { 'missing-eval-mode': 'hint' }, exclude: [] } };
      if (JSON.stringify(r.value) !== JSON.stringify(want)) throw new Error(`got ${JSON.stringify(r.value)}`);
    } else {
      // The real server drops the ignored rule's diagnostic: the squiggle goes away.
      await until('double-softmax squiggle gone', async () => (await page.locator('.monaco-editor .squiggly-error').count()) === 0, 20_000);
    }
  });

  await check('default (empty) rule settings run every rule', async () => {
    // What a fresh install sends: {select: [], ignore: [], severity: {}, exclude: []}. The real
    // server must read the empty lists as "not set" (it once read select=[] as "no rule").
    if (server.kind === 'fake') return SKIP;
    await editSettings({ 'nntutor.select': [], 'nntutor.ignore': [], 'nntutor.severity': {} });
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'model.py' }).first().dblclick();
    await page.locator('.monaco-editor .view-lines', { hasText: 'Dropout' }).waitFor({ timeout: 20_000 });
    await until('double-softmax squiggle back', async () => (await page.locator('.monaco-editor .squiggly-error').count()) > 0, 30_000);
  });

  await check('"nntutor: Restart Server" starts a new server', async () => {
    const starts = count(extensionLog(), 'Server command (from path)');
    await runCommand('nntutor: Restart Server');
    await until('a new server', () => count(extensionLog(), 'Server command (from path)') > starts, 20_000);
    await until('the new server initialized', () => count(extensionLog(), "Received response 'initialize") > starts, 30_000);
  });

  await check('an interpreter without nntutor gets a clear message with Install / Select buttons', async () => {
    await editSettings({ 'nntutor.path': '', 'nntutor.interpreter': ['/usr/bin/python3'] });
    const toast = page.locator('.notification-toast', { hasText: 'nntutor is not installed in the Python interpreter' });
    await toast.waitFor({ timeout: 30_000 });
    await toast.locator('.monaco-button', { hasText: 'Install nntutor' }).waitFor();
    await toast.locator('.monaco-button', { hasText: 'Select interpreter' }).waitFor();
    await page.screenshot({ path: join(artifacts, 'not-installed.png') });
  });
} catch (err) {
  failed++;
  console.log(`not ok - e2e setup: ${err?.message ?? err}`);
} finally {
  await browser?.close().catch(() => {});
  cs.kill();
  if (failed) {
    mkdirSync(artifacts, { recursive: true });
    copyFileSync(csLog, join(artifacts, 'code-server.log'));
    console.log(`code-server log and screenshots: ${artifacts}`);
  }
  if (!process.env.NNTUTOR_E2E_KEEP) rmSync(tmp, { recursive: true, force: true });
}
console.log(`e2e: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed ? 1 : 0);
