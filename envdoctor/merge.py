"""Merge many hosts' ``envdoctor check --format json`` reports into one verdict table.

``envdoctor report merge FILE...`` (:mod:`envdoctor.commands.report`) feeds every input to a
:class:`Merger`, one at a time.  An input is a file, a directory (its ``*.json``,
``*.jsonl`` and ``*.ndjson`` files, in name order) or standard input, and holds one or
more JSON documents: one pretty-printed envelope (what ``check --format json`` writes),
several of them back to back (``cat *.json``), or one per line (JSON Lines, what a log
collector writes).  A document may also be a JSON array of envelopes (``jq -s``).

Streaming: inputs are read line by line in binary mode and each document is parsed and
dropped as soon as it is complete, so memory grows with the merged table (one small row per
host × environment × model, strings interned) and with the largest single document (at most
:data:`MAX_DOCUMENT_BYTES`), never with the total size or number of inputs.

Document boundaries are found without parsing everything twice: a document starts on a line
whose first byte is ``{`` or ``[`` and ends on a line whose first byte is ``}`` / ``]``, or
on its own first line when that line also ends the document (JSON Lines).  ``json.dumps``
with ``indent`` (envdoctor, jq, Python) never puts a nested bracket in column 0, and a
JSON string cannot hold a raw newline, so a column-0 ``{`` while a document is still open
means that document was cut short (a truncated report followed by the next one).

``envdoctor envs --format json`` reports merge too: their verdicts are about each environment
alone (``model`` empty), which gives a fleet inventory.

Nothing in a report is executed or imported; a report is data.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from typing import IO, Any, Callable, NamedTuple, Optional, Union

SCHEMA_VERSION = "1"
"""The only envelope ``schema_version`` this envdoctor merges (see README "JSON contract")."""

MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
"""Largest JSON document read (bytes); a larger one is reported and skipped."""

READ_CHUNK = 1024 * 1024
"""Most bytes read by one ``readline`` call (bytes), so a huge line never sits in memory."""

MAX_STORED_PROBLEMS = 1000
"""Problems kept for the JSON output's ``problems`` (all are counted and reported)."""

SUFFIXES = (".json", ".jsonl", ".ndjson")
"""File name endings read from a directory given as an input."""

STATUSES = ("ok", "warning", "error")
"""Verdict statuses of the envelope; merged rows may also be ``broken`` (no verdict: the
environment could not be read, from ``check --all``'s candidates)."""

TF_DISTRIBUTIONS = (
    "tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-intel", "tensorflow-macos",
    "tf-nightly", "tf-nightly-cpu", "tensorflow-aarch64", "tensorflow-cpu-aws",
)
"""Distributions that install ``tensorflow`` (the same tuple as
``envdoctor.inventory.TF_DISTRIBUTIONS``, copied so that merging imports nothing heavy;
``tests/test_report_merge.py`` keeps them equal)."""

_UNSET: Any = object()

STDIN = "-"
"""The input name that means standard input."""


class Row(NamedTuple):
    """One merged verdict: a model (or the environment alone) on one host's environment.

    Attributes:
        host: the report's ``host``, else the input's file name (``name#N`` for the N-th
            document of a file without hosts, N >= 2).
        python: the interpreter path on that host, as the report gives it.
        kind: the environment's kind (``venv``, ``conda``, ``pyenv``...), or ``""``.
        python_version: e.g. ``"3.11.7"``, or ``""``.
        tensorflow: the installed TensorFlow version, or ``""`` when none.
        keras: the installed Keras version, or ``""`` when none.
        model: the model path as given on that host; ``""`` for the environment alone or a
            broken environment.
        status: ``ok``, ``warning``, ``error`` or ``broken``.
        codes: the finding codes behind the status (``ED409``...), in report order.
        reason: why a ``broken`` environment could not be read; else ``""``.
    """

    host: str
    python: str
    kind: str
    python_version: str
    tensorflow: str
    keras: str
    model: str
    status: str
    codes: tuple[str, ...]
    reason: str


class Problem(NamedTuple):
    """One bad input or document.

    Attributes:
        source: the input's name as given (``-`` for standard input).
        line: the 1-based line where the bad document (or text) starts; 0 for the whole input.
        message: one line saying what is wrong.
    """

    source: str
    line: int
    message: str

    def text(self) -> str:
        """``SOURCE: message`` or ``SOURCE line N: message`` (one line)."""
        name = "stdin" if self.source == STDIN else self.source
        where = f"{name} line {self.line}" if self.line else name
        return f"{where}: {self.message}"


class Document(NamedTuple):
    """A parsed JSON document and the line it starts on (1-based)."""

    line: int
    value: Any


class ModelSummary(NamedTuple):
    """How one model fares across the fleet.

    Attributes:
        model: the model path as the reports give it.
        hosts: hosts that checked it.
        usable: hosts where at least one environment's verdict is ok or warning.
        unusable: the other hosts, natural order.
    """

    model: str
    hosts: int
    usable: int
    unusable: tuple[str, ...]


def _snippet(raw: bytes) -> str:
    text = raw[:60].decode("utf-8", "replace").strip()
    return repr(text + ("..." if len(raw) > 60 else ""))


def _opens(line: bytes) -> bool:
    """A document starts here: ``{``, or ``[`` of an array of objects (not ``[INFO] ...``)."""
    return line[:1] == b"{" or (line[:1] == b"[" and line[1:2] in (b"{", b"]", b" ", b"\n",
                                                                    b"\r", b"\t"))


def _closes(line: bytes) -> bool:
    return line[:1] in (b"}", b"]")


_NOT_INDENTED = re.compile(rb"\n[^ ]")
"""The start of the next line that does not begin with a space."""


def _units(stream: IO[bytes]) -> Iterator[tuple[bytes, int, bool]]:
    r"""Yield ``(piece, lines, cut)``: a line, or a block of lines that begin with a space.

    A block is consecutive lines that all begin with a space (the bulk of an indented
    document), found with C-speed searches; ``lines`` is 1 for a line, the block's
    ``count(b"\n")`` for a block.  A line longer than :data:`MAX_DOCUMENT_BYTES` is yielded
    as its first :data:`READ_CHUNK` bytes with ``cut`` True, and the rest of it is read and
    dropped, so memory stays bounded.
    """
    data = b""
    pos = 0
    eof = False
    while True:
        nl = data.find(b"\n", pos)
        while nl < 0 and not eof:
            if len(data) - pos > MAX_DOCUMENT_BYTES:  # an endless line: cut, skip to its end
                yield data[pos:pos + READ_CHUNK], 1, True
                data, pos = b"", 0
                while True:
                    chunk = stream.read(READ_CHUNK)
                    if not chunk:
                        return
                    end = chunk.find(b"\n")
                    if end >= 0:
                        data = chunk[end + 1:]
                        break
                nl = data.find(b"\n")
                continue
            chunk = stream.read(READ_CHUNK)
            if not chunk:
                eof = True
                break
            data = data[pos:] + chunk
            pos = 0
            nl = data.find(b"\n")
        if nl < 0:
            if pos < len(data):
                yield data[pos:], 1, False
            return
        if data[pos:pos + 1] == b" ":
            match = _NOT_INDENTED.search(data, nl)
            end = match.start() + 1 if match else data.rfind(b"\n") + 1
            block = data[pos:end]
            yield block, block.count(b"\n"), False
            pos = end
        else:
            yield data[pos:nl + 1], 1, False
            pos = nl + 1


def _parse(data: bytes, start: int) -> tuple[list[Any], Optional[str]]:
    """Parse one document's bytes (it may hold several back to back: ``{..}{..}``).

    Returns:
        (the values that parse, None) or (the values before the error, the error in one
        line, with its line number in the input: ``start`` is the document's first line).
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [], f"not UTF-8 text (byte {exc.start} of the document)"
    try:
        return [json.loads(text)], None
    except json.JSONDecodeError as exc:
        if not exc.msg.startswith("Extra data"):
            return [], f"{exc.msg} (line {exc.lineno - 1 + start}, column {exc.colno})"
    decoder = json.JSONDecoder()
    values: list[Any] = []
    pos, end = 0, len(text)
    while pos < end:
        while pos < end and text[pos] in " \t\r\n":
            pos += 1
        if pos >= end:
            break
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            return values, f"{exc.msg} (line {exc.lineno - 1 + start}, column {exc.colno})"
        values.append(value)
    return values, None


_GLUED = re.compile(rb"[^ :\r\n]\{\r?\n")
"""A ``{`` ending a line after text that cannot precede an object in indented JSON: a
document glued to the end of a truncated one (``cat`` of a file cut without its newline)."""

MAX_RESYNC_TRIES = 32
"""Glued-document candidates tried per bad document."""


def _resync(data: bytes, start: int) -> Optional[tuple[int, Any]]:
    """Find a whole document glued after a truncated one: (its first line, its value)."""
    for tries, match in enumerate(_GLUED.finditer(data)):
        if tries >= MAX_RESYNC_TRIES:
            break
        try:
            value = json.loads(data[match.start() + 1:])
        except (ValueError, UnicodeDecodeError):
            continue
        return start + data.count(b"\n", 0, match.start()), value
    return None


def iter_documents(
    stream: IO[bytes], source: str, on_problem: Callable[[Problem], None]
) -> Iterator[Document]:
    """Yield each JSON document of a byte stream, reporting what is not one.

    Args:
        stream: a binary stream (a file opened ``rb`` or ``sys.stdin.buffer``).
        source: its name, for problems.
        on_problem: called with each :class:`Problem`: text that is not JSON (one problem per
            run of such lines), a document cut short (by the end of the input or by the next
            document), a document that is not valid JSON or UTF-8, or one over
            :data:`MAX_DOCUMENT_BYTES`.

    Yields:
        :class:`Document` in input order; its ``value`` is whatever JSON holds (the caller
        checks it is an envelope).
    """
    buf: list[bytes] = []
    size = start = lineno = 0
    is_open = oversized = False
    bad_end = ""  # the parse error at the last line that looked like the document's end
    noise_start = noise_count = 0
    noise_first = b""

    def flush_noise() -> None:
        nonlocal noise_count
        if noise_count:
            what = "not JSON" if noise_count == 1 else f"{noise_count} lines that are not JSON"
            on_problem(Problem(source, noise_start,
                               f"{what}: {_snippet(noise_first)} (not an envdoctor report)"))
            noise_count = 0

    def close(truncated: str) -> Iterator[Document]:
        nonlocal is_open, buf, size, oversized, bad_end
        if oversized:
            on_problem(Problem(source, start,
                               f"document over {MAX_DOCUMENT_BYTES} bytes, skipped"))
        else:
            data = b"".join(buf)
            values, error = _parse(data, start)
            for value in values:
                yield Document(start, value)
            glued = _resync(data, start) if error is not None else None
            if glued is not None:
                on_problem(Problem(source, start, "truncated report: the next document "
                                   f"starts inside it, at line {glued[0]}"))
                yield Document(glued[0], glued[1])
            elif error is not None:
                message = f"not valid JSON: {bad_end}" if bad_end else f"{truncated} ({error})"
                on_problem(Problem(source, start, message))
        is_open, buf, size, oversized, bad_end = False, [], 0, False, ""

    for raw, count, cut in _units(stream):
        if raw[:1] == b" ":  # indented lines: the bulk of a pretty document (or text)
            first = lineno + 1
            lineno += count
            if is_open:
                size += len(raw)
                if cut or size > MAX_DOCUMENT_BYTES:
                    oversized, buf = True, []
                elif not oversized:
                    buf.append(raw)
                continue
            text = [(i, t) for i, t in enumerate(raw.split(b"\n")) if t.strip()]
            if text:
                if not noise_count:
                    noise_start, noise_first = first + text[0][0], text[0][1]
                noise_count += len(text)
            continue
        lineno += 1
        line = raw
        if lineno == 1 and raw.startswith(b"\xef\xbb\xbf"):
            line = raw[3:]
        if _opens(line):
            if is_open:
                yield from close(f"truncated report: the next document starts at line {lineno}")
            flush_noise()
            is_open, start = True, lineno
        elif not is_open:
            if line.strip():
                if not noise_count:
                    noise_start, noise_first = lineno, line
                noise_count += 1
            continue
        if cut or size + len(line) > MAX_DOCUMENT_BYTES:
            oversized, buf = True, []
        elif not oversized:
            buf.append(line)
            size += len(line)
        ends = _closes(line) or (lineno == start and line.rstrip()[-1:] in (b"}", b"]"))
        if not ends:
            continue
        if oversized:
            if _closes(line):
                yield from close("")
            continue
        values, error = _parse(b"".join(buf), start)
        if error is None:
            for value in values:
                yield Document(start, value)
            is_open, buf, size = False, [], 0
        else:
            bad_end = error
    if is_open:
        yield from close("truncated report: the input ends before the document does")
    flush_noise()


def _natural_key(text: str) -> tuple[Union[int, str], ...]:
    """``node2`` before ``node10``."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _versions(env: Any) -> tuple[str, str, str, str]:
    """(kind, python_version, tensorflow, keras) of an envelope's environment dict."""
    if not isinstance(env, dict):
        return "", "", "", ""
    packages = env.get("packages")
    if not isinstance(packages, dict):
        packages = {}

    def version(name: str) -> str:
        pkg = packages.get(name)
        return _string(pkg.get("version")) if isinstance(pkg, dict) else ""

    tf = next((v for v in map(version, TF_DISTRIBUTIONS) if v), "")
    return (_string(env.get("kind")), _string(env.get("python_version")), tf,
            version("keras"))


class Merger:
    """Accumulate envelopes into one table keyed on (host, interpreter, model).

    A later report of the same key replaces the earlier one (a re-run of a job), counted in
    :attr:`superseded`.  Memory: the rows (interned strings) plus :data:`MAX_STORED_PROBLEMS`
    problems.

    Args:
        on_problem: called with every :class:`Problem` as it is found (e.g. print it).
    """

    def __init__(self, on_problem: Optional[Callable[[Problem], None]] = None) -> None:
        self._rows: dict[tuple[str, str, str], Row] = {}
        self._on_problem = on_problem
        self.problems: list[Problem] = []
        """The first :data:`MAX_STORED_PROBLEMS` problems."""
        self.problem_count = 0
        """All problems found."""
        self.bad_inputs = 0
        """Inputs with at least one problem."""
        self.inputs = 0
        """Inputs read (files, directory members, standard input)."""
        self.reports = 0
        """Envelopes merged."""
        self.superseded = 0
        """Rows replaced by a later report of the same host, interpreter and model."""

    def _problem(self, problem: Problem) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_STORED_PROBLEMS:
            self.problems.append(problem)
        if self._on_problem is not None:
            self._on_problem(problem)

    # ------------------------------------------------------------------ inputs

    def add_path(self, path: str, stdin: Optional[IO[bytes]] = None) -> None:
        """Merge one input: a file, a directory's report files, or ``-`` (standard input).

        Args:
            path: the input as given on the command line.
            stdin: the stream ``-`` reads (default ``sys.stdin.buffer``).

        A missing or unreadable path, or a directory without report files, is a problem;
        nothing is raised.
        """
        if path == STDIN:
            self.add_stream(stdin if stdin is not None else sys.stdin.buffer, STDIN)
            return
        if os.path.isdir(path):
            try:
                names = sorted(e.name for e in os.scandir(path)
                               if e.name.endswith(SUFFIXES) and e.is_file())
            except OSError as exc:
                self._bad(Problem(path, 0, f"cannot read the directory: {exc.strerror or exc}"))
                return
            if not names:
                self._bad(Problem(path, 0, "directory holds no *.json, *.jsonl or *.ndjson "
                                           "file"))
            for name in names:
                self.add_path(os.path.join(path, name))
            return
        try:
            handle = open(path, "rb")  # noqa: SIM115 (closed by the with below)
        except OSError as exc:
            self._bad(Problem(path, 0, f"cannot read: {exc.strerror or exc}"))
            return
        with handle:
            try:
                small = os.fstat(handle.fileno()).st_size <= MAX_DOCUMENT_BYTES
            except OSError:
                small = False
            if small and os.path.isfile(path):
                # The common case, one report per file: parse it whole, no line scanning.
                try:
                    data = handle.read(MAX_DOCUMENT_BYTES + 1)
                except OSError as exc:
                    self._bad(Problem(path, 0, f"read error: {exc.strerror or exc}"))
                    return
                try:
                    value = json.loads(data)
                except (ValueError, UnicodeDecodeError):
                    self.add_stream(io.BytesIO(data), path)
                else:
                    self.add_stream(io.BytesIO(), path, parsed=value)
                return
            self.add_stream(handle, path)

    def _bad(self, problem: Problem) -> None:
        self.inputs += 1
        self.bad_inputs += 1
        self._problem(problem)

    def add_stream(self, stream: IO[bytes], source: str, *, parsed: Any = _UNSET) -> None:
        """Merge every document of one binary stream named ``source``.

        ``parsed``: the stream's only document, already parsed (``stream`` is then unread).
        """
        self.inputs += 1
        before = self.problem_count
        name = "stdin" if source == STDIN else os.path.basename(source.rstrip("/\\")) or source
        index = 0
        found = False
        try:
            docs: Iterable[Document] = (
                iter_documents(stream, source, self._problem) if parsed is _UNSET
                else (Document(1, parsed),)
            )
            for doc in docs:
                found = True
                items = doc.value if isinstance(doc.value, list) else [doc.value]
                if not items:
                    self._problem(Problem(source, doc.line, "an empty JSON array, no report"))
                for item in items:
                    index += 1
                    fallback = name if index == 1 else f"{name}#{index}"
                    message = self.add_envelope(item, fallback)
                    if message:
                        self._problem(Problem(source, doc.line, message))
        except OSError as exc:
            self._problem(Problem(source, 0, f"read error: {exc.strerror or exc}"))
        if not found and self.problem_count == before:
            self._problem(Problem(source, 0, "empty: no report in it"))
        if self.problem_count > before:
            self.bad_inputs += 1

    # ------------------------------------------------------------------ envelopes

    def add_envelope(self, data: Any, fallback_host: str) -> str:
        """Merge one parsed envelope; return ``""`` or why it cannot be merged (one line).

        Args:
            data: the parsed JSON document.
            fallback_host: the host to use when the envelope has no ``host`` string.
        """
        if not isinstance(data, dict):
            return f"a JSON {type(data).__name__}, not an envdoctor report"
        if "schema_version" not in data:
            return "not an envdoctor report (no schema_version)"
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            return (f"schema_version {json.dumps(version)} is not one this envdoctor reads "
                    f"(it reads {SCHEMA_VERSION!r}; merge with the envdoctor that wrote it)")
        verdicts = data.get("verdicts")
        candidates = data.get("candidates", [])
        environments = data.get("environments", [])
        if not isinstance(verdicts, list) or not isinstance(environments, list) or \
                not isinstance(candidates, list):
            return "not a valid envdoctor report: verdicts/environments/candidates is not a list"
        command = _string(data.get("command")) or "?"
        broken = [c for c in candidates if isinstance(c, dict) and c.get("health") == "broken"]
        if not verdicts and command != "check":
            return (f"a {command!r} report holds no verdicts: merge reads "
                    "'envdoctor check --format json' reports")
        host = data.get("host")
        host = host.strip() if isinstance(host, str) and host.strip() else fallback_host
        host = sys.intern(host)
        envs = {e.get("python"): e for e in environments if isinstance(e, dict)}
        cands = {c.get("python"): c for c in candidates if isinstance(c, dict)}
        new: list[Row] = []
        for v in verdicts:
            if not isinstance(v, dict) or v.get("status") not in STATUSES or \
                    not isinstance(v.get("python"), str):
                return "not a valid envdoctor report: a verdict lacks python or status"
            python = v["python"]
            kind, pyver, tf, keras = _versions(envs.get(python))
            if not kind:
                kind = _string((cands.get(python) or {}).get("kind"))
            codes = v.get("codes")
            new.append(Row(
                host, sys.intern(python), sys.intern(kind), sys.intern(pyver),
                sys.intern(tf), sys.intern(keras), sys.intern(_string(v.get("model"))),
                sys.intern(v["status"]),
                tuple(sys.intern(c) for c in codes if isinstance(c, str))
                if isinstance(codes, list) else (),
                "",
            ))
        for c in broken:
            python = _string(c.get("python")) or _string(c.get("prefix"))
            new.append(Row(host, sys.intern(python), sys.intern(_string(c.get("kind"))), "", "",
                           "", "", "broken", (), _string(c.get("reason"))))
        for row in new:
            key = (row.host, row.python, row.model)
            if key in self._rows:
                self.superseded += 1
            self._rows[key] = row
        self.reports += 1
        return ""

    # ------------------------------------------------------------------ results

    def rows(self) -> list[Row]:
        """The table, sorted by host (natural order: node2 before node10), interpreter, model."""
        return sorted(self._rows.values(),
                      key=lambda r: (_natural_key(r.host), r.python, r.model))

    def models(self) -> list[ModelSummary]:
        """Per model (not the environment-alone rows): on how many hosts it is usable."""
        hosts: dict[str, dict[str, bool]] = {}
        for row in self._rows.values():
            if not row.model:
                continue
            seen = hosts.setdefault(row.model, {})
            seen[row.host] = seen.get(row.host, False) or row.status in ("ok", "warning")
        return [
            ModelSummary(model, len(by_host), sum(by_host.values()),
                         tuple(sorted((h for h, ok in by_host.items() if not ok),
                                      key=_natural_key)))
            for model, by_host in sorted(hosts.items())
        ]

    def counts(self) -> dict[str, int]:
        """Rows per status: ``ok``, ``warning``, ``error``, ``broken``."""
        counts = {"ok": 0, "warning": 0, "error": 0, "broken": 0}
        for row in self._rows.values():
            counts[row.status] += 1
        return counts

    def hosts(self) -> int:
        """Distinct hosts in the table."""
        return len({row.host for row in self._rows.values()})

    def environments(self) -> int:
        """Distinct (host, interpreter) pairs in the table."""
        return len({(row.host, row.python) for row in self._rows.values()})


def merge(paths: Iterable[str], *, stdin: Optional[IO[bytes]] = None,
          on_problem: Optional[Callable[[Problem], None]] = None) -> Merger:
    """Merge every input (see :meth:`Merger.add_path`); no input at all means standard input.

    Args:
        paths: files, directories or ``-``.
        stdin: the stream ``-`` reads (default ``sys.stdin.buffer``).
        on_problem: called with each problem as it is found.

    Returns:
        The :class:`Merger` holding the table and the counts.
    """
    merger = Merger(on_problem)
    given = list(paths) or [STDIN]
    for path in given:
        merger.add_path(path, stdin)
    return merger
