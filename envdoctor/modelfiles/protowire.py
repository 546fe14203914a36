"""A small reader of the protobuf binary wire format (no ``protobuf`` dependency).

envdoctor reads ``saved_model.pb``, ``keras_metadata.pb``, ``export.meta`` and bare GraphDef
files without importing TensorFlow or protobuf.  Only the wire format is needed: each field is
a varint *tag* ``(field_number << 3) | wire_type`` followed by its value, where the wire type
is 0 (varint), 1 (8 bytes, little endian), 2 (varint length, then that many bytes: strings,
bytes, embedded messages, packed repeated fields) or 5 (4 bytes, little endian); 3 and 4
(start/end group) are deprecated proto2 groups that no TensorFlow proto uses, so they are
rejected.  Field number 0 is invalid and field numbers stop at 2**29 - 1.  A varint is at most
10 bytes, 7 bits per byte, least significant group first; negative ``int32``/``int64`` values
are sign-extended to 64 bits (10 bytes).  Repeated occurrences of a scalar field keep the last
value; repeated occurrences of a non-repeated embedded message are merged, which for the wire
format is the same as concatenating their bytes.  Source: the protobuf encoding guide,
https://protobuf.dev/programming-guides/encoding/ ("Base 128 Varints", "Message Structure",
"Last One Wins").

Every value of wire type 2 is a :class:`memoryview` slice of the input: nothing is copied, and
fields nobody asked for are skipped by moving an offset, without slicing or decoding them, so
a 50 MB ``saved_model.pb`` whose bulk (``graph_def.node``, ``graph_def.library``,
``object_graph_def``) is never wanted is walked in milliseconds.

Every malformed input raises :class:`ProtoDecodeError`, and nothing else.
"""

from __future__ import annotations

import contextlib
from collections.abc import Container, Iterator
from contextvars import ContextVar
from typing import Optional, Union

from envdoctor.modelfiles.limits import MAX_PROTO_DEPTH, MAX_PROTO_FIELDS

Buffer = Union[bytes, bytearray, memoryview]
"""Anything the reader accepts: the bytes of one encoded message."""

FieldValue = Union[int, memoryview]
"""A field's raw value: an ``int`` for wire types 0, 1 and 5, a ``memoryview`` for wire type 2."""

WIRE_VARINT = 0
WIRE_FIXED64 = 1
WIRE_LEN = 2
WIRE_START_GROUP = 3
WIRE_END_GROUP = 4
WIRE_FIXED32 = 5

MAX_FIELD_NUMBER = (1 << 29) - 1
"""Largest legal field number (protobuf language guide, "Assigning Field Numbers")."""

_MASK64 = (1 << 64) - 1
_WIRE_NAMES = {0: "varint", 1: "64-bit", 2: "length-delimited", 3: "start-group",
               4: "end-group", 5: "32-bit"}


class ProtoDecodeError(ValueError):
    """The bytes are not a well-formed protobuf message (or not the message we expected)."""


_BUDGET: ContextVar[Optional[list[int]]] = ContextVar("envdoctor_proto_budget", default=None)
_BUDGET_STEP = 4096  # budget units spent between two checks of the budget
YIELD_COST = 10
"""Budget units a field costs when :func:`scan` yields it (a skipped field costs 1): a
yielded value is usually kept (~250 bytes) and handled in Python (~3 us), a skipped one
costs ~0.6 us and no memory."""


@contextlib.contextmanager
def field_budget(limit: int = MAX_PROTO_FIELDS) -> Iterator[None]:
    """Bound the fields every :func:`scan` inside the block may visit, together.

    A skipped field costs one unit of the budget, a yielded one :data:`YIELD_COST` units.

    A block nested in another keeps the outer budget.  Without any block, scans are
    unbounded.

    Args:
        limit: the budget, in units (see above).

    Yields:
        Nothing; scans that go over the budget raise :class:`ProtoDecodeError`.
    """
    if _BUDGET.get() is not None:
        yield
        return
    token = _BUDGET.set([limit])
    try:
        yield
    finally:
        _BUDGET.reset(token)


def _spend(budget: Optional[list[int]], count: int) -> None:
    if budget is None:
        return
    budget[0] -= count
    if budget[0] < 0:
        raise ProtoDecodeError(
            f"over the budget of {MAX_PROTO_FIELDS} protobuf field units: refusing to read "
            "further (a damaged or hostile file?)"
        )


def _as_view(data: Buffer) -> memoryview:
    """Return ``data`` as a flat unsigned-byte memoryview without copying.

    Raises:
        ProtoDecodeError: when ``data`` is not a contiguous bytes-like object.

    """
    try:
        view = data if isinstance(data, memoryview) else memoryview(data)
        if view.format != "B" or view.ndim != 1:
            view = view.cast("B")
    except (TypeError, ValueError) as exc:
        raise ProtoDecodeError(f"not a contiguous bytes buffer: {exc}") from exc
    return view


def read_varint(buf: memoryview, pos: int, end: int) -> tuple[int, int]:
    """Decode one base-128 varint.

    Args:
        buf: the buffer.
        pos: offset of the varint's first byte.
        end: offset one past the last byte that may be read.

    Returns:
        ``(value, offset after the varint)``; the value is an unsigned 64-bit integer
        (bits above 64 of an over-long final byte are dropped, as protobuf does).

    Raises:
        ProtoDecodeError: when the varint runs past ``end`` or is longer than 10 bytes.

    """
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise ProtoDecodeError(f"truncated varint at byte {pos}")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result & _MASK64, pos
        shift += 7
        if shift >= 70:
            raise ProtoDecodeError(f"varint longer than 10 bytes at byte {pos - 10}")


def to_int32(value: int) -> int:
    """Reinterpret a decoded varint as a signed ``int32`` (protobuf truncates to 32 bits)."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= (1 << 31) else value


def to_int64(value: int) -> int:
    """Reinterpret a decoded varint or fixed64 as a signed ``int64``."""
    value &= _MASK64
    return value - (1 << 64) if value >= (1 << 63) else value


def scan(
    data: Buffer, wanted: Optional[Container[int]] = None
) -> Iterator[tuple[int, int, FieldValue]]:
    """Iterate over the fields of one encoded message.

    Args:
        data: the message's bytes (bytes, bytearray or memoryview; never copied).
        wanted: field numbers to yield; ``None`` yields every field.  Other fields are still
            checked for well-formedness (so a corrupt file is noticed) but skipped without
            being sliced or decoded.

    Yields:
        ``(field_number, wire_type, value)``: ``value`` is an ``int`` for wire types 0, 1, 5
        (unsigned; see :func:`to_int32`/:func:`to_int64`) and a zero-copy ``memoryview`` of
        the payload for wire type 2.

    Raises:
        ProtoDecodeError: on a truncated field, an invalid tag, field number 0, a group wire
            type (3/4) or an undefined wire type (6/7).

    """
    buf = _as_view(data)
    pos = 0
    end = len(buf)
    everything = wanted is None
    want: Container[int] = () if wanted is None else wanted
    budget = _BUDGET.get()
    seen = 0
    while pos < end:
        seen += 1
        if seen >= _BUDGET_STEP:
            _spend(budget, seen)
            seen = 0
        byte = buf[pos]
        if byte < 0x80:
            tag = byte
            pos += 1
        else:
            tag, pos = read_varint(buf, pos, end)
        number = tag >> 3
        wire = tag & 7
        if number == 0 or number > MAX_FIELD_NUMBER:
            raise ProtoDecodeError(f"invalid field number {number} at byte {pos - 1}")
        take = everything or number in want
        if wire == WIRE_LEN:
            if pos < end and buf[pos] < 0x80:
                length = buf[pos]
                pos += 1
            else:
                length, pos = read_varint(buf, pos, end)
            if length > end - pos:
                raise ProtoDecodeError(
                    f"field {number}: length {length} runs past the end of its message "
                    f"({end - pos} bytes left; truncated file?)"
                )
            if take:
                seen += YIELD_COST
                yield number, wire, buf[pos : pos + length]
            pos += length
        elif wire == WIRE_VARINT:
            value, pos = read_varint(buf, pos, end)
            if take:
                seen += YIELD_COST
                yield number, wire, value
        elif wire in (WIRE_FIXED64, WIRE_FIXED32):
            size = 8 if wire == WIRE_FIXED64 else 4
            if size > end - pos:
                raise ProtoDecodeError(f"field {number}: truncated {size}-byte value")
            if take:
                seen += YIELD_COST
                yield number, wire, int.from_bytes(buf[pos : pos + size], "little")
            pos += size
        elif wire in (WIRE_START_GROUP, WIRE_END_GROUP):
            raise ProtoDecodeError(f"field {number}: group wire type {wire} is not supported")
        else:
            raise ProtoDecodeError(f"field {number}: invalid wire type {wire}")
    _spend(budget, seen)


def decode_string(value: FieldValue, what: str = "string") -> str:
    """Decode a length-delimited value as UTF-8 text.

    Args:
        value: a raw field value from :func:`scan`.
        what: a name for the field, used in the error message.

    Returns:
        The decoded text.

    Raises:
        ProtoDecodeError: when the value is not length-delimited or is not valid UTF-8
            (proto3 ``string`` fields must be UTF-8).

    """
    if not isinstance(value, memoryview):
        raise ProtoDecodeError(f"{what}: expected a length-delimited value, got a number")
    try:
        return str(value, "utf-8")
    except UnicodeDecodeError as exc:
        raise ProtoDecodeError(f"{what}: not valid UTF-8 ({exc.reason})") from exc


class Fields:
    """The wanted fields of one message, collected in a single pass by :meth:`Message.collect`.

    Typed getters check the wire type and raise :class:`ProtoDecodeError` on a mismatch.
    """

    __slots__ = ("_depth", "_values")

    def __init__(self, values: dict[int, list[tuple[int, FieldValue]]], depth: int) -> None:
        self._values = values
        self._depth = depth

    def __contains__(self, number: object) -> bool:
        """Return True when field ``number`` occurred at least once."""
        return number in self._values

    def _typed(self, number: int, wire: int) -> list[FieldValue]:
        found = self._values.get(number, [])
        out: list[FieldValue] = []
        for got_wire, value in found:
            if got_wire != wire:
                raise ProtoDecodeError(
                    f"field {number}: expected wire type {_WIRE_NAMES[wire]}, "
                    f"found {_WIRE_NAMES.get(got_wire, str(got_wire))}"
                )
            out.append(value)
        return out

    def _views(self, number: int) -> list[memoryview]:
        return [v for v in self._typed(number, WIRE_LEN) if isinstance(v, memoryview)]

    def raw(self, number: int) -> list[FieldValue]:
        """Return every raw value of field ``number``, in file order (any wire type)."""
        return [value for _, value in self._values.get(number, [])]

    def string(self, number: int, default: str = "") -> str:
        """Return the last value of string field ``number`` ("last one wins"), or ``default``.

        Raises:
            ProtoDecodeError: wrong wire type or invalid UTF-8.

        """
        values = self._typed(number, WIRE_LEN)
        return decode_string(values[-1], f"field {number}") if values else default

    def strings(self, number: int) -> list[str]:
        """Return every value of repeated string field ``number``, in order.

        Raises:
            ProtoDecodeError: wrong wire type or invalid UTF-8.

        """
        return [decode_string(v, f"field {number}") for v in self._typed(number, WIRE_LEN)]

    def uint(self, number: int, default: int = 0) -> int:
        """Return the last value of varint field ``number`` as an unsigned int, or ``default``.

        Raises:
            ProtoDecodeError: wrong wire type.

        """
        values = self._typed(number, WIRE_VARINT)
        return int(values[-1]) if values else default

    def int32(self, number: int, default: int = 0) -> int:
        """Return the last value of ``int32`` (or enum) field ``number``, signed, or ``default``.

        Raises:
            ProtoDecodeError: wrong wire type.

        """
        values = self._typed(number, WIRE_VARINT)
        return to_int32(int(values[-1])) if values else default

    def int64(self, number: int, default: int = 0) -> int:
        """Return the last value of ``int64`` field ``number``, signed, or ``default``.

        Raises:
            ProtoDecodeError: wrong wire type.

        """
        values = self._typed(number, WIRE_VARINT)
        return to_int64(int(values[-1])) if values else default

    def boolean(self, number: int, default: bool = False) -> bool:
        """Return the last value of ``bool`` field ``number``, or ``default``.

        Raises:
            ProtoDecodeError: wrong wire type.

        """
        values = self._typed(number, WIRE_VARINT)
        return bool(values[-1]) if values else default

    def message(self, number: int) -> Optional[Message]:
        """Return embedded message field ``number`` (several occurrences are merged), or None.

        Raises:
            ProtoDecodeError: wrong wire type, or nesting deeper than ``MAX_PROTO_DEPTH``.

        """
        values = self._views(number)
        if not values:
            return None
        if len(values) == 1:
            return Message(values[0], self._depth + 1)
        return Message(b"".join(values), self._depth + 1)

    def messages(self, number: int) -> list[Message]:
        """Return every value of repeated message field ``number``, in order.

        Raises:
            ProtoDecodeError: wrong wire type, or nesting deeper than ``MAX_PROTO_DEPTH``.

        """
        return [Message(v, self._depth + 1) for v in self._views(number)]

    def string_map(self, number: int) -> list[tuple[str, Message]]:
        """Return the ``(key, value message)`` entries of a ``map<string, Message>`` field.

        A map entry is encoded as a message ``{key = 1; value = 2}`` (protobuf language guide,
        "Maps": "Backwards compatibility").  A missing value is an empty message.  Later
        duplicates of a key are kept (callers decide; protobuf keeps the last).

        Raises:
            ProtoDecodeError: malformed entries or nesting deeper than ``MAX_PROTO_DEPTH``.

        """
        entries: list[tuple[str, Message]] = []
        for entry in self.messages(number):
            fields = entry.collect((1, 2))
            value = fields.message(2)
            entries.append((fields.string(1), value or Message(b"", entry.depth + 1)))
        return entries


class Message:
    """One encoded protobuf message (a zero-copy view) at a known nesting depth.

    Args:
        data: the encoded bytes.
        depth: how deep this message is nested (0 for the file's top-level message).

    Raises:
        ProtoDecodeError: when ``depth`` exceeds :data:`limits.MAX_PROTO_DEPTH` or ``data``
            is not a bytes-like buffer.

    """

    __slots__ = ("data", "depth")

    def __init__(self, data: Buffer, depth: int = 0) -> None:
        if depth > MAX_PROTO_DEPTH:
            raise ProtoDecodeError(f"messages nested deeper than {MAX_PROTO_DEPTH} levels")
        self.data = _as_view(data)
        self.depth = depth

    def __len__(self) -> int:
        """Size of the encoded message, bytes."""
        return len(self.data)

    def fields(self) -> Iterator[tuple[int, int, FieldValue]]:
        """Iterate over every field, as :func:`scan` yields them.

        Raises:
            ProtoDecodeError: on malformed input (while iterating).

        """
        return scan(self.data)

    def collect(self, wanted: Container[int]) -> Fields:
        """Collect the fields numbered in ``wanted`` in one pass, skipping all others.

        Raises:
            ProtoDecodeError: on malformed input anywhere in this message (skipped fields
                included, but not the insides of skipped sub-messages).

        """
        values: dict[int, list[tuple[int, FieldValue]]] = {}
        for number, wire, value in scan(self.data, wanted):
            values.setdefault(number, []).append((wire, value))
        return Fields(values, self.depth)

    def validate(self) -> None:
        """Walk every field once, without descending into sub-messages.

        Raises:
            ProtoDecodeError: on malformed input.

        """
        for _ in scan(self.data, ()):
            pass
