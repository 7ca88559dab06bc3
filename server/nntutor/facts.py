"""Facts about one document, computed once per version with a single tree-sitter query.

Everything the rules need to follow values: imports, bindings (who assigned what, where),
calls, scopes (functions), loops and `with` blocks. Rules never walk the whole tree themselves.
"""
from __future__ import annotations

import builtins
import threading
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from operator import attrgetter

from .namescan import matches_from, whole_name_matches
from .parsing import (
    F_ATTRIBUTE,
    F_FUNCTION,
    F_LEFT,
    F_NAME,
    F_OBJECT,
    F_PARAMETERS,
    F_RIGHT,
    captures,
)
from .symbols import (
    canonical,
    collect_imports,
    qualname,
    star_exports,
    star_imports,
    star_module_of,
)
from .values import is_callee, is_method

_PATTERN = """
(import_statement) @import
(import_from_statement) @from
(assignment) @assign
(augmented_assignment) @aug
(call) @call
(function_definition) @def
(class_definition) @class
(with_statement) @with
(for_statement) @for
(while_statement) @while
(comment) @comment
"""


def _block_of(definition):
    """The block (or module) a definition is a statement of, through its decorators."""
    parent = definition.parent
    if parent is not None and parent.type == "decorated_definition":
        parent = parent.parent
    return parent


class Nested:
    """Properly nested ranges (functions, loops) with O(log n + depth) "innermost containing"
    lookups: a parent chain instead of scanning every range (files have thousands)."""

    __slots__ = ("nodes", "starts", "ends", "parent")

    def __init__(self, nodes, inner: bool = True):
        self.nodes = nodes
        self.starts = [n.start_byte for n in nodes]
        self.ends = [n.end_byte for n in nodes]
        self.parent = [-1] * len(nodes)
        stack: list[int] = []
        for i, (start, end) in enumerate(zip(self.starts, self.ends)):
            while stack and self.ends[stack[-1]] <= start:
                stack.pop()
            self.parent[i] = stack[-1] if stack else -1
            stack.append(i)

    def innermost(self, pos: int) -> int:
        """Index of the innermost range with start < pos < end, or -1."""
        i = bisect_right(self.starts, pos) - 1
        while i >= 0 and not (self.starts[i] < pos < self.ends[i]):
            i = self.parent[i]
        return i

    def chain(self, pos: int) -> list:
        """All ranges containing pos, outermost first."""
        out = []
        i = self.innermost(pos)
        while i >= 0:
            out.append(self.nodes[i])
            i = self.parent[i]
        out.reverse()
        return out


@dataclass(slots=True)
class Binding:
    name: str
    target: object        # the identifier node that receives the value
    value: object | None  # the right-hand side expression (None: unknown, e.g. a parameter)
    index: int | None     # position in a tuple unpack, None for a plain assignment
    count: int            # number of targets in that unpack
    kind: str             # assign | for | with | param | aug
    scope: int            # start byte of the enclosing function, -1 for module level
    pos: int              # start byte of the statement (order of execution within a scope)
    end: int = -1         # end byte of the statement


class Facts:
    def __init__(self, doc):
        self.doc = doc
        text = doc.text
        self.text = text
        caps = captures(_PATTERN, doc.tree.root_node)
        self.imports = collect_imports(caps.get("import", ()), caps.get("from", ()), text)
        self.import_statements = caps.get("import", []) + caps.get("from", [])
        self.star_modules = star_imports(caps.get("from", ()), text)
        for module in self.star_modules:
            for local, qual in star_exports(module).items():
                self.imports.setdefault(local, qual)   # an explicit import of the name wins
        self.calls = caps.get("call", [])
        self.functions = caps.get("def", [])
        self.classes_nodes = caps.get("class", [])
        self.withs = caps.get("with", [])
        self.loops = caps.get("for", []) + caps.get("while", [])
        self.loops.sort(key=lambda n: n.start_byte)
        self.comments = caps.get("comment", [])
        self._comment_starts = [c.start_byte for c in self.comments]
        self.aug_assigns = caps.get("aug", [])
        self._funcs = Nested(self.functions)
        self._loops = Nested(self.loops)
        self._scope_cache: dict[int, int] = {}
        self._matches: dict = {}  # compiled pattern -> code_matches(pattern)
        self._identifiers: dict = {}  # name -> identifiers_named(name)
        self.bindings: dict[str, list[Binding]] = {}
        self.assignments = caps.get("assign", [])
        for node in self.assignments:
            left = node.child_by_field_id(F_LEFT)
            right = node.child_by_field_id(F_RIGHT)
            self._bind_target(left, right, "assign", node)
        for node in self.aug_assigns:
            left = node.child_by_field_id(F_LEFT)
            if left is not None and left.type == "identifier":
                self._add(text(left), left, node, None, 1, "aug", node)
        for loop in caps.get("for", ()):
            self._bind_target(loop.child_by_field_id(F_LEFT), loop.child_by_field_id(F_RIGHT),
                              "for", loop)
        for func in self.functions:
            params = func.child_by_field_id(F_PARAMETERS)
            if params is None:
                continue
            for p in params.named_children:
                ident = p if p.type == "identifier" else p.child_by_field_id(F_NAME) or (
                    p.named_children[0] if p.named_children else None)
                if ident is not None and ident.type == "identifier":
                    self._add(text(ident), ident, None, None, 1, "param", func, scope=func.start_byte)
        self._by_call_func: dict[tuple[int, int], str | None] = {}
        self._calls_by_name: dict[str, list] | None = None
        self._calls_by_method: dict[str, list] | None = None
        self._calls_by_last: dict[str, list] | None = None
        self._called_calls: list | None = None
        self._receivers: dict[str, list] = {}
        self._plain_in_order: list | None = None
        self._binding_index: dict[tuple[str, int], tuple[list[int], list[Binding]]] | None = None
        self._module_last: dict[str, Binding] | None = None
        self._no_grad_ranges: Nested | None = None
        self._model_classes: dict | None = None   # models.index_classes, once per version
        self._class_definitions: dict = {}        # name -> [(class node, mode_dependent)], by models
        # A hover and the diagnostics pass share one version's facts from two threads: the
        # indexes built on first use are built once, each under its own lock, and the second
        # thread waits for the one it needs (computing them twice while both fight for the GIL
        # costs each twice). Order: the class index (models.py) may take the other two.
        self.call_index_lock = threading.Lock()
        self.binding_index_lock = threading.Lock()
        self.class_index_lock = threading.Lock()
        self._functions_by_name: dict[str, list] | None = None
        self._classes_by_name: dict | None = None
        self._plain_defs: dict[str, list] = {}   # name -> [(def, its scope)], methods left out
        self._in_effect: dict = {}               # (name, call position) -> def or None

    # -- bindings -------------------------------------------------------------------------
    def _bind_target(self, left, right, kind, stmt):
        if left is None:
            return
        if left.type == "identifier":
            self._add(self.text(left), left, right, None, 1, kind, stmt)
        elif left.type in ("pattern_list", "tuple_pattern", "list_pattern", "tuple", "list"):
            items = [c for c in left.named_children]
            for i, item in enumerate(items):
                if item.type == "identifier":
                    self._add(self.text(item), item, right, i, len(items), kind, stmt)
                elif item.type in ("tuple_pattern", "list_pattern", "pattern_list", "tuple") and kind == "for":
                    for sub in item.named_children:
                        if sub.type == "identifier":
                            self._add(self.text(sub), sub, right, None, 0, kind, stmt)

    def _add(self, name, target, value, index, count, kind, stmt, scope=None):
        if scope is None:
            scope = self.scope_id(stmt.start_byte)
        self.bindings.setdefault(name, []).append(
            Binding(name, target, value, index, count, kind, scope, stmt.start_byte, stmt.end_byte))

    def functions_named(self, name: str) -> list:
        """The `def name(...)` definitions (any depth), in document order."""
        if self._functions_by_name is None:
            by_name: dict[str, list] = {}
            for fn in self.functions:
                ident = fn.child_by_field_id(F_NAME)
                if ident is not None:
                    by_name.setdefault(self.text(ident), []).append(fn)
            self._functions_by_name = by_name
        return self._functions_by_name.get(name, [])

    def class_named(self, name: str):
        """The first `class name(...)` definition of the file (any depth), or None."""
        if self._classes_by_name is None:
            by_name: dict = {}
            for cls in self.classes_nodes:
                ident = cls.child_by_field_id(F_NAME)
                if ident is not None:
                    by_name.setdefault(self.text(ident), cls)
            self._classes_by_name = by_name
        return self._classes_by_name.get(name)

    def definition_in_effect(self, name: str, pos: int):
        """The `def name(...)` (not a method) that a plain call `name(...)` at `pos` runs, or None.
        A name defined more than once (a notebook's later cell redefines a helper): a call made
        where the definitions are, at module level say, runs the last one above it (the first
        one when none is above: cells run out of order); a call from inside a function runs
        when the module has loaded, so the last one. Definitions under different conditions
        (`if arch == "a": def build() ... else: def build()`, `try/except ImportError`) leave
        it unknown: None."""
        key = (name, pos)
        memo = self._in_effect
        if key in memo:
            return memo[key]
        defs = self._plain_defs.get(name)
        if defs is None:
            defs = self._plain_defs[name] = [(d, self.scope_id(d.start_byte))
                                             for d in self.functions_named(name) if not is_method(d)]
        if len(defs) <= 1:
            found = defs[0][0] if defs else None
        else:
            scope = self.scope_id(pos)
            here = [d for d, s in defs if s == scope] or [d for d, s in defs if s == -1] or [d for d, _ in defs]
            above = [d for d in here if d.end_byte <= pos] if any(s == scope for _, s in defs) else here
            found = above[-1] if above else here[0]
            block = _block_of(found)
            if any(_block_of(d) != block for d in here):
                found = None   # defined under different conditions: which one runs is not known
        memo[key] = found
        return found

    def function_at(self, pos: int):
        """Innermost function definition containing byte `pos` (its body, not its name)."""
        i = self._funcs.innermost(pos)
        return self.functions[i] if i >= 0 else None

    def scope_id(self, pos: int) -> int:
        cached = self._scope_cache.get(pos)
        if cached is None:
            i = self._funcs.innermost(pos)
            cached = self._scope_cache[pos] = self._funcs.starts[i] if i >= 0 else -1
        return cached

    def _index_bindings(self):
        with self.binding_index_lock:
            if self._binding_index is None:
                self._build_binding_index()

    def _build_binding_index(self):
        index: dict[tuple[str, int], tuple[list[int], list[Binding]]] = {}
        module_last: dict[str, Binding] = {}
        # One stable sort of all bindings (equal positions keep their order of discovery).
        everything = [b for entries in self.bindings.values() for b in entries]
        everything.sort(key=attrgetter("pos"))
        for b in everything:
            key = (b.name, b.scope)
            found = index.get(key)
            if found is None:
                found = index[key] = ([], [])
            found[0].append(b.pos)
            found[1].append(b)
            if b.scope == -1:
                module_last[b.name] = b
        self._module_last = module_last
        self._binding_index = index  # last: `binding` reads both once this is set

    def binding(self, name: str, pos: int) -> Binding | None:
        """The binding of `name` that reaches `pos`: the latest one before it in the same scope,
        else (a global read from a function) the latest module-level one."""
        if self._binding_index is None:
            self._index_bindings()
        scope = self.scope_id(pos)
        found = self._binding_index.get((name, scope))
        if found is not None:
            poses, items = found
            i = bisect_left(poses, pos) - 1
            while i >= 0:
                b = items[i]
                # `x = x.view(...)`: the right side reads the previous x
                if not (b.kind in ("assign", "aug") and b.pos < pos < b.end):
                    # equal positions (one statement binding the name twice): the last one wins
                    while i + 1 < len(items) and items[i + 1].pos == b.pos and items[i + 1].pos < pos:
                        i += 1
                        b = items[i]
                    return b
                i -= 1
        if scope != -1:
            return self._module_last.get(name)
        return None

    def assignment_of(self, ident) -> Binding | None:
        """The plain `name = value` reaching the identifier `ident` (not a tuple unpack, a loop
        variable, a parameter or an augmented assignment), or None."""
        b = self.binding(self.text(ident), ident.start_byte)
        if b is None or b.kind != "assign" or b.index is not None or b.value is None:
            return None
        return b

    # -- names ----------------------------------------------------------------------------
    def qual(self, node) -> str | None:
        if node is None:
            return None
        q = qualname(node, self.imports, self.text)
        if q is None and self.star_modules:
            q = self._star_qual(node)
        return q

    def _star_qual(self, node) -> str | None:
        """`precision_score(...)` or `StandardScaler()` after `from sklearn.metrics import *`:
        a plain name called there comes from the one module imported with `*`, unless it is a
        builtin or the file binds or defines it. Only callees: a name that is a receiver or an
        argument may be a comprehension's or a lambda's variable, which `bindings` does not
        hold. With several `*` imports the module must be told apart by the names it is known
        to bind (`symbols.star_module_of`), else it is unknown (None)."""
        if not self.star_modules or node.type != "identifier":
            return None
        if not is_callee(node):
            return None
        name = self.text(node)
        if name in _BUILTINS or name in self.bindings or self.functions_named(name) or any(
                self.text(c.child_by_field_id(F_NAME)) == name for c in self.classes_nodes
                if c.child_by_field_id(F_NAME) is not None):
            return None
        module = self.star_modules[0] if len(self.star_modules) == 1 else star_module_of(name, self.star_modules)
        return canonical(f"{module}.{name}") if module is not None else None

    def callee_qual(self, call) -> str | None:
        key = (call.start_byte, call.end_byte)  # `f()(x)`: outer and inner call start together
        if key not in self._by_call_func:
            self._by_call_func[key] = self.qual(call.child_by_field_id(F_FUNCTION))
        return self._by_call_func[key]

    # -- the call index ----------------------------------------------------------------
    def _index_calls(self):
        """One pass over every call: its callee's last name and receiver. Rules look calls up
        by name instead of each walking all of them (a 20,000-line file has ~13,000 calls, and
        every node access from Python costs)."""
        with self.call_index_lock:
            if self._called_calls is None:  # assigned last: the others are set when it is
                self._build_call_index()

    def _build_call_index(self):
        by_name: dict[str, list] = {}
        by_method: dict[str, list] = {}
        by_last: dict[str, list] = {}
        called_calls: list = []
        data = self.doc.data
        for call in self.calls:
            fn = call.child_by_field_id(F_FUNCTION)
            if fn is None:
                continue
            kind = fn.type
            if kind == "identifier":
                name = data[fn.start_byte:fn.end_byte].decode("utf-8", "replace")
                by_name.setdefault(name, []).append(call)
                by_last.setdefault(name, []).append(call)
            elif kind == "attribute":
                attr = fn.child_by_field_id(F_ATTRIBUTE)
                if attr is not None:
                    name = data[attr.start_byte:attr.end_byte].decode("utf-8", "replace")
                    by_method.setdefault(name, []).append((call, fn))  # receiver looked up on demand
                    by_last.setdefault(name, []).append(call)
            elif kind in ("call", "parenthesized_expression"):
                called_calls.append(call)
        self._calls_by_name, self._calls_by_method, self._calls_by_last = by_name, by_method, by_last
        self._called_calls = called_calls

    def calls_named(self, name: str) -> list:
        """Calls of a plain name, `name(...)` (not `obj.name(...)`), in document order."""
        if self._calls_by_name is None:
            self._index_calls()
        return self._calls_by_name.get(name, [])

    def plain_name_calls(self) -> dict[str, list]:
        """name -> its `name(...)` calls, for every plain name called."""
        if self._calls_by_name is None:
            self._index_calls()
        return self._calls_by_name

    def plain_name_calls_in_order(self) -> list:
        """Every `name(...)` call, in document order (computed once)."""
        if self._plain_in_order is None:
            calls = [c for cs in self.plain_name_calls().values() for c in cs]
            calls.sort(key=_call_order)
            self._plain_in_order = calls
        return self._plain_in_order

    def method_calls(self, method: str) -> list:
        """(call, receiver) for every `receiver.method(...)` call, in document order."""
        if self._calls_by_method is None:
            self._index_calls()
        found = self._receivers.get(method)
        if found is None:
            found = self._receivers[method] = [(call, fn.child_by_field_id(F_OBJECT))
                                               for call, fn in self._calls_by_method.get(method, ())]
        return found

    def calls_ending(self, *names: str) -> list:
        """Calls whose callee ends in one of `names` (`f(...)` or `x.y.f(...)`), in document order."""
        if self._calls_by_last is None:
            self._index_calls()
        if len(names) == 1:
            return self._calls_by_last.get(names[0], [])
        out = [c for n in names for c in self._calls_by_last.get(n, ())]
        out.sort(key=_call_order)
        return out

    def calls_by_last_name(self) -> dict[str, list]:
        """callee's last name -> its calls in document order (`f(...)` and `x.f(...)`)."""
        if self._calls_by_last is None:
            self._index_calls()
        return self._calls_by_last

    def calls_to(self, quals) -> list:
        """Calls whose callee resolves to one of the qualified names `quals` (any spelling:
        `nn.Softmax`, `torch.nn.Softmax`, an alias from `from torch.nn import Softmax as S`)."""
        names = {q.rsplit(".", 1)[-1] for q in quals}
        names.update(k for k, v in self.imports.items() if v in quals)
        return [c for c in self.calls_ending(*names) if self.callee_qual(c) in quals]

    def calls_of_calls(self) -> list:
        """Calls whose callee is itself a call or parenthesised: `nn.CrossEntropyLoss()(out, y)`."""
        if self._called_calls is None:
            self._index_calls()
        return self._called_calls

    def in_comment(self, pos: int) -> bool:
        """Byte `pos` lies in a `# comment`."""
        i = bisect_right(self._comment_starts, pos) - 1
        return i >= 0 and pos < self.comments[i].end_byte

    def identifiers_named(self, name: str) -> list:
        """Every identifier node `name` of the code (not in comments or strings, not an
        attribute `.name`), in text order. Computed once per name and version."""
        found = self._identifiers.get(name)
        if found is None:
            root = self.doc.tree.root_node
            found = []
            for m in whole_name_matches(self.doc.data, name.encode()):
                if self.in_comment(m.start()):
                    continue
                node = root.descendant_for_byte_range(m.start(), m.end())
                if node is None or node.type != "identifier" or node.end_byte != m.end():
                    continue
                parent = node.parent
                if parent.type == "keyword_argument" and parent.child_by_field_id(F_NAME) == node:
                    continue   # `f(name=...)`: the parameter's name, not this one
                found.append(node)
            self._identifiers[name] = found
        return found

    def code_matches(self, pattern) -> list:
        """Matches of the compiled bytes regex `pattern` outside comments: a rule that searches
        the text must not change its answer because a comment mentions a word. Computed once per
        pattern and version (rules ask again per loop or function; callers must not modify it)."""
        found = self._matches.get(pattern)
        if found is None:
            found = self._matches[pattern] = [m for m in pattern.finditer(self.doc.data)
                                              if not self.in_comment(m.start())]
        return found

    def code_in(self, node) -> str:
        """The text of `node` with its comments blanked (same length): for searches that must
        not be swayed by what a comment says."""
        start, end = node.start_byte, node.end_byte
        i = bisect_right(self._comment_starts, start)
        if i >= len(self.comments) or self.comments[i].start_byte >= end:
            return self.text(node)
        data = bytearray(self.doc.data[start:end])
        while i < len(self.comments) and self.comments[i].start_byte < end:
            c = self.comments[i]
            data[c.start_byte - start:c.end_byte - start] = b" " * (c.end_byte - c.start_byte)
            i += 1
        return data.decode("utf-8", errors="replace")

    def in_prose(self, pos: int) -> bool:
        """Byte `pos` lies in the text of a string literal that holds blank space: a docstring,
        a help text, a message. (A string without, such as a dict key, an environment variable's
        name or a file name, names something; code in an f-string's braces is code.)"""
        node = self.doc.tree.root_node.descendant_for_byte_range(pos, pos + 1)
        while node is not None:
            kind = node.type
            if kind == "interpolation":
                return False
            if kind == "string":
                content = self.doc.data[node.start_byte:node.end_byte]
                return any(c in content for c in (b" ", b"\t", b"\n"))
            if kind in _STATEMENT_LEVEL:
                return False
            node = node.parent
        return False

    def mentions(self, token: bytes) -> bool:
        """`token` occurs outside comments and prose strings (`in_prose`): for the words that
        tell what a file does (`DataParallel`, `is_available` ...), which a sentence that only
        talks about them must not stand for."""
        data = self.doc.data
        i = data.find(token)
        while i != -1:
            if not self.in_comment(i) and not self.in_prose(i):
                return True
            i = data.find(token, i + 1)
        return False

    def calls_at_text(self, *patterns) -> list:
        """Calls whose argument list holds a match of one of the compiled bytes regexes
        `patterns` (e.g. a keyword argument): found by searching the text, not by walking every
        call. Several patterns, not one alternation: each then keeps re's fast literal scan."""
        root = self.doc.tree.root_node
        out = []
        seen = set()
        data = self.doc.data
        for m in matches_from(patterns, data):
            before = data[m.start() - 1:m.start()] if m.start() > 0 else b""
            if before.isalnum() or before == b"_":
                continue  # inside a longer name (patterns start with a literal: `re` scans faster)
            node = root.descendant_for_byte_range(m.start(), m.start())
            while node is not None and node.type != "argument_list":
                if node.type in ("module", "block", "function_definition", "class_definition"):
                    node = None
                    break
                node = node.parent
            call = node.parent if node is not None else None
            if call is not None and call.type == "call" and call.start_byte not in seen:
                seen.add(call.start_byte)
                out.append(call)
        return out

    # -- structure helpers ---------------------------------------------------------------
    def loops_containing(self, pos: int) -> list:
        """Loops around `pos`, outermost first."""
        return self._loops.chain(pos)

    def innermost_loop(self, pos: int):
        i = self._loops.innermost(pos)
        return self.loops[i] if i >= 0 else None

    def assignments_in(self, node) -> list:
        """The assignments inside `node`, in document order."""
        return _nodes_within(self.assignments, node)

    def calls_in(self, node) -> list:
        return _nodes_within(self.calls, node)

    def _no_grad_regions(self) -> "Nested":
        """`with torch.no_grad()/inference_mode()` blocks and functions decorated with them."""
        if self._no_grad_ranges is None:
            nodes = [w for w in self.withs if self._is_no_grad_with(w)]
            # Decorators of the file that run the function under no_grad (`def nograd(f): def
            # new_f(*a): with torch.no_grad(): return f(*a)`, simple-faster-rcnn): by name.
            wrappers = set()
            for w in nodes:
                outer = self.function_at(w.start_byte)
                while outer is not None and self.function_at(outer.start_byte) is not None:
                    outer = self.function_at(outer.start_byte)
                name = outer.child_by_field_id(F_NAME) if outer is not None and outer != self.function_at(w.start_byte) else None
                params = outer.child_by_field_id(F_PARAMETERS) if name is not None else None
                first = params.named_children[0] if params is not None and params.named_children else None
                if first is not None and first.type == "typed_parameter" and first.named_children:
                    first = first.named_children[0]   # `def nograd(fn: Callable)`
                # the block must call the decorated function itself (`return f(*args)`), not
                # only do some bookkeeping under no_grad (an EMA update)
                if first is not None and first.type == "identifier" and any(
                        c.child_by_field_id(F_FUNCTION) is not None
                        and self.text(c.child_by_field_id(F_FUNCTION)) == self.text(first)
                        for c in self.calls_in(w)):
                    wrappers.add("@" + self.text(name))
            for func in self.functions:
                parent = func.parent
                if parent is not None and parent.type == "decorated_definition" and any(
                        dec.type == "decorator" and (_NO_GRAD_RE(self.text(dec)) or self.text(dec).strip() in wrappers)
                        for dec in parent.named_children):
                    nodes.append(func)
            nodes.sort(key=lambda n: (n.start_byte, -n.end_byte))
            self._no_grad_ranges = Nested(nodes)
        return self._no_grad_ranges

    def in_no_grad(self, pos: int) -> bool:
        """Inside `with torch.no_grad()/inference_mode()` or a function decorated with them."""
        return self._no_grad_regions().innermost(pos) >= 0

    def calls_in_no_grad(self) -> list:
        """Every call inside a no_grad region, in document order."""
        regions = self._no_grad_regions()
        out, last_end = [], -1
        for node in regions.nodes:  # outer regions first: skip those nested in one already taken
            if node.end_byte <= last_end:
                continue
            out.extend(c for c in self.calls_in(node) if c.start_byte > node.start_byte)
            last_end = node.end_byte
        return out

    def _is_no_grad_with(self, w) -> bool:
        clause = w.named_children[0] if w.named_children else None
        return clause is not None and _NO_GRAD_RE(self.text(clause))


_BUILTINS = frozenset(dir(builtins))
# Where the search for a string around a position stops: nothing above holds it.
_STATEMENT_LEVEL = frozenset({"module", "block", "expression_statement", "function_definition",
                              "class_definition"})


def _call_order(call):
    return (call.start_byte, -call.end_byte)


def _nodes_within(nodes, node) -> list:
    """The nodes of `nodes` (sorted by start) that start inside `node`."""
    end = node.end_byte
    out = []
    for n in nodes[_first_at_or_after(nodes, node.start_byte):]:
        if n.start_byte >= end:
            break
        out.append(n)
    return out


def _first_at_or_after(nodes, pos):
    lo, hi = 0, len(nodes)
    while lo < hi:
        mid = (lo + hi) // 2
        if nodes[mid].start_byte < pos:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _NO_GRAD_RE(s: str) -> bool:
    return "no_grad" in s or "inference_mode" in s
