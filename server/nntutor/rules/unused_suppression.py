"""unused-suppression: a `# nntutor: ignore[...]` that silences nothing.

Not a rule about the user's model: about the directives that turn rules off. The engine runs
it last (engine.py), once every other rule has had its findings checked against the
directives, and calls `audit` instead of `check`. A directive id is reported when:

* it names no rule (a typo, or a prefix such as `leakage`: directives take whole ids), or
* its rule ran on this file and reported nothing that the directive silenced (on its line,
  or anywhere for `ignore-file`), or
* it repeats an id named before it in the same directive. Rules turned off by the settings, and rules that crashed,
  are not judged: under other settings their directive may well be needed.

A bare `# nntutor: ignore` is reported when no rule reported anything on its line, and only
when every rule ran (with some turned off, it may be there for one of them). A `# nntutor:`
comment in no form nntutor reads (`ignore [x]`, `ignore: x`, `ignore[]`, an unclosed `[`) is
reported as a warning: it silences nothing. A directive that names `unused-suppression` itself
is left alone (that is how to keep one on purpose); a bare one does not silence this rule, or
it could never report a bare directive.
"""
from __future__ import annotations

from ..findings import Finding, Fix, Location, Severity, TextEdit
from ..suppressions import ALL, Silencer, Suppression, malformed
from . import Rule, all_rules

ID = "unused-suppression"


def check(ctx):
    """Never called for findings: `audit` needs the other rules' results (see engine.py)."""
    return iter(())


def audit(ctx, silencer: Silencer, ran: set[str], all_ran: bool):
    """`ran`: the rules that ran to the end on this file; `all_ran`: every rule did (none
    turned off or crashed), the condition for judging a bare directive."""
    known = all_rules()
    keep_lines = {s.line for s in silencer.all if not s.file_wide and ID in s.names()}
    if any(ID in s.names() for s in silencer.file_wide):
        return
    for bad in malformed(ctx.facts):
        if bad.line in keep_lines:
            continue
        yield _finding(ctx, bad.start, bad.end, Severity.WARNING,
                       "This `# nntutor:` comment is not a directive nntutor reads, so it silences "
                       "nothing: write `# nntutor: ignore[rule-id, ...]` (no space before `[`), a bare "
                       "`# nntutor: ignore`, or `# nntutor: ignore-file[rule-id]`.", None)
    for s in silencer.all:
        if not s.file_wide and s.line in keep_lines:
            continue
        if not s.ids:
            if ALL not in silencer.used(s) and all_ran:
                where = "in this file" if s.file_wide else "on this line"
                yield _finding(ctx, s.start, s.end, Severity.INFO,
                               f"Unused suppression: no rule reports anything {where}, so this "
                               f"directive silences nothing. Remove it.", _remove_directive(ctx, s))
            continue
        used = silencer.used(s)
        first, repeats, seen = [], [], set()
        for rid in s.ids:
            (repeats if rid.name in seen else first).append(rid)
            seen.add(rid.name)
        unused = [i for i in first if i.name != ID and i.name not in used
                  and (i.name not in known or i.name in ran)]
        whole = len(unused) == len(first)   # nothing named is needed: the directive goes
        for rid in unused:
            fix = _remove_directive(ctx, s) if whole else _remove_id(s, rid)
            if rid.name not in known:
                yield _finding(ctx, rid.start, rid.end, Severity.WARNING,
                               _unknown_message(rid.name, known), fix)
            else:
                where = "anywhere in this file" if s.file_wide else "on this line"
                yield _finding(ctx, rid.start, rid.end, Severity.INFO,
                               f"Unused suppression: `{rid.name}` reports nothing {where}, so "
                               f"this directive silences nothing. Remove it, or a later bug it "
                               f"would report goes unseen.", fix)
        if not whole:
            for rid in repeats:
                yield _finding(ctx, rid.start, rid.end, Severity.INFO,
                               f"`{rid.name}` is already named in this directive: the repeat "
                               f"silences nothing more. Remove it.", _remove_id(s, rid))


def _unknown_message(name: str, known) -> str:
    text = f"`{name}` is not an nntutor rule, so this directive silences nothing."
    prefixed = sorted(r for r in known if r.startswith(name.rstrip("-") + "-"))
    if prefixed:
        return (text + " A directive names whole rule ids, not prefixes: "
                + ", ".join(f"`{r}`" for r in prefixed[:4]) + (" ..." if len(prefixed) > 4 else "") + ".")
    import difflib  # only for a misspelt id: not worth importing with every server start

    close = difflib.get_close_matches(name.lower(), list(known), n=1, cutoff=0.6)
    if close:
        return text + f" Did you mean `{close[0]}`?"
    return text + " `nntutor rules` lists the rule ids."


def _finding(ctx, start: int, end: int, severity: Severity, message: str, fix: Fix | None) -> Finding:
    return Finding(ID, severity, message, Location.of(ctx.doc, start, end), RULE.concept, (), fix)


def _remove_id(s: Suppression, rid) -> Fix:
    """`ignore[a, b]` -> `ignore[a]`: the id and the separator before it (after it, for the first)."""
    i = s.ids.index(rid)
    if i > 0:
        start, end = s.ids[i - 1].end, rid.end
    else:
        start, end = rid.start, s.ids[1].start
    return Fix(f"Remove `{rid.name}` from the suppression", (TextEdit(start, end, ""),))


def _remove_directive(ctx, s: Suppression) -> Fix:
    """The directive goes; so does its comment when it holds nothing else, and the line when
    the comment was all there was on it."""
    data = ctx.doc.data
    rest_before = data[s.comment_start:s.start].strip(b" \t#")
    after = s.end
    while after < s.comment_end and data[after:after + 1] in (b" ", b"\t"):
        after += 1
    rest_after = data[after:s.comment_end]
    title = "Remove the unused suppression"
    if rest_after.startswith(b"#"):      # another comment follows (a noqa, a second directive): keep it
        return Fix(title, (TextEdit(s.start, after, ""),))
    if rest_before and not rest_after:   # `# note  # nntutor: ignore[x]`: keep the note
        start = s.start
        while start > s.comment_start and data[start - 1:start] in (b" ", b"\t"):
            start -= 1
        return Fix(title, (TextEdit(start, s.comment_end, ""),))
    if rest_after:                        # `# nntutor: ignore[x] because ...`: keep the reason
        start = s.start if rest_before else s.comment_start
        return Fix(title, (TextEdit(start, after, "" if rest_before else "# "),))
    # The comment is only the directive: remove it with the blank space before it, or the
    # whole line when nothing else is on it.
    idx = ctx.doc.index
    line = idx.line_of(s.comment_start)
    line_start = idx.starts[line]
    start = s.comment_start
    while start > line_start and data[start - 1:start] in (b" ", b"\t"):
        start -= 1
    end = s.comment_end
    if start == line_start:
        nxt = idx.starts[line + 1] if line + 1 < len(idx.starts) else len(data)
        end = nxt
    return Fix(title, (TextEdit(start, end, ""),))


RULE = Rule(ID, Severity.INFO, "", "Suppression that silences nothing", check)
