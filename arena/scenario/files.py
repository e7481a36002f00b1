"""Reading the files a scenario is made of, safely: a scenario YAML and the data files it names.

Whatever path a user passes, reading it never hangs and never eats memory: only regular files
are opened (a directory, a FIFO or ``/dev/zero`` is refused before ``open`` could block or
stream forever), at most a stated number of bytes is read, and the text must be UTF-8. The YAML
loader refuses duplicate keys (PyYAML silently keeps the last), nesting deeper than
:data:`MAX_DEPTH` (PyYAML composes recursively and would raise ``RecursionError``) and integers
longer than :data:`MAX_INT_DIGITS` digits (as a :class:`HugeInt` the reader refuses, naming
its field); it reads ``1e300`` as the number it is (YAML 1.2;
PyYAML's YAML 1.1 rules make it a string). Every problem is one :class:`ScenarioError` line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode

from ..errors import ScenarioError

MB = 1024 * 1024
MAX_SCENARIO_BYTES = 10 * MB  # a scenario file (YAML)
MAX_DATA_BYTES = 256 * MB  # a data file it names (JSON / CSV datasets, a zones_from file)
MAX_DEPTH = 50  # YAML nesting levels (mappings and lists)
MAX_INT_DIGITS = 30  # longer integers are refused while parsing, before any int() of them

_MERGE = "tag:yaml.org,2002:merge"


class ScenarioLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader with the checks above (see the module docstring)."""

    def __init__(self, stream: Any):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise ComposerError(
                    None, None, f"nested deeper than {MAX_DEPTH} levels (the limit)", mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == _MERGE:
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:  # unhashable: the base class reports it
                    continue
                if duplicate:
                    raise ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"duplicate key {key!r:.60}",
                        key_node.start_mark,
                    )
        return super().construct_mapping(node, deep=deep)

    def construct_bounded_int(self, node: Any) -> int | HugeInt:
        text = str(self.construct_scalar(node))
        digits = sum(ch.isalnum() for ch in text)
        if digits > MAX_INT_DIGITS:
            return HugeInt(digits)  # the reader refuses it, naming the field
        return self.construct_yaml_int(node)


class HugeInt:
    """An integer too long to convert (``int()`` of 5,000 digits is slow, and NumPy would
    overflow on it): kept as its length, so the field that holds it is named in the error."""

    def __init__(self, digits: int):
        self.digits = digits

    def __repr__(self) -> str:
        return f"an integer of {self.digits} digits"


ScenarioLoader.add_constructor("tag:yaml.org,2002:int", ScenarioLoader.construct_bounded_int)
ScenarioLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def read_text(path: Path, limit: int, fail: Callable[[str], ScenarioError]) -> str:
    """The UTF-8 text of the regular file ``path`` (at most ``limit`` bytes), or ``fail(problem)``
    raised: not found, a directory, not a regular file, too large, unreadable or not UTF-8."""
    try:
        if not path.exists():
            raise fail(f"file not found: {path}")
        if path.is_dir():
            raise fail(f"{path} is a directory, not a file")
        if not path.is_file():
            raise fail(f"{path} is not a regular file (a device, FIFO or socket?)")
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise fail(f"{path} is larger than the {limit // MB} MB limit")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise fail(
            f"{path} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None


def load_yaml_text(text: str, file: str | None) -> Any:
    """Parse YAML text with :class:`ScenarioLoader`; any problem is a ScenarioError line."""
    try:
        return yaml.load(text, Loader=ScenarioLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        problem = " ".join(str(exc).split())  # one line
        raise ScenarioError(file, None, f"not valid YAML: {problem:.300}") from None
    except RecursionError:  # belt and braces: MAX_DEPTH stops nesting long before this
        raise ScenarioError(file, None, "not valid YAML: nested too deeply") from None


def read_yaml(path: str | Path) -> Any:
    """The raw data of a scenario file (never None)."""
    file = str(path)

    def fail(problem: str) -> ScenarioError:
        if problem.startswith("file not found"):
            problem = "scenario file not found"
        return ScenarioError(file, None, problem)

    text = read_text(Path(path), MAX_SCENARIO_BYTES, fail)
    raw = load_yaml_text(text, file)
    if raw is None:
        raise ScenarioError(file, None, "the file is empty")
    return raw
