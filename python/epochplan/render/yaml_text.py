"""A small YAML emitter (no PyYAML dependency): sorted keys, JSON-quoted strings."""

from __future__ import annotations

import json
import math
import re
from typing import Any

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def _yaml_key(key: str) -> str:
    return key if _PLAIN_KEY.match(key) and key not in ("null", "true", "false") else _yaml_scalar(key)


def _yaml_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _yaml_float(value)
    if isinstance(value, int):
        return json.dumps(value)
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def _yaml_float(value: float) -> str:
    """A float as YAML 1.1 loaders (PyYAML) read one back: with a dot before any exponent
    (`6e+20` would be a string there), and `.inf` / `.nan` for the JSON spellings they lack."""
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    mantissa, e, exponent = text.partition("e")
    return f"{mantissa}.0e{exponent}" if e and "." not in mantissa else text


def _yaml_lines(value: Any, indent: int) -> list[str]:
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            return [pad + "{}"]
        lines = []
        for key in sorted(value):
            item = value[key]
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{_yaml_key(str(key))}:")
                lines.extend(_yaml_lines(item, indent + 1))
            else:
                lines.append(f"{pad}{_yaml_key(str(key))}: {_yaml_inline(item)}")
        return lines
    if isinstance(value, list):
        lines = []
        for item in value:
            if isinstance(item, (dict, list)) and item:
                nested = _yaml_lines(item, indent + 1)
                lines.append(f"{pad}- {nested[0].lstrip()}")
                lines.extend(nested[1:])
            else:
                lines.append(f"{pad}- {_yaml_inline(item)}")
        return lines
    return [pad + _yaml_scalar(value)]


def _yaml_inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _yaml_scalar(value)


def to_yaml(data: Any) -> str:
    """A small YAML emitter (no PyYAML dependency): sorted keys, JSON-quoted strings."""
    return "\n".join(_yaml_lines(data, 0)) + "\n"
