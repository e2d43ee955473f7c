"""The common edits of a lifecycle document, made from a form instead of by typing YAML:
add a state, add an event, attach a guard with its parameters, set a state's SLA behaviour.

Each edit reads the document, changes the parsed form and writes it back as YAML, so the
result is the same schema an admin would type (comments and layout are not kept; the editor
says so). An edit that cannot be made raises InvalidInput with sentences and changes
nothing; an edit that can be made may still leave the document invalid (a new state nothing
leads to yet), which the validator then reports, as it would for typed text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from workflow import rules
from workflow.definition import CLOCKS, SLA_BEHAVIOURS
from workflow.definition_types import COLOUR, NAME, RESERVED_EVENTS
from workflow.errors import InvalidInput
from workflow.yaml_locations import YamlError, load_with_lines


def _load(source: str) -> dict[str, Any]:
    try:
        doc, _ = load_with_lines(source)
    except YamlError as exc:
        raise InvalidInput(
            f"Fix the YAML before using the form (line {exc.line or '?'}: {exc})."
        ) from None
    if not isinstance(doc, dict):
        raise InvalidInput("The document must be a mapping with `workflow`, `states` and `events`.")
    for part in ("states", "events"):
        if doc.get(part) is None:
            doc[part] = {}
        if not isinstance(doc[part], dict):
            raise InvalidInput(f"`{part}` must be a mapping before the form can change it.")
    return doc


def _dump(doc: Mapping[str, Any]) -> str:
    """Block style for the structure, flow style for short lists and the `sla` mapping."""
    return yaml.safe_dump(
        dict(doc), sort_keys=False, allow_unicode=True, default_flow_style=None, width=100
    )


def _name(value: str, what: str) -> str:
    value = (value or "").strip()
    if not NAME.match(value):
        raise InvalidInput(
            f"The {what} name must be lower-case letters, digits and _, starting with a letter "
            f"(like 'waiting_on_vendor'), not {value!r}."
        )
    return value


def add_state(
    source: str,
    name: str,
    label: str = "",
    colour: str = "",
    sla: Mapping[str, str] | None = None,
    description: str = "",
) -> str:
    """A new state (neither initial nor final) with its SLA behaviour per clock."""
    doc = _load(source)
    name = _name(name, "state")
    if name in doc["states"]:
        raise InvalidInput(f"There is already a state called '{name}'.")
    spec: dict[str, Any] = {}
    if label.strip():
        spec["label"] = label.strip()
    if colour.strip():
        if not COLOUR.match(colour.strip()):
            raise InvalidInput(f"A colour looks like '#1a2b3c', not {colour!r}.")
        spec["colour"] = colour.strip()
    if description.strip():
        spec["description"] = description.strip()
    spec["sla"] = _sla(sla or {})
    doc["states"][name] = spec
    return _dump(doc)


def _sla(values: Mapping[str, str]) -> dict[str, str]:
    out = {}
    for clock in CLOCKS:
        behaviour = values.get(clock) or "run"
        if behaviour not in SLA_BEHAVIOURS:
            raise InvalidInput(
                f"The {clock.replace('_', ' ')} clock can run, pause or stop, not {behaviour!r}."
            )
        out[clock] = behaviour
    return out


def add_event(
    source: str,
    name: str,
    by: Sequence[str],
    sources: Sequence[str],
    target: str | None,
    label: str = "",
) -> str:
    """A new event from `sources` to `target` (None: an internal event that stays put)."""
    doc = _load(source)
    name = _name(name, "event")
    if name in doc["events"]:
        raise InvalidInput(f"There is already an event called '{name}'.")
    if name in RESERVED_EVENTS:
        raise InvalidInput(f"'{name}' is reserved for the transition log; choose another name.")
    problems = []
    if not by:
        problems.append("Say who may fire the event.")
    problems += [f"'{r}' is not a role." for r in by if r not in rules.ROLES]
    if not sources:
        problems.append("Choose the states the event leaves.")
    known = doc["states"]
    problems += [f"There is no state called '{s}'." for s in sources if s not in known]
    if target and target not in known:
        problems.append(f"There is no state called '{target}'.")
    if problems:
        raise InvalidInput(problems)
    spec: dict[str, Any] = {}
    if label.strip():
        spec["label"] = label.strip()
    spec["by"] = list(by)
    spec["from"] = list(sources)
    if target:
        spec["to"] = target
    else:
        spec["internal"] = True
    doc["events"][name] = spec
    return _dump(doc)


def parse_params(rule: str, text: str) -> dict[str, Any]:
    """`min_length=3, message=Say why.` -> typed parameters, checked against the registry."""
    spec = rules.REGISTRY[rule]
    out: dict[str, Any] = {}
    problems = []
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        key, sep, raw = (s.strip() for s in item.partition("="))
        if not sep:
            problems.append(f"Write each parameter as name=value, not {item!r}.")
            continue
        param = spec.params.get(key)
        value: Any = raw
        if param is not None and param.type is int:
            value = int(raw) if raw.lstrip("-").isdecimal() else raw
        elif param is not None and param.type is bool:
            value = {"true": True, "yes": True, "false": False, "no": False}.get(raw.lower(), raw)
        problem = rules.check_param(rule, key, value)
        if problem:
            problems.append(problem[0].upper() + problem[1:])
        else:
            out[key] = value
    if problems:
        raise InvalidInput(problems)
    return out


def attach_guard(source: str, event: str, rule: str, params_text: str = "") -> str:
    """Attach a registry guard, with its parameters, to every transition of an event
    (replacing the same guard's earlier parameters)."""
    doc = _load(source)
    spec = doc["events"].get(event)
    if not isinstance(spec, dict):
        raise InvalidInput(f"There is no event called '{event}'.")
    if rule not in rules.REGISTRY:
        raise InvalidInput(
            f"There is no guard called '{rule}' (guards: {', '.join(sorted(rules.REGISTRY))})."
        )
    params = parse_params(rule, params_text)
    entry: Any = {rule: params} if params else rule
    blocks = spec.get("transitions") if isinstance(spec.get("transitions"), list) else [spec]
    for block in blocks:
        if not isinstance(block, dict):
            continue
        guards = block.get("guards") or []
        if not isinstance(guards, list):
            raise InvalidInput(f"The guards of '{event}' must be a list before adding one.")
        kept = [g for g in guards if g != rule and not (isinstance(g, dict) and rule in g)]
        block["guards"] = [*kept, entry]
    return _dump(doc)


def set_sla(source: str, state: str, clock: str, behaviour: str) -> str:
    """How one SLA clock behaves while a ticket is in `state`."""
    doc = _load(source)
    spec = doc["states"].get(state, ...)
    if spec is ...:
        raise InvalidInput(f"There is no state called '{state}'.")
    if clock not in CLOCKS:
        raise InvalidInput(f"There is no SLA clock called '{clock}' (clocks: {', '.join(CLOCKS)}).")
    if behaviour not in SLA_BEHAVIOURS:
        raise InvalidInput(f"A clock can run, pause or stop, not {behaviour!r}.")
    spec = spec if isinstance(spec, dict) else {}
    sla = spec.get("sla") if isinstance(spec.get("sla"), dict) else {}
    spec["sla"] = {**_sla({}), **sla, clock: behaviour}
    doc["states"][state] = spec
    return _dump(doc)


def names(source: str) -> tuple[list[str], list[str]]:
    """The state and event names of a document, for the form's lists ([] when unreadable)."""
    try:
        doc = _load(source)
    except InvalidInput:
        return [], []
    return [str(s) for s in doc["states"]], [str(e) for e in doc["events"]]
