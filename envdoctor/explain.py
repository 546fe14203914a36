"""Explain: a finding code, or a real error message, turned into its cause and fixes.

Two entry points:

* :func:`explain_code` returns the documentation of a finding code (``knowledge/codes.json``).
* :func:`classify` reads an error text (a bare message, a Python traceback, or what R's
  reticulate prints, ``py_last_error()`` included), matches it against the signatures of
  ``knowledge/errors.json`` (regular expressions with weights, each row with its source) and
  combines the result with what envdoctor reads statically of the model and of the
  environment: the same checks as ``envdoctor check``, so that "bad marshal data" next to a
  model whose Lambda bytecode comes from Python 3.10, in a Python 3.11 environment, is
  explained as exactly that.  An error no signature matches is reported as unknown, with the
  closest known causes.

Nothing here imports TensorFlow or Keras, and nothing in the model is executed.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Optional

from envdoctor.types import Environment, Finding, Fix, ModelFormat, ModelInfo, Severity

__all__ = [
    "Cause",
    "Explanation",
    "Match",
    "ParsedError",
    "causes",
    "classify",
    "explain_code",
    "parse_error_text",
]

MAX_TEXT_CHARS = 2_000_000
"""Most characters of an error text read (a traceback of a model config can be long)."""

_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_SPACE_RE = re.compile(r"\s+")
_FRAME_RE = re.compile(r'^\s*File "([^"]+)", line \d+')
_EXC_RE = re.compile(
    r"^\s*(?:!\s*)?(?:Error(?: in [^:]*)?:\s*)?"
    r"((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception|Exit|Interrupt|Failure|Warning|Timeout|"
    r"ChildCrashed|NotFound))\s*(?::\s?(.*))?$"
)
_EXC_LOOSE_RE = re.compile(r"^((?:[A-Za-z_]\w*\.)*[A-Z]\w*)(?::\s?(.*))?$")
_TERMINATORS = (
    "During handling of the above exception",
    "The above exception was the direct cause",
    "Traceback (most recent call last)",
    "Run `reticulate::py_last_error()`",
    "Run reticulate::py_last_error()",
    "──",
    "Calls: ",
    "In addition: ",
    "Error in ",
    "Execution halted",
)
_CONFIG_MARKERS = re.compile(r"(Full object config:|using config=|config=)\s*(?=\{)")
_FILEPATH_RES = (
    re.compile(r"filepath=(.+?)\.(?:\s|$)"),
    re.compile(r"No file or directory found at (\S+)"),
    re.compile(r"SavedModel file does not exist at: (\S+?)/?\{"),
)


# ---------------------------------------------------------------- knowledge


@dataclass(frozen=True)
class Signature:
    """One pattern of a cause: a regular expression, its weight, where it applies, its source."""

    pattern: re.Pattern[str]
    weight: int
    where: str
    source: str


@dataclass(frozen=True)
class Cause:
    """A known cause of an error (one row of ``knowledge/errors.json``).

    Attributes:
        id: stable identifier, e.g. ``"savedmodel_in_keras3"``.
        title: one line.
        cause: why it happens, in a few sentences.
        codes: finding codes of ``envdoctor check`` about the same problem.
        source: the maintainer statements, issues or files behind it.
        signatures: the patterns that recognize its messages.
        context: ``(predicate, weight)`` pairs that add weight when the model and the
            environment agree (see :func:`_predicate`).
        fixes: remedies; ``{path}`` stands for the model path.
        examples: real messages, used to rank the closest causes of an unknown error.
        label: the family of causes it belongs to (several mechanisms can share one, e.g.
            every way NumPy 2 breaks an old TensorFlow is ``numpy2_abi``).
    """

    id: str
    title: str
    cause: str
    codes: tuple[str, ...]
    source: str
    signatures: tuple[Signature, ...]
    context: tuple[tuple[str, int], ...]
    fixes: tuple[Fix, ...]
    examples: tuple[str, ...]
    label: str = ""
    """The cause family this mechanism belongs to (the corpus cause id); ``id`` when unset."""
    wrapper: bool = False
    """A message that only says an import failed (R's "Valid installation of TensorFlow not
    found"): another recognized cause in the same paste says why, and ranks first."""


@cache
def _data() -> dict[str, Any]:
    text = resources.files("envdoctor.knowledge").joinpath("errors.json").read_text("utf-8")
    data = json.loads(text)
    if not isinstance(data, dict):
        raise TypeError("knowledge file errors.json is not a JSON object")
    return data


@cache
def causes() -> tuple[Cause, ...]:
    """Return every known cause of ``knowledge/errors.json``, in file order (cached).

    Raises:
        re.error: a pattern of the data file does not compile (a packaging bug; tested).
    """
    out = []
    for row in _data()["causes"]:
        sigs = tuple(
            Signature(
                re.compile(s["pattern"], re.IGNORECASE | re.MULTILINE),
                int(s["weight"]),
                s.get("in", "text"),
                s["source"],
            )
            for s in row["signatures"]
        )
        out.append(
            Cause(
                id=row["id"],
                title=row["title"],
                cause=row["cause"],
                codes=tuple(row["codes"]),
                source=row["source"],
                signatures=sigs,
                context=tuple((c["when"], int(c["weight"])) for c in row.get("context", [])),
                fixes=tuple(Fix(f["kind"], f["text"], f.get("description", ""))
                            for f in row["fixes"]),
                examples=tuple(row.get("examples", [])),
                label=row.get("label", row["id"]),
                wrapper=bool(row.get("wrapper", False)),
            )
        )
    return tuple(out)


def cause_by_id(cause_id: str) -> Optional[Cause]:
    """Return the cause called ``cause_id``, or None."""
    return next((c for c in causes() if c.id == cause_id), None)


def threshold() -> int:
    """The score from which a cause counts as recognized (``errors.json`` ``threshold``)."""
    return int(_data().get("threshold", 6))


def text_floor() -> int:
    """The least signature weight a recognized cause needs (``errors.json`` ``text_floor``).

    Where the paste was printed (R origin) ranks causes but a bare wrapper line or a generic
    phrase (weight below this floor) is never an answer on its own; the model and the
    environment read statically are evidence and can (see :attr:`Match.recognized`).
    """
    return int(_data().get("text_floor", 5))


def explain_code(code: str) -> dict[str, Any]:
    """Return the documentation of a finding code.

    Args:
        code: e.g. ``"ED103"`` (case-insensitive).

    Returns:
        ``{"code", "title", "severity", "cause", "evidence", "fixes", "source"}`` from
        ``knowledge/codes.json``, plus ``"errors"``: the ids of the error causes that relate
        to this code.

    Raises:
        KeyError: the code is not documented.
    """
    from envdoctor.knowledge import tables

    key = code.strip().upper()
    doc = dict(tables.code_doc(key))
    doc["code"] = key
    doc["errors"] = [c.id for c in causes() if key in c.codes]
    return doc


# ---------------------------------------------------------------- parsing


@dataclass(frozen=True)
class ParsedError:
    """What was read from an error text.

    Attributes:
        error_type: the final exception's type (``"ValueError"``), "" when none was named.
        message: the final exception's message (the whole text when no type was found).
        chain: every exception found, ``(type, message)``, in the order printed (chained
            exceptions of a traceback, R's wrapper line and reticulate's report).
        frames: the file paths of the traceback frames, in order.
        origin: ``"traceback"``, ``"reticulate"`` or ``"message"``.
        context: the whole paste on one line, without traceback source lines (warnings,
            log lines, R wrappers, the NumPy 2 block printed before the error).
    """

    error_type: str
    message: str
    chain: tuple[tuple[str, str], ...]
    frames: tuple[str, ...]
    origin: str
    context: str = ""

    def headline(self, width: int = 300) -> str:
        """Return ``"Type: first line of the message"`` cut to ``width`` characters."""
        first = self.message.strip().splitlines()[0] if self.message.strip() else ""
        text = f"{self.error_type}: {first}" if self.error_type else first
        return text if len(text) <= width else text[: width - 1] + "…"


def _is_terminator(line: str) -> bool:
    stripped = line.strip()
    return any(stripped.startswith(t) for t in _TERMINATORS)


_TF_LOG_RE = re.compile(
    r"^\s*(?:\[?\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?\]?:?\s*"
    r"(?:[IWEF]\s+(?:\S+:\d+\]\s*)?)?|[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+\s+\S+:\d+\]\s*)"
)
"""TensorFlow/absl log prefixes: ``2024-01-01 12:00:00.000000: W tensorflow/x.cc:12] `` and
glog's ``W0101 12:00:00.000000 1234 x.cc:12] ``; the rest of the line is kept."""
_IPY_HEADER_RE = re.compile(
    r"^((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*)\s{2,}Traceback \(most recent call last\)")
"""IPython's first line: ``ValueError                Traceback (most recent call last)``."""
_IPY_FRAME_RE = re.compile(
    r"^\s*(?:File\s+(.+?):\d+(?:,\s*in\s.*)?|Cell\s+In\s*\[\d*\],\s*line\s+\d+.*|"
    r"((?:/|[A-Za-z]:\\|~).+?)\s+in\s+\S+\(.*\)\s*)$")
"""IPython frame headers: ``File ~/x.py:12, in f(a)``, ``Cell In[3], line 1``, and the
IPython 7 form ``/path/x.py in f(a)``."""
_IPY_CODE_RE = re.compile(r"^\s*(?:-+>\s*)?\d+\s(?:\s|\S)*$|^\s*-+>\s")
"""IPython source lines: ``----> 1 model = load()``, ``      3 x = 1``."""
_R_WRAPPER_RE = re.compile(r"^\s*(?:Error|Warning(?: message)?)(?: in [^:]*?)?\s*:\s*$")
_PROMPT_RE = re.compile(
    r"^\s*(?:\(\S+\)\s*)?(?:(?:[\w.@-]+[:~][^$#>]*[$#]|PS [^>]*>|>>>|\.\.\.|>|\$|"
    r"In \[\d+\]:)\s|[A-Za-z]:\\[^>\n]*>(?=\S))")
"""Shell (POSIX, PowerShell, Windows ``cmd`` ``C:\\dir>``), Python and R prompts at the start
of a line (the command after them is kept)."""


_R_MARKERS_RE = re.compile(
    r"py_last_error|py_call_impl|── Python Exception|py_module_import|reticulate|"
    r"Detailed traceback:|library\((?:keras3?|tensorflow)\)|install_(?:keras|tensorflow)\(|"
    r"use_(?:python|virtualenv|condaenv)\(|py_require\(|^\s*> \w+ <- ", re.MULTILINE)
"""Signs that a paste was printed by R (reticulate, the keras/tensorflow R packages)."""


def clean_lines(text: str) -> list[str]:
    r"""Return the lines of a paste with colours, log prefixes and prompts removed.

    ANSI colour codes, TensorFlow's timestamped log prefixes, shell/R/Python prompts and
    R's ``!`` and ``Error in ...:`` prefixes go; the text after them stays.  Windows
    line ends become ``\\n``.
    """
    raw = _ANSI_RE.sub("", text[:MAX_TEXT_CHARS]).replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for raw_line in raw.split("\n"):
        line = raw_line
        if line.startswith("#>"):  # reprex output
            line = line[3:] if line.startswith("#> ") else line[2:]
        out.append(_TF_LOG_RE.sub("", line, count=1) if line[:1] in "[0123456789IWEF " else line)
    return out


def _context_lines(lines: Sequence[str]) -> str:
    """The paste as one line, without source code lines of tracebacks (used for matching).

    Lines that are frame headers (``File "..."``), the source lines under them, IPython's
    ``---->`` code lines and caret markers are left out: user code names things
    (``load_model``) that are not part of any error.
    """
    kept: list[str] = []
    skip_next_indented = False
    for line in lines:
        stripped = line.strip()
        if not stripped:
            skip_next_indented = False
            continue
        if _FRAME_RE.match(line) or _IPY_FRAME_RE.match(line):
            skip_next_indented = True
            continue
        if skip_next_indented and line[:1] in (" ", "\t"):
            continue
        skip_next_indented = False
        if _IPY_CODE_RE.match(line) or set(stripped) <= set("^~ "):
            continue
        kept.append(_PROMPT_RE.sub("", stripped))
    return _SPACE_RE.sub(" ", " ".join(kept)).strip()


def parse_error_text(text: str, error_type: str = "") -> ParsedError:
    """Read an error text: a message, a Python traceback, or R/reticulate output.

    Every exception of a chained traceback is read ("During handling of the above
    exception", "The above exception was the direct cause"), as printed by Python, by
    IPython/Jupyter (``ValueError   Traceback (most recent call last)``, ``Cell In[3]``,
    ``----> 1``) and by R (``Error in py_call_impl(...) :``, ``py_last_error()``'s
    ``── Python Exception Message ──`` blocks); TensorFlow log prefixes, prompts and colours
    are removed.  The whole paste, without traceback source lines, is kept as
    :attr:`ParsedError.context` (warnings and the NumPy 2 block printed before the error).

    Args:
        text: what the user saw (ANSI colours are removed; at most :data:`MAX_TEXT_CHARS`).
        error_type: the exception type when known separately (verify, ground truth files).

    Returns:
        The :class:`ParsedError`.
    """
    lines = clean_lines(text)
    raw = "\n".join(lines)
    origin = "message"
    if _R_MARKERS_RE.search(raw):
        origin = "reticulate"
    context = _context_lines(lines)
    cut = raw.find("── R Traceback")
    body = raw[:cut] if cut >= 0 else raw
    frames: list[str] = []
    chain: list[tuple[str, str]] = []
    current: Optional[list[str]] = None
    current_type = ""
    in_traceback = False
    for line in body.split("\n"):
        if current is not None:
            if (_is_terminator(line) or _IPY_HEADER_RE.match(line)
                    or _IPY_FRAME_RE.match(line) or _FRAME_RE.match(line)):
                chain.append((current_type, "\n".join(current).strip()))
                current = None
            else:
                current.append(line)
                continue
        stripped = line.strip()
        header = _IPY_HEADER_RE.match(stripped)
        if stripped.startswith("Traceback (most recent call last)") or header:
            in_traceback = True
            if origin == "message":
                origin = "traceback"
            continue
        frame = _FRAME_RE.match(line) or _IPY_FRAME_RE.match(line)
        if frame:
            path = next((g for g in frame.groups() if g), None)
            if path:
                frames.append(path)
            continue
        if in_traceback and (line.startswith((" ", "\t")) or _IPY_CODE_RE.match(line)):
            continue  # source lines and ^^^^ markers of a frame
        if _R_WRAPPER_RE.match(line):
            continue  # "Error in py_call_impl(...) :": the exception follows
        match = _EXC_RE.match(_PROMPT_RE.sub("", line) if not in_traceback else line)
        if match is None and in_traceback:
            match = _EXC_LOOSE_RE.match(line)
        if match and (in_traceback or not chain or line.lstrip().startswith(("!", "Error"))
                      or stripped == line.rstrip()):
            current_type = match.group(1).rsplit(".", 1)[-1]
            current = [match.group(2) or ""]
            in_traceback = False
    if current is not None:
        chain.append((current_type, "\n".join(current).strip()))
    if not chain:
        message = body.strip()
        return ParsedError(error_type, message, ((error_type, message),), tuple(frames), origin,
                           context)
    final_type, final_message = chain[-1]
    if error_type and not final_type:
        final_type = error_type
    return ParsedError(final_type, final_message, tuple(chain), tuple(frames), origin, context)


def strip_configs(message: str) -> str:
    """Remove model configs that Keras appends to its messages (``config={...}``).

    Their keys and module paths (``keras.src.engine...``) would otherwise look like causes.
    A config cut by truncation is removed up to the next blank line or the end.
    """
    out: list[str] = []
    pos = 0
    for marker in _CONFIG_MARKERS.finditer(message):
        start = marker.start()
        if start < pos:
            continue
        out.append(message[pos:start])
        depth = 0
        index = marker.end()
        end = len(message)
        quote: Optional[str] = None
        while index < len(message):
            char = message[index]
            if quote:
                if char == quote and message[index - 1] != "\\":
                    quote = None
            elif char in "'\"":
                quote = char
            elif char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
                if depth == 0:
                    end = index + 1
                    break
            index += 1
        else:
            blank = message.find("\n\n", marker.end())
            end = blank if blank >= 0 else len(message)
        out.append("{…}")
        pos = end
    out.append(message[pos:])
    return "".join(out)


# ---------------------------------------------------------------- context


@dataclass(frozen=True)
class Context:
    """What envdoctor knows beside the message.

    Attributes:
        model: the model read statically, if given or named in the message.
        env: the environment read statically, if given.
        static: findings of ``envdoctor check`` for that pair (warning and error only).
        model_missing: the model path given (or named in the message) does not exist.
        model_unreadable: it exists but envdoctor cannot read it (truncated, corrupt).
        notes: facts that were used, in plain words.
    """

    model: Optional[ModelInfo] = None
    env: Optional[Environment] = None
    static: tuple[Finding, ...] = ()
    model_missing: bool = False
    model_unreadable: bool = False
    notes: tuple[str, ...] = ()

    @property
    def static_codes(self) -> set[str]:
        """Codes of the static findings at warning or error."""
        return {f.code for f in self.static}


def _major(version: Optional[str]) -> Optional[int]:
    from envdoctor.knowledge.versions import major

    return major(version) if version else None


def _predicate(name: str, ctx: Context) -> bool:
    """Evaluate one context predicate of ``errors.json`` (see its ``description``)."""
    kind, _, arg = name.partition(":")
    model, env = ctx.model, ctx.env
    if kind == "static":
        return arg in ctx.static_codes
    if kind == "format":
        return model is not None and model.format.value == arg
    if kind == "env":
        if env is None:
            return False
        from envdoctor.checks.runtime import effective_keras, tensorflow_version

        if arg in ("keras2", "keras3"):
            return effective_keras(env).generation == int(arg[-1])
        if arg == "tensorflow":
            return tensorflow_version(env) is not None
        if arg == "no_tensorflow":
            return tensorflow_version(env) is None
        return False
    if kind == "model":
        if arg == "missing":
            return ctx.model_missing
        if arg == "unreadable":
            return ctx.model_unreadable
        if arg == "exists":
            return ctx.model_unreadable or (
                model is not None and model.format is not ModelFormat.EMPTY)
        if model is None:
            return False
        return _model_predicate(arg, model, env)
    return False


def _model_predicate(arg: str, model: ModelInfo, env: Optional[Environment]) -> bool:
    from envdoctor.types import ConfigDialect

    generation = _major(model.keras_version)
    if arg == "keras3":
        return generation == 3 or model.dialect is ConfigDialect.KERAS3
    if arg == "keras2":
        return generation in (1, 2) or model.dialect in (
            ConfigDialect.KERAS1, ConfigDialect.KERAS2, ConfigDialect.TF_KERAS_2_13)
    if arg == "lambda":
        return bool(model.lambdas)
    if arg == "custom":
        return bool(model.custom_objects)
    if arg == "exists_not_savedmodel":
        return model.format not in (ModelFormat.SAVEDMODEL,)
    if arg == "newer" and env is not None and model.keras_version:
        from envdoctor.checks.runtime import effective_keras
        from envdoctor.knowledge.versions import key

        rt = effective_keras(env)
        if rt.version and _major(rt.version) == generation:
            return key(model.keras_version)[:2] > key(rt.version)[:2]
    return False


def _path_in_message(parsed: ParsedError) -> Optional[str]:
    for _, message in parsed.chain:
        for regex in _FILEPATH_RES:
            found = regex.search(message)
            if found:
                return found.group(1).strip().strip("'\"`")
    return None


def build_context(
    parsed: ParsedError,
    *,
    model: Optional[ModelInfo] = None,
    model_path: Optional[str] = None,
    env: Optional[Environment] = None,
    static: Optional[Sequence[Finding]] = None,
) -> Context:
    """Gather the context of an error: the model, the environment and the static findings.

    Args:
        parsed: the parsed error.
        model: the model, already read.
        model_path: a model path to read (``--model``); a missing path is itself a fact.
        env: the environment, already read (``--python``).
        static: the static findings, when the caller already has them (verify).

    Returns:
        The :class:`Context`.  With neither ``model`` nor ``model_path``, a path named in the
        message (``filepath=...``) is read when it exists here; an absolute path whose
        directory exists but not the file counts as missing.
    """
    from envdoctor.errors import ModelFileError

    notes: list[str] = []
    missing = False
    unreadable = False
    if model is None and model_path is None:
        named = _path_in_message(parsed)
        if named and os.path.exists(named):
            model_path = named
            notes.append(f"read the path named in the message: {named}")
        elif named and os.path.isabs(named) and os.path.isdir(os.path.dirname(named) or "/"):
            missing = True
            notes.append(f"the path named in the message does not exist: {named}")
    if model is None and model_path is not None:
        from envdoctor.app import inspect_model

        try:
            model = inspect_model(model_path)
        except ModelFileError as exc:
            missing = not os.path.exists(model_path)
            unreadable = not missing
            notes.append(f"model {model_path}: {exc.message}")
    found: list[Finding] = []
    if static is not None:
        found = [f for f in static if f.severity is not Severity.INFO]
    elif env is not None:
        from envdoctor.app import check_pair

        found = [f for f in check_pair(model, env) if f.severity is not Severity.INFO]
    if model is not None:
        notes.append(f"model: {model.summary}")
    if env is not None:
        from envdoctor.checks.runtime import effective_keras

        notes.append(f"environment: Python {env.python_version or '?'}, "
                     f"{effective_keras(env).label()}")
    return Context(model=model, env=env, static=tuple(found), model_missing=missing,
                   model_unreadable=unreadable, notes=tuple(notes))


# ---------------------------------------------------------------- matching


@dataclass(frozen=True)
class Match:
    """One candidate cause for an error, with its score.

    Attributes:
        cause: the cause.
        score: signature weights plus context weights.
        text_score: the signature weights alone.
        matched: the patterns that matched, each with its source.
        lines: the text each pattern matched in the paste (same order as ``matched``, at
            most 200 characters each).
        context: the context predicates that applied, with their weights.
        related: static findings whose code belongs to this cause (exact fixes for this
            environment).
    """

    cause: Cause
    score: int
    text_score: int
    matched: tuple[tuple[str, str], ...]
    context: tuple[tuple[str, int], ...]
    related: tuple[Finding, ...] = ()
    lines: tuple[str, ...] = ()

    @property
    def recognized(self) -> bool:
        """True when the score reaches the threshold on real evidence.

        The message's own signatures must reach :func:`text_floor`, unless the model or the
        environment read statically agree (a positive ``static:``/``model:``/``env:``/
        ``format:`` context): where the paste was printed (``origin:``) is no evidence.
        """
        if self.score < threshold():
            return False
        return self.text_score >= text_floor() or any(
            w > 0 and not name.startswith("origin:") for name, w in self.context)

    @property
    def confidence(self) -> str:
        """``"high"`` (score >= 2 x threshold), ``"medium"`` (>= threshold) or ``"low"``."""
        if self.score >= 2 * threshold():
            return "high"
        return "medium" if self.score >= threshold() else "low"


@dataclass(frozen=True)
class Explanation:
    """The result of :func:`classify`.

    Attributes:
        parsed: what was read from the text.
        best: the recognized cause, or None when the error is unknown.
        candidates: every cause with a matching signature, best first.
        closest: for an unknown error, ``(cause id, similarity 0..1)`` of the causes whose
            example messages look most like it.
        context: the model/environment context used.
    """

    parsed: ParsedError
    best: Optional[Match]
    candidates: tuple[Match, ...]
    closest: tuple[tuple[str, float], ...] = ()
    context: Context = field(default_factory=Context)

    @property
    def known(self) -> bool:
        """True when a cause was recognized."""
        return self.best is not None


def matching_text(parsed: ParsedError) -> str:
    """Return the text the signatures are matched against: every exception of the chain.

    One line per exception (``Type: message``), model configs removed, whitespace runs
    (R's line wrapping included) collapsed to one space; then the whole paste on one line
    (:attr:`ParsedError.context`), so that warnings and the text around the final exception
    count too.
    """
    parts = []
    for etype, message in parsed.chain:
        # One line per exception: R wraps messages at arbitrary words (strwrap).
        cleaned = _SPACE_RE.sub(" ", strip_configs(_ANSI_RE.sub("", message))).strip()
        parts.append(f"{etype}: {cleaned}" if etype else cleaned)
    if parsed.context:
        parts.append(strip_configs(parsed.context))
    return "\n".join(parts)


def _score(cause: Cause, text: str, types: str, frames: str, ctx: Context,  # noqa: PLR0917
           origin: str = "") -> Optional[Match]:
    total = 0
    matched: list[tuple[str, str]] = []
    lines: list[str] = []
    for sig in cause.signatures:
        target = {"type": types, "frames": frames}.get(sig.where, text)
        hit = sig.pattern.search(target)
        if hit:
            total += sig.weight
            matched.append((sig.pattern.pattern, sig.source))
            lines.append(_SPACE_RE.sub(" ", hit.group(0)).strip()[:200])
    if total <= 0:
        return None
    applied = tuple((name, w) for name, w in cause.context
                    if (name == f"origin:{origin}") or _predicate(name, ctx))
    related = tuple(f for f in ctx.static if f.code in cause.codes)
    score = total + sum(w for _, w in applied)
    return Match(cause, score, total, tuple(matched), applied, related, tuple(lines))


def _closest(message: str, limit: int = 3, exact: int = 12) -> tuple[tuple[str, float], ...]:
    """The causes whose examples and titles look most like ``message`` (difflib ratios).

    Every example gets difflib's cheap upper bound (``quick_ratio``); the full ``ratio`` is
    computed for the ``exact`` best bounds only, so the cost stays bounded as causes grow.
    """
    probe = message.lower()[:200]
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(probe)  # difflib caches the second sequence's index: the probe
    bounds: list[tuple[float, str, str]] = []
    for cause in causes():
        for example in (*cause.examples, cause.title):
            text = example.lower()[:200]
            matcher.set_seq1(text)
            bounds.append((matcher.quick_ratio(), cause.id, text))
    bounds.sort(reverse=True)
    best: dict[str, float] = {}
    for _, cause_id, text in bounds[:exact]:
        matcher.set_seq1(text)
        best[cause_id] = max(best.get(cause_id, 0.0), matcher.ratio())
    ranked = sorted(((r, cid) for cid, r in best.items()), reverse=True)
    return tuple((cid, round(r, 2)) for r, cid in ranked[:limit])


def classify(
    text: str,
    *,
    error_type: str = "",
    model: Optional[ModelInfo] = None,
    model_path: Optional[str] = None,
    env: Optional[Environment] = None,
    static: Optional[Sequence[Finding]] = None,
) -> Explanation:
    """Classify a real error text into a known cause.

    Args:
        text: the error message or traceback (Python or R).
        error_type: the exception type, when known apart from the text.
        model: the model the error is about, already read.
        model_path: or its path, read here (``--model``).
        env: the environment it happened in, read statically (``--python``).
        static: the static findings for that pair, when already computed.

    Returns:
        The :class:`Explanation`: the best cause when its score reaches the threshold of
        ``errors.json``, else none, with the candidates and the closest causes.
    """
    parsed = parse_error_text(text, error_type)
    ctx = build_context(parsed, model=model, model_path=model_path, env=env, static=static)
    return classify_parsed(parsed, ctx)


def classify_parsed(parsed: ParsedError, ctx: Context) -> Explanation:
    """Classify an already parsed error in a given context (see :func:`classify`)."""
    body = matching_text(parsed)
    types = "\n".join(t for t, _ in parsed.chain if t)
    frames = "\n".join(parsed.frames)
    found = [m for c in causes()
             if (m := _score(c, body, types, frames, ctx, parsed.origin)) is not None]
    # recognized causes first, a wrapper ("TensorFlow not found") after the cause it wraps
    found.sort(key=lambda m: (not m.recognized, m.recognized and m.cause.wrapper,
                              -m.score, -m.text_score))
    best = found[0] if found and found[0].recognized else None
    closest = () if best else _closest(parsed.message or body)
    return Explanation(parsed, best, tuple(found), closest, ctx)


_TF_MINOR_FROM_METADATA = (
    "$(python -c \"import importlib.metadata as m; "
    "print('.'.join(m.version('tensorflow').split('.')[:2]))\")"
)


def _for_env(text: str, env: Optional[Environment]) -> str:
    """Make a fix command concrete: ``{tf_minor}`` and ``python -m pip`` for ``env``.

    With an environment, ``{tf_minor}`` is its TensorFlow minor and ``python -m pip`` runs
    its interpreter; without one, ``{tf_minor}`` becomes a shell expression that reads the
    installed TensorFlow's version from its distribution metadata (no TensorFlow import).
    """
    minor = ""
    if env is not None:
        from envdoctor.checks.runtime import tensorflow_version

        tf = tensorflow_version(env)
        if tf:
            minor = ".".join(tf.split(".")[:2])
        if env.python:
            text = text.replace("python -m pip", f"{env.python} -m pip")
    if "{tf_minor}" in text:
        if minor:
            text = text.replace("{tf_minor}", minor)
        else:
            text = text.replace("~={tf_minor}.0", "==" + _TF_MINOR_FROM_METADATA + ".*")
            text = text.replace("{tf_minor}", _TF_MINOR_FROM_METADATA)
    return text


def fix_texts(match: Match, model_path: Optional[str],
              env: Optional[Environment] = None) -> tuple[Fix, ...]:
    """Return the fixes of a match: the exact ones of related static findings first.

    ``{path}`` in the cause's own fixes becomes ``model_path`` (or ``MODEL``); commands are
    made concrete for ``env`` (see :func:`_for_env`).
    """
    out: list[Fix] = []
    seen: set[str] = set()
    for finding in match.related:
        for fix in finding.fixes:
            if fix.text not in seen:
                seen.add(fix.text)
                out.append(fix)
    path = model_path or "MODEL"
    for fix in match.cause.fixes:
        text = _for_env(fix.text.replace("{path}", path), env)
        text = text.replace("{{", "{").replace("}}", "}")
        if text not in seen:
            seen.add(text)
            out.append(Fix(fix.kind, text, fix.description))
    return tuple(out)


def describe(explanation: Explanation) -> Iterable[str]:
    """Yield the lines that say why a cause was chosen (matched patterns, context)."""
    best = explanation.best
    if best is None:
        return
    for (pattern, _source), line in zip(best.matched, best.lines):
        yield f"matched: {line}   (pattern {pattern})"
    for name, weight in best.context:
        yield f"context {name}: {'+' if weight >= 0 else ''}{weight}"
    for finding in best.related:
        yield f"envdoctor check agrees: {finding.code} {finding.title}"
