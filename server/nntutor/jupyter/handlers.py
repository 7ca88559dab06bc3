"""REST API for the sidebar, under <base_url>/nntutor/api/ (jupyter_server handlers).

GET  quiz?path=NB[&limit=N]  items for the concepts of notebook NB first, then spaced repetition
POST answer {item_id, choice} checked and recorded here; explanations + interview question back
GET  progress                score per concept
GET  demo?concept=ID         the demo cell source for a concept (or a demo id)
"""
from __future__ import annotations

import json

from jupyter_core.utils import ensure_async
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from . import service


class _Handler(APIHandler):
    def store(self):
        # Opened on first use, not at server start: a server that never quizzes makes no file.
        store = self.settings.get("nntutor_store")
        if store is None:
            from ..quiz import ProgressStore

            # <Jupyter data dir>/nntutor/progress.sqlite3, the file the ipywidget uses too.
            store = self.settings["nntutor_store"] = ProgressStore()
        return store

    def reply(self, data) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))


class QuizHandler(_Handler):
    @web.authenticated
    async def get(self):
        path = self.get_query_argument("path", "")
        try:
            limit = max(1, min(int(self.get_query_argument("limit", "10")), 50))
        except ValueError:
            raise web.HTTPError(400, "limit must be a number") from None
        concepts = []
        if path:
            if not path.endswith(".ipynb"):
                raise web.HTTPError(400, f"not a notebook: {path}")
            # Through the contents manager: it knows the root dir, checkpoints and permissions.
            model = await ensure_async(self.contents_manager.get(path, content=True, type="notebook"))
            try:  # in the event loop: the engine takes milliseconds on a notebook
                concepts = service.notebook_concepts(json.dumps(model["content"]), path)
            except ValueError as exc:  # NotebookError: a notebook we cannot read is no quiz
                raise web.HTTPError(422, str(exc)) from None
        reasons = {c["id"]: c["reason"] for c in concepts}
        store = self.store()
        items = service.items_for([c["id"] for c in concepts], store, limit, reasons=reasons)
        self.reply({"path": path, "concepts": concepts, "items": items,
                    "scores": service.scores(store)})


class AnswerHandler(_Handler):
    @web.authenticated
    async def post(self):
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            raise web.HTTPError(400, "body must be JSON: {\"item_id\": ..., \"choice\": ...}") from None
        if not isinstance(body, dict) or not isinstance(body.get("item_id"), str) or "choice" not in body:
            raise web.HTTPError(400, "body must be JSON: {\"item_id\": ..., \"choice\": ...}")
        try:
            result = service.check(body["item_id"], body["choice"], self.store())
        except KeyError:
            raise web.HTTPError(404, f"unknown quiz item {body['item_id']!r}") from None
        except ValueError as exc:
            raise web.HTTPError(400, str(exc)) from None
        self.reply(result)


class ProgressHandler(_Handler):
    @web.authenticated
    async def get(self):
        self.reply({"scores": service.scores(self.store())})


class DemoHandler(_Handler):
    @web.authenticated
    async def get(self):
        concept = self.get_query_argument("concept", "")
        demo = service.demo_for(concept) if concept else None
        if demo is None:
            raise web.HTTPError(404, f"no demo for concept {concept!r}")
        self.reply(demo)


def setup_handlers(web_app) -> None:
    base = url_path_join(web_app.settings["base_url"], "nntutor", "api")
    web_app.add_handlers(".*$", [
        (url_path_join(base, "quiz"), QuizHandler),
        (url_path_join(base, "answer"), AnswerHandler),
        (url_path_join(base, "progress"), ProgressHandler),
        (url_path_join(base, "demo"), DemoHandler),
    ])
