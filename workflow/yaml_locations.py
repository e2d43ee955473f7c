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


def load_with_lines(text: str) -> tuple[Any, dict[Path, int]]:
    """Parse `text` with the safe loader; return (value, {path: line})."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        lines: dict[Path, int] = {}
        value = _build(loader, node, (), lines) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or str(exc)
        raise YamlError(
            f"the YAML does not parse: {problem}", mark.line + 1 if mark else None
        ) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"the YAML does not parse: {exc}", None) from None
    finally:
        loader.dispose()
    return value, lines


def _build(loader: yaml.SafeLoader, node: yaml.Node, path: Path, lines: dict[Path, int]) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if isinstance(key, list | dict):
                raise YamlError("a key must be a plain name", key_node.start_mark.line + 1)
            if key in result:
                raise YamlError(f"the key '{key}' appears twice", key_node.start_mark.line + 1)
            lines[path + (key,)] = key_node.start_mark.line + 1
            result[key] = _build(loader, value_node, path + (key,), lines)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, path + (i,), lines) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)
