"""The least a pygls server can do: answer `initialize` and nothing else.

bench_lsp.py times its start beside nntutor's, so the report can say how much of nntutor's
start-up is the required stack (Python + pygls + lsprotocol) and how much is nntutor.
`--nntutor-startup`: the same empty server with nntutor's start-up measures (lsp/startup.py:
code cache, asyncio without ssl, lazily resolved converter), i.e. the floor nntutor could reach.
"""
import sys

kwargs = {}
if "--nntutor-startup" in sys.argv:
    from nntutor.lsp import startup

    cache = startup.prepare()
    kwargs["converter_factory"] = startup.converter

from pygls.lsp.server import LanguageServer  # noqa: E402

LanguageServer("floor", "0", **kwargs).start_io()
