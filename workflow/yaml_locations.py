"""Load YAML into plain values while remembering the line of every key and item.

Validation messages point at a line; PyYAML's composed nodes know it, so we build the
values from the nodes ourselves and keep a map from each value's path to its line.
Duplicate keys, which PyYAML silently collapses, are reported too.
"""

from __future__ import annotations

from typing import Any

import yaml

Path = tuple[Any, ...]


class YamlError(Exception):
    """The text is not YAML (or repeats a key); carries the line."""

    def __init__(self, message: str, line: int | None):
        self.line = line
        super().__init__(message)


MAX_VALUES = 20_000
"""More values than any sane lifecycle has (the 256 KiB limit allows about this many);
bounds the work an alias-expanding document ("billion laughs") can cause."""
PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


def load_with_lines(text: str) -> tuple[Any, dict[Path, int]]:
    """Parse `text` with the safe loader; return (value, {path: line})."""
    try:
        loader = yaml.SafeLoader(text)  # the reader checks every character here, up front
    except yaml.reader.ReaderError as exc:
        raise YamlError(
            f"the document contains a control character (#x{exc.character:04x}) that YAML "
            "does not allow; remove it.",
            text.count("\n", 0, exc.position) + 1,
        ) from None
    try:
        node = loader.get_single_node()
        lines: dict[Path, int] = {}
        budget = [MAX_VALUES]
        value = _build(loader, node, (), lines, budget, set()) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or str(exc)
        raise YamlError(
            f"the YAML does not parse: {problem}", mark.line + 1 if mark else None
        ) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"the YAML does not parse: {exc}", None) from None
    except RecursionError:
        raise YamlError("the document is nested too deeply to be a workflow.", None) from None
    finally:
        loader.dispose()
    return value, lines


def _build(
    loader: yaml.SafeLoader,
    node: yaml.Node,
    path: Path,
    lines: dict[Path, int],
    budget: list[int],
    open_nodes: set[int],
) -> Any:
    """Build one value; refuse tags on collections, alias cycles and runaway expansion."""
    line = node.start_mark.line + 1
    budget[0] -= 1
    if budget[0] < 0:
        raise YamlError(
            f"the document has more than {MAX_VALUES} values (counting what aliases "
            "repeat); a workflow never needs that many.",
            line,
        )
    lines.setdefault(path, line)
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
        if node.tag not in PLAIN_TAGS:
            raise YamlError(f"the tag '{node.tag}' is not allowed in a workflow.", line)
        if id(node) in open_nodes:
            raise YamlError("an alias refers to the value that contains it.", line)
        open_nodes.add(id(node))
        try:
            return _build_collection(loader, node, path, lines, budget, open_nodes)
        finally:
            open_nodes.discard(id(node))
    return loader.construct_object(node, deep=True)


def _build_collection(
    loader: yaml.SafeLoader,
    node: yaml.MappingNode | yaml.SequenceNode,
    path: Path,
    lines: dict[Path, int],
    budget: list[int],
    open_nodes: set[int],
) -> Any:
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(loader, item, path + (i,), lines, budget, open_nodes)
            for i, item in enumerate(node.value)
        ]
    loader.flatten_mapping(node)
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise YamlError("a key must be a plain name", key_node.start_mark.line + 1)
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise YamlError(f"the key '{key}' appears twice", key_node.start_mark.line + 1)
        lines[path + (key,)] = key_node.start_mark.line + 1
        result[key] = _build(loader, value_node, path + (key,), lines, budget, open_nodes)
    return result
