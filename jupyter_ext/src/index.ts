// JupyterLab plugin: the "nntutor quiz" sidebar, following the active notebook.
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { INotebookTracker, NotebookActions, NotebookPanel } from '@jupyterlab/notebook';
import { LabIcon } from '@jupyterlab/ui-components';

import { api } from './api';
import { QuizPanel } from './panel';

const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16"><g class="jp-icon3" fill="#616161">' +
  '<circle cx="5" cy="6" r="2.2"/><circle cx="5" cy="18" r="2.2"/><circle cx="12" cy="12" r="2.2"/>' +
  '<circle cx="19" cy="6" r="2.2"/><circle cx="19" cy="18" r="2.2"/>' +
  '<path d="M6.8 7.2 10.2 10.8M6.8 16.8l3.4-3.6M13.8 10.8l3.4-3.6M13.8 13.2l3.4 3.6" stroke="#616161" stroke-width="1.4"/></g></svg>';

export const nntutorIcon = new LabIcon({ name: 'nntutor:quiz', svgstr: ICON_SVG });

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'nntutor:quiz',
  description: 'Quiz on the concepts in the active notebook, with scores and demo cells.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ILayoutRestorer, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null
  ) => {
    const panel = new QuizPanel({ tryIt: concept => tryIt(tracker, concept) });
    panel.title.icon = nntutorIcon;
    app.shell.add(panel, 'right', { rank: 900 });
    if (restorer) {
      restorer.add(panel, panel.id);
    }

    // Re-query when the active notebook changes or is saved (its concepts may have changed).
    const refresh = () => {
      void panel.load(tracker.currentWidget ? tracker.currentWidget.context.path : '');
    };
    const onSaved = (_: DocumentRegistry.IContext<any>, state: DocumentRegistry.SaveState) => {
      if (state === 'completed') {
        void panel.load(panel.path, true);
      }
    };
    let watched: NotebookPanel | null = null;
    tracker.currentChanged.connect((_, nb) => {
      if (watched) {
        watched.context.saveState.disconnect(onSaved);
      }
      watched = nb;
      if (nb) {
        nb.context.saveState.connect(onSaved);
        void nb.context.ready.then(refresh);
      } else {
        refresh();
      }
    });
    void app.restored.then(refresh);

    const command = 'nntutor:open-quiz';
    app.commands.addCommand(command, {
      label: 'Open nntutor quiz',
      execute: () => app.shell.activateById(panel.id)
    });
    if (palette) {
      palette.addItem({ command, category: 'nntutor' });
    }
  }
};

/** Insert the concept's demo as a new cell below the active cell and run it. */
async function tryIt(tracker: INotebookTracker, concept: string): Promise<void> {
  const nbPanel = tracker.currentWidget;
  if (!nbPanel) {
    return;
  }
  const demo = await api.demo(concept);
  const notebook = nbPanel.content;
  NotebookActions.insertBelow(notebook);
  const cell = notebook.activeCell;
  if (!cell) {
    return;
  }
  cell.model.sharedModel.setSource(demo.source);
  await NotebookActions.run(notebook, nbPanel.sessionContext);
}

export default plugin;
