// Quiz items shaped as the server sends them (JSON of content/SCHEMA.md's example card).
export const single = {
  id: 'dropout-1',
  concept: 'dropout',
  type: 'single',
  seed: '000#16',
  difficulty: 1,
  question: 'What does `nn.Dropout(p=0.5)` do to activations during training?',
  options: [
    'Zeroes each activation with probability 0.5 and scales the survivors by 2',
    'Zeroes exactly half of the activations, no scaling',
    'Scales every activation by 0.5',
  ],
  answer: 0,
  explanations: ['Right: inverted dropout.', 'Wrong: the count varies.', 'Wrong: old-style test time.'],
};

export const multi = {
  id: 'dropout-4',
  concept: 'dropout',
  type: 'multi',
  seed: '000#16',
  difficulty: 2,
  question: 'Which layers behave differently in train and eval mode?',
  options: ['Dropout', 'BatchNorm2d', 'Linear', 'ReLU'],
  answer: [1, 0],
  explanations: ['Right: identity in eval.', 'Right: running stats in eval.', 'Wrong: same.', 'Wrong: same.'],
};

export const trueFalse = {
  id: 'dropout-2',
  concept: 'dropout',
  type: 'true-false',
  seed: '003#10',
  difficulty: 1,
  question: 'Dropout is active when you call model(x) after model.eval().',
  answer: false,
  explanations: ['Wrong: eval() switches nn.Dropout to the identity.', 'Right: eval() sets training=False.'],
};

export const spot = {
  id: 'dropout-3',
  concept: 'dropout',
  type: 'spot-the-bug',
  seed: '003#10',
  difficulty: 2,
  question: 'Which line makes the reported accuracy noisy and too low?',
  code: 'model.train()\nfor x, y in loader:\n    ...\nwith torch.no_grad():\n    acc = (model(x_val).argmax(1) == y_val).float().mean()\n',
  answer: 4,
  explanations: { '4': 'Right: still in training mode.', '1': 'Wrong: training mode is right for training.' },
  rule: 'missing-eval-mode',
};
