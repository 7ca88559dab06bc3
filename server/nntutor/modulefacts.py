"""Facts about a call of a torch module's own method, for the hover: `model.eval()`,
`model.train()`, `model.state_dict()`.

What these calls do depends on the model they are called on (has it dropout or batch norm?) and
on what happens to their result (is the state dict kept while training goes on?), so the facts
come from the model's class (models.py, this file or the workspace) and from the rules that
judge the same code (best-weights-not-copied), never from running anything."""
from __future__ import annotations

import re

from .values import Values, args_of, literal_value, method_call, strip

# Layers whose forward differs between train() and eval() (the ones the hover names).
_MODE_LAYER = re.compile(r"(?:^|\.)(?:\w*Dropout\w*|\w*BatchNorm\w*|InstanceNorm\w*)$")
_MAX_NAMED = 4


def module_method_facts(doc, target, workspace=None) -> list[str]:
    """Lines for `target` (a call of torch.nn.Module.eval / .train / .state_dict); []
    when there is nothing certain to say."""
    method = target.qual.rsplit(".", 1)[-1]
    receiver, _ = method_call(target.call)
    if receiver is None:
        return []
    values = Values(doc.facts, workspace)
    if method in ("eval", "train"):
        return _mode_facts(doc, target.call, strip(receiver), method, values)
    if method == "state_dict":
        return _state_dict_facts(doc, target.call, strip(receiver), values)
    return []


def _mode_facts(doc, call, receiver, method, values) -> list[str]:
    from .rules import RuleContext
    from .rules._training import model_is_mode_dependent
    from .rules.missing_eval_mode import RULE

    pos, kw = args_of(call)
    mode_arg = pos[0] if pos else kw.get("mode")
    to_train = True
    if method == "train" and mode_arg is not None:
        value = literal_value(mode_arg)
        if value is False:
            to_train = False
        elif value is not True:
            return []   # `model.train(is_training)`: which mode is unknown here
    name = doc.text(receiver)
    evaluating = method == "eval" or not to_train
    lines = [f"Switches `{name}` and all its submodules to evaluation mode (same as `.train(False)`). "
             "It does not stop gradient tracking: evaluate inside `torch.no_grad()` (or "
             "`torch.inference_mode()`) as well." if evaluating else
             f"Switches `{name}` and all its submodules back to training mode. It trains nothing by "
             "itself: only the forward passes, `backward()` and optimizer steps that follow do."]
    dependent = model_is_mode_dependent(RuleContext(doc, RULE, values), receiver)
    qual, _ = values.instance(receiver)
    shown = f"`{qual.rsplit('.', 1)[-1]}`" if qual else f"`{name}`"
    if dependent is True:
        layers = _mode_layers(values, qual) if qual else []
        what = f" ({', '.join(layers)})" if layers else ""
        change = ("dropout now passes every activation through, and batch norm normalises with its "
                  "running statistics instead of the batch's and stops updating them" if evaluating else
                  "dropout zeroes activations again, and batch norm uses (and updates) the batch's "
                  "statistics")
        lines.append(f"{shown} has layers that behave differently in this mode{what}: {change}.")
    elif dependent is False:
        lines.append(f"{shown} has no dropout or batch-norm layer, so its outputs are the same in "
                     "both modes today; keep the call anyway: it costs nothing and stays right when "
                     "such a layer is added.")
    return lines


def _mode_layers(values, qual) -> list[str]:
    """`drop1` (Dropout), `bn` (BatchNorm2d) ...: the mode-dependent layers a model class of the
    project builds as attributes (none known for a class summarised from another file)."""
    cls = values.local_class(qual)
    if cls is None:
        return []
    named = [f"`{attr}` ({layer.rsplit('.', 1)[-1]})" for attr, (layer, _) in cls.layers.items()
             if isinstance(layer, str) and _MODE_LAYER.search(layer)]
    if len(named) > _MAX_NAMED:
        named = named[:_MAX_NAMED] + [f"{len(named) - _MAX_NAMED} more"]
    return named


def _state_dict_facts(doc, call, receiver, values) -> list[str]:
    from .rules import RuleContext
    from .rules.best_weights_not_copied import RULE, unsafe_snapshot

    name = doc.text(receiver)
    lines = [f"A dict from parameter and buffer names to `{name}`'s own tensors, detached but "
             "**not copied**: they share storage with the live weights, so every later optimizer "
             "step changes them too.",
             f"To keep the weights of this moment: `copy.deepcopy({name}.state_dict())`, or save "
             f"them at once (`torch.save({name}.state_dict(), path)` writes the current values)."]
    found = unsafe_snapshot(RuleContext(doc, RULE, values), call, receiver)
    if found is not None:
        target, use_text = found
        lines.append(f"⚠ `{target}` keeps it without a copy while training goes on, and later "
                     f"{use_text} what it then holds: the latest weights, not the best ones (see "
                     "the rule best-weights-not-copied).")
    return lines
