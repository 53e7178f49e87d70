"""YAML and JSON to plain data without trusting the input.

YAML is read as an event stream from the safe C parser and built iteratively: no object is
ever constructed from a tag, anchors and aliases are refused at the first one (before anything
could be expanded, so an alias bomb costs milliseconds), nesting is counted as it opens (no
recursion, so 100k levels is a located error, not a ``RecursionError``), and lists are capped.

Line numbers cost memory and time, so the fast pass records none; :func:`locate` runs the
parser again, only when there are problems, and records the lines of the paths asked for.
JSON goes through :func:`json.loads` after a depth scan, and through the YAML pass (JSON is
YAML) only to locate problems.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from itertools import accumulate
from typing import Any

import yaml

from supplyshock.domain.problems import Path, Problem, ProblemReport
from supplyshock.formats.limits import LoadLimits

Where = tuple[str, int | None]

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR = "tag:yaml.org,2002:str"
_MAP_TAGS = {None, "!", "tag:yaml.org,2002:map"}
_SEQ_TAGS = {None, "!", "tag:yaml.org,2002:seq"}
_SCALAR_TAGS = {
    "tag:yaml.org,2002:" + t for t in ("str", "int", "float", "bool", "null", "timestamp")
}
_RESOLVERS = yaml.resolver.Resolver.yaml_implicit_resolvers
_CONSTRUCT = yaml.constructor.SafeConstructor.yaml_constructors
_constructor = yaml.constructor.SafeConstructor()


def _scalar(ev: Any) -> Any:
    """The value of a scalar event, resolved as the YAML 1.1 safe loader would."""
    value: str = ev.value
    tag = ev.tag
    if tag is None or tag == "!":
        if not ev.implicit[0]:  # quoted, literal or folded: always a string
            return value
        for t, regexp in _RESOLVERS.get(value[:1], ()):
            if regexp.match(value):
                tag = t
                break
        else:
            return value
    if tag == _STR or tag not in _SCALAR_TAGS:
        if tag != _STR and tag not in _SCALAR_TAGS and ev.tag is not None:
            raise _BadTag(tag)
        return value
    return _CONSTRUCT[tag](_constructor, yaml.ScalarNode(tag, value))


class _BadTag(Exception):
    pass


class _Stop(Exception):
    """A refusal that ends the parse (a limit or an alias): nothing after it is trustworthy."""


def build_yaml(
    text: str,
    name: str,
    limits: LoadLimits,
    want: set[Path] | None = None,
    lines: dict[Path, Where] | None = None,
) -> Any:
    """Parse one YAML document into dicts, lists and scalars.

    With ``lines``, record the line of every node whose path is in ``want`` (all nodes when
    ``want`` is None). Raises :class:`ProblemReport` with every problem found.
    """
    loader = _Loader(text)
    problems: list[Problem] = []
    # Each open container: [container, is_map, key (or index), key_pending, key_line]
    stack: list[list[Any]] = []
    root: Any = None
    docs = 0
    record = lines is not None
    skip = object()  # the key of an entry whose key was refused: its value is dropped

    def path_now() -> Path:
        out: list[str | int] = []
        for fr in stack:
            if fr[1]:
                if fr[3] or fr[2] is skip:
                    break
                out.append(fr[2])
            else:
                out.append(len(fr[0]))
        return tuple(out)

    def line_of(ev: Any) -> int:
        return int(ev.start_mark.line) + 1

    def add(value: Any, ev: Any) -> None:
        nonlocal root
        if not stack:
            root = value
            return
        fr = stack[-1]
        if fr[1]:
            if fr[3]:  # this is a key
                key = value
                if isinstance(key, (int, float)) and not isinstance(key, bool):
                    key = str(key)
                if not isinstance(key, str):
                    problems.append(
                        Problem("mapping keys must be strings", path_now(), name, line_of(ev))
                    )
                    key = skip
                elif key in fr[0]:
                    fr[2] = key
                    fr[3] = False
                    problems.append(
                        Problem(
                            f"duplicate key {key!r}", path_now(), name, line_of(ev), "duplicate"
                        )
                    )
                    return
                fr[2] = key
                fr[3] = False
                return
            if fr[2] is not skip:
                fr[0][fr[2]] = value
            fr[3] = True
        else:
            if len(fr[0]) >= limits.max_rows:
                problems.append(limits.too_many_rows("a list", path_now()[:-1], name, line_of(ev)))
                raise _Stop
            fr[0].append(value)

    def note(ev: Any) -> None:
        if record and lines is not None:
            p = path_now()
            if want is None or p in want:
                lines[p] = (name, line_of(ev))

    try:
        while True:
            ev = loader.get_event()
            if ev is None:
                break
            kind = type(ev)
            if kind is yaml.ScalarEvent:
                if ev.anchor is not None:
                    raise _alias(ev, name, path_now())
                if record and not (stack and stack[-1][1] and stack[-1][3]):
                    note(ev)
                try:
                    value = _scalar(ev)
                except _BadTag as t:
                    problems.append(
                        Problem(f"unsupported tag {t.args[0]!r}", path_now(), name, line_of(ev))
                    )
                    value = None
                except (yaml.YAMLError, ValueError) as e:
                    problems.append(Problem(f"bad value: {e}", path_now(), name, line_of(ev)))
                    value = None
                add(value, ev)
            elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                if ev.anchor is not None:
                    raise _alias(ev, name, path_now())
                is_map = kind is yaml.MappingStartEvent
                if ev.tag not in (_MAP_TAGS if is_map else _SEQ_TAGS):
                    problems.append(
                        Problem(f"unsupported tag {ev.tag!r}", path_now(), name, line_of(ev))
                    )
                if len(stack) >= limits.max_depth:
                    problems.append(limits.too_deep(path_now(), name, line_of(ev)))
                    raise _Stop
                if record and not (stack and stack[-1][1] and stack[-1][3]):
                    note(ev)
                stack.append([{} if is_map else [], is_map, None, True, line_of(ev)])
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                fr = stack.pop()
                add(fr[0], ev)
            elif kind is yaml.AliasEvent:
                raise _alias(ev, name, path_now())
            elif kind is yaml.DocumentStartEvent:
                docs += 1
                if docs > 1:
                    problems.append(
                        Problem(
                            "expected a single document, found more",
                            (),
                            name,
                            line_of(ev),
                            "syntax",
                        )
                    )
                    raise _Stop
    except _Stop:
        pass
    except ProblemReport:
        raise
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        if "nesting depth" in str(e.problem):  # libyaml's own bound (1000) met first
            problems.append(limits.too_deep((), name, (mark.line + 1) if mark else None))
            raise ProblemReport(problems) from None
        msg = f"syntax error: {e.problem or e.context or 'cannot parse'}"
        problems.append(Problem(msg, (), name, (mark.line + 1) if mark else None, "syntax"))
    except yaml.YAMLError as e:
        problems.append(Problem(f"syntax error: {e}", (), name, code="syntax"))
    finally:
        loader.dispose()
    if problems:
        raise ProblemReport(problems)
    return root


def _alias(ev: Any, name: str, path: Path) -> ProblemReport:
    what = f"alias *{ev.anchor}" if isinstance(ev, yaml.AliasEvent) else f"anchor &{ev.anchor}"
    return ProblemReport(
        [
            Problem(
                f"YAML anchors and aliases are not accepted ({what}); write the value out",
                path,
                name,
                int(ev.start_mark.line) + 1,
                "alias",
            )
        ]
    )


_JSON_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKETS = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth(text: str) -> int:
    """The deepest nesting of a JSON text, without parsing it (strings are skipped)."""
    bare = _JSON_STRINGS.sub("", text)
    steps = [_BRACKETS[ord(c)] for c in re.sub(r"[^\[\]{}]", "", bare)]
    return max(accumulate(steps), default=0)


def build_json(text: str, name: str, limits: LoadLimits) -> Any:
    """Parse JSON after checking its depth; list lengths are checked by the caller's rows cap."""
    if json_depth(text) > limits.max_depth:
        # The YAML pass reports where the limit is crossed.
        build_yaml(text, name, limits)
        raise ProblemReport([limits.too_deep((), name, None)])
    try:
        # NaN and Infinity stay strings, so the field's own check refuses them with its path.
        data = json.loads(text, parse_constant=str, object_pairs_hook=_pairs)
    except _Duplicate:
        return build_yaml(text, name, limits)  # reports every duplicate key with its line
    except json.JSONDecodeError as e:
        raise ProblemReport(
            [Problem(f"syntax error: {e.msg}", (), name, e.lineno, "syntax")]
        ) from None
    except RecursionError:
        raise ProblemReport([limits.too_deep((), name, None)]) from None
    _check_json(data, name, limits)
    return data


class _Duplicate(Exception):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _Duplicate
    return out


def _check_json(data: Any, name: str, limits: LoadLimits) -> None:
    """Duplicate keys are silently merged by json.loads; list lengths must be capped."""
    todo = [data]
    while todo:
        x = todo.pop()
        if isinstance(x, dict):
            todo.extend(v for v in x.values() if isinstance(v, (dict, list)))
        elif isinstance(x, list):
            if len(x) > limits.max_rows:
                raise ProblemReport([limits.too_many_rows("a list", (), name, None)])
            todo.extend(v for v in x if isinstance(v, (dict, list)))


def locator(text: str, name: str, limits: LoadLimits) -> Callable[[set[Path]], dict[Path, Where]]:
    """A function that finds the lines of the paths asked for by parsing ``text`` again."""

    def find(want: set[Path]) -> dict[Path, Where]:
        found: dict[Path, Where] = {}
        try:
            build_yaml(text, name, limits, want, found)
        except ProblemReport:
            pass  # e.g. JSON that is not YAML (tabs): keep what was found
        return found

    return find
