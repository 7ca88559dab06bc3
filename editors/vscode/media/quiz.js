// Quiz webview script: wires clicks to messages for the extension, which checks the answer and
// sends back an already-escaped feedback fragment (rendered by src/quiz/html.ts).
// @ts-check
(function () {
  // eslint-disable-next-line no-undef
  const vscode = acquireVsCodeApi();

  /** @param {string} id */
  function itemById(id) {
    return Array.from(document.querySelectorAll('article.item')).find((a) => a instanceof HTMLElement && a.dataset.item === id);
  }

  /** @param {HTMLElement} article @param {string[]} picked */
  function answer(article, picked) {
    vscode.postMessage({ type: 'answer', item: article.dataset.item, picked });
  }

  document.addEventListener('click', (event) => {
    const target = event.target instanceof Element ? event.target.closest('button') : null;
    if (!target || target.disabled) return;
    const article = target.closest('article.item');
    if (!(article instanceof HTMLElement)) return;

    if (target.dataset.retry) {
      article.classList.remove('answered', 'correct', 'incorrect');
      for (const b of article.querySelectorAll('button')) {
        b.disabled = false;
        b.classList.remove('right', 'wrong');
        if (b.hasAttribute('aria-pressed')) b.setAttribute('aria-pressed', 'false');
      }
      const box = article.querySelector('.feedback');
      if (box) box.innerHTML = '';
      return;
    }
    if (target.dataset.check) {
      const picked = Array.from(article.querySelectorAll('button.choice[aria-pressed="true"]')).map(
        (b) => (b instanceof HTMLElement ? b.dataset.choice || '' : ''),
      );
      if (picked.length > 0) answer(article, picked);
      return;
    }
    const choice = target.dataset.choice;
    if (choice === undefined) return;
    if (article.dataset.type === 'multi') {
      // Multi-answer items are toggled, then submitted with "Check".
      target.setAttribute('aria-pressed', target.getAttribute('aria-pressed') === 'true' ? 'false' : 'true');
      return;
    }
    answer(article, [choice]);
  });

  window.addEventListener('message', (event) => {
    const msg = event.data;
    if (!msg || msg.type !== 'feedback') return;
    const article = itemById(msg.item);
    if (!(article instanceof HTMLElement)) return;
    article.classList.add('answered', msg.correct ? 'correct' : 'incorrect');
    for (const b of article.querySelectorAll('button')) {
      if (b.dataset.retry) continue;
      b.disabled = true;
      const c = b.dataset.choice;
      if (c === undefined) continue;
      if (msg.right.includes(c)) b.classList.add('right');
      else if (msg.picked.includes(c)) b.classList.add('wrong');
    }
    const box = article.querySelector('.feedback');
    if (box) box.innerHTML = msg.html; // escaped by the extension (src/quiz/html.ts)
    if (msg.score) {
      for (const s of document.querySelectorAll('[data-score]')) {
        if (s instanceof HTMLElement && s.dataset.score === msg.score.concept) s.textContent = msg.score.text;
      }
    }
  });
})();
