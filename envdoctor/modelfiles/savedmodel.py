"""Read a TensorFlow SavedModel directory without importing TensorFlow.

Layout and proto field numbers are from ``/work/shared/reference/compat-facts.md`` §2.4
(``tensorflow/core/protobuf/saved_model.proto``, ``meta_graph.proto``,
``tensorflow/core/framework/{graph,versions,op_def,function,node_def,tensor_shape,types}.proto``
and ``keras-team/tf-keras:tf_keras/protobuf/saved_metadata.proto``):

* ``SavedModel { int64 saved_model_schema_version = 1; repeated MetaGraphDef meta_graphs = 2; }``
* ``MetaGraphDef { MetaInfoDef meta_info_def = 1; GraphDef graph_def = 2; saver_def = 3;
  collection_def = 4; map<string, SignatureDef> signature_def = 5; asset_file_def = 6;
  SavedObjectGraph object_graph_def = 7; }``
* ``MetaInfoDef { meta_graph_version = 1; OpList stripped_op_list = 2; any_info = 3;
  repeated string tags = 4; string tensorflow_version = 5; string tensorflow_git_version = 6; }``
* ``OpList { repeated OpDef op = 1; }``, ``OpDef { string name = 1; ... }``
* ``GraphDef { repeated NodeDef node = 1; FunctionDefLibrary library = 2;
  VersionDef versions = 4; }``,
  ``VersionDef { int32 producer = 1; int32 min_consumer = 2; }``
* ``NodeDef { string name = 1; string op = 2; ... }``,
  ``FunctionDefLibrary { repeated FunctionDef function = 1; ... }``,
  ``FunctionDef { OpDef signature = 1; repeated NodeDef node_def = 3; ... }``
  (``tensorflow/core/framework/function.proto``; checked against the real files: the
  tensorflow-text ops of ``pm-032`` are found exactly there).
* ``SignatureDef { map<string, TensorInfo> inputs = 1; outputs = 2; string method_name = 3; }``,
  ``TensorInfo { string name = 1; DataType dtype = 2; TensorShapeProto tensor_shape = 3;
  coo_sparse = 4; composite_tensor = 5; }``,
  ``TensorShapeProto { repeated Dim dim = 2; bool unknown_rank = 3; }``, ``Dim { int64 size = 1; }``
* ``keras_metadata.pb``: ``SavedMetadata { repeated SavedObject nodes = 1; }``,
  ``SavedObject { int32 node_id = 2; string node_path = 3; string identifier = 4;
  string metadata = 5; }``; ``metadata`` is the JSON of the Keras object.

Why ``ops`` is more than ``stripped_op_list``: in TF 2.x SavedModels the stripped op list only
covers ops reachable from the top-level graph, not the bodies of the saved ``tf.function``s
(read from the real files: ``pm-032``, TF 2.3, lists 5 ops while its functions use
``SentencepieceOp``, ``CaseFoldUTF8``...; the TF 2.15 LSTM fixture's list lacks ``CudnnRNN``).
Loading fails on *any* unregistered op ("Op type not registered"), so :func:`read_savedmodel`
also collects the ``op`` of every ``graph_def.node`` and every ``library.function[].node_def``
(nothing else of those messages is decoded; calls to library functions by name are dropped).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable
from typing import Any, Optional

from envdoctor.errors import ModelFileError
from envdoctor.modelfiles.config import load_json_bounded, needs_extras, walk_config
from envdoctor.modelfiles.lfs import GIT_LFS_PREFIX, lfs_pointer_info
from envdoctor.modelfiles.limits import (
    MAX_JSON_BYTES,
    MAX_JSON_DEPTH,
    MAX_PB_BYTES,
    MAX_WALK_ENTRIES,
)
from envdoctor.modelfiles.protowire import (
    WIRE_LEN,
    Message,
    ProtoDecodeError,
    field_budget,
    scan,
)
from envdoctor.modelfiles.safe_open import (  # directory_size, read_bounded: re-exported
    directory_size,
    is_inside,
    open_regular,
    read_bounded,
)
from envdoctor.types import (
    InputSpec,
    MetaGraphInfo,
    ModelFormat,
    ModelInfo,
    SavedModelInfo,
    Shape,
    SignatureInfo,
    TensorSpec,
)

SAVED_MODEL_PB = "saved_model.pb"
SAVED_MODEL_PBTXT = "saved_model.pbtxt"
KERAS_METADATA_PB = "keras_metadata.pb"
FINGERPRINT_PB = "fingerprint.pb"
VARIABLES_DIR = "variables"
"""File and directory names (``tensorflow/python/saved_model/constants.py``, compat-facts §2.4)."""

INIT_OP_SIGNATURE = "__saved_model_init_op"
"""Internal signature TF 2.x adds to run initializers; not something a user calls."""

SERVING_DEFAULT = "serving_default"
"""``tf.saved_model.DEFAULT_SERVING_SIGNATURE_DEF_KEY``."""

MAX_KERAS_METADATA_BYTES = MAX_JSON_BYTES
"""Largest ``keras_metadata.pb`` read (bytes); it holds JSON only."""

DTYPE_NAMES: dict[int, str] = {
    0: "invalid",
    1: "float32",
    2: "float64",
    3: "int32",
    4: "uint8",
    5: "int16",
    6: "int8",
    7: "string",
    8: "complex64",
    9: "int64",
    10: "bool",
    11: "qint8",
    12: "quint8",
    13: "qint32",
    14: "bfloat16",
    15: "qint16",
    16: "quint16",
    17: "uint16",
    18: "complex128",
    19: "float16",
    20: "resource",
    21: "variant",
    22: "uint32",
    23: "uint64",
}
"""``tensorflow.DataType`` enum values (``tensorflow/core/framework/types.proto``) named as
``tf.DType.name`` spells them.  ``DT_X_REF = DT_X + 100`` are TF1 reference types."""

_REF_OFFSET = 100
_PBTXT_VERSION = re.compile(rb'\btensorflow_version:\s*"([^"\\]*)"')
_PBTXT_GIT_VERSION = re.compile(rb'\btensorflow_git_version:\s*"([^"\\]*)"')
_PBTXT_TAGS = re.compile(rb'\btags:\s*"([^"\\]*)"')
_PBTXT_SIGNATURE = re.compile(rb'\bsignature_def\s*\{\s*key:\s*"([^"\\]*)"')
_PBTXT_PRODUCER = re.compile(rb"\bversions\s*\{\s*producer:\s*(-?\d{1,10})(?!\d)")
_SHARD = re.compile(r"^(?P<prefix>.+)\.data-(?P<index>\d{5})-of-(?P<count>\d{5})$")


def dtype_name(value: int) -> str:
    """Name a ``tensorflow.DataType`` enum value.

    Args:
        value: the enum number read from a ``TensorInfo.dtype`` field.

    Returns:
        ``"float32"``, ``"int64"``... (``tf.DType.name`` spelling), ``"float32_ref"`` for the
        TF1 reference types (101 and up), ``"dtype_<n>"`` for numbers TensorFlow added later.
    """
    if value > _REF_OFFSET and value - _REF_OFFSET in DTYPE_NAMES:
        return DTYPE_NAMES[value - _REF_OFFSET] + "_ref"
    return DTYPE_NAMES.get(value, f"dtype_{value}")


def _shape(message: Optional[Message]) -> Optional[Shape]:
    """Decode a ``TensorShapeProto``: dims with size -1 become None; unknown rank is None."""
    if message is None:
        return None  # no tensor_shape at all: nothing is known, not even the rank
    fields = message.collect((2, 3))
    if fields.boolean(3):
        return None
    dims: list[Optional[int]] = []
    for dim in fields.messages(2):
        size = dim.collect((1,)).int64(1)
        dims.append(None if size < 0 else size)
    return tuple(dims)


def _tensor_specs(entries: list[tuple[str, Message]]) -> tuple[TensorSpec, ...]:
    """Decode ``map<string, TensorInfo>`` entries into TensorSpecs named by their map key."""
    specs = []
    for key, info in entries:
        fields = info.collect((1, 2, 3, 4, 5))
        dtype = dtype_name(fields.int32(2))
        if 4 in fields:
            dtype = f"sparse {dtype}"
        elif 5 in fields:
            dtype = f"composite {dtype}"
        specs.append(TensorSpec(name=key, dtype=dtype, shape=_shape(fields.message(3))))
    return tuple(sorted(specs, key=lambda s: s.name))


def _signatures(entries: list[tuple[str, Message]]) -> tuple[SignatureInfo, ...]:
    signatures: dict[str, SignatureInfo] = {}
    for key, sig in entries:
        fields = sig.collect((1, 2, 3))
        signatures[key] = SignatureInfo(
            key=key,
            method_name=fields.string(3),
            inputs=_tensor_specs(fields.string_map(1)),
            outputs=_tensor_specs(fields.string_map(2)),
        )
    return tuple(signatures[k] for k in sorted(signatures))


def _first_string(data: memoryview, number: int) -> Optional[bytes]:
    """Return the first value of string field ``number`` as bytes, stopping right there."""
    for _, wire, value in scan(data, (number,)):
        if wire != WIRE_LEN or not isinstance(value, memoryview):
            raise ProtoDecodeError(f"field {number}: expected a string")
        return bytes(value)
    return None


def _graph_ops(graph_def: Message) -> tuple[set[bytes], Optional[int]]:
    """Collect the op of every node of a GraphDef and of its function library.

    Returns:
        ``(op names as bytes, versions.producer or None)``.  Function names are removed
        (a node whose op is a library function is a call, not an op).
    """
    ops: set[bytes] = set()
    function_names: set[bytes] = set()
    fields = graph_def.collect((1, 2, 4))
    for node in fields.raw(1):
        if isinstance(node, memoryview):
            op = _first_string(node, 2)
            if op:
                ops.add(op)
    library = fields.message(2)
    if library is not None:
        for _, _, function in scan(library.data, (1,)):
            if not isinstance(function, memoryview):
                raise ProtoDecodeError("library.function: expected a message")
            for number, _, value in scan(function, (1, 3)):
                if not isinstance(value, memoryview):
                    raise ProtoDecodeError(f"FunctionDef field {number}: expected a message")
                if number == 1:
                    name = _first_string(value, 1)
                    if name:
                        function_names.add(name)
                else:
                    op = _first_string(value, 2)
                    if op:
                        ops.add(op)
    producer: Optional[int] = None
    versions = fields.message(4)
    if versions is not None:
        version_fields = versions.collect((1,))
        if 1 in version_fields:
            producer = version_fields.int32(1)
    return ops - function_names, producer


def _decode_ops(raw: Iterable[bytes]) -> set[str]:
    names = set()
    for op in raw:
        try:
            names.add(op.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ProtoDecodeError(f"op name is not UTF-8 ({exc.reason})") from exc
    return names


def _meta_graph(message: Message) -> tuple[MetaGraphInfo, bool]:
    """Decode one MetaGraphDef; return it and whether it has a SavedObjectGraph (TF 2.x)."""
    fields = message.collect((1, 2, 5, 7))
    tags: tuple[str, ...] = ()
    version = git_version = ""
    op_names: set[str] = set()
    info = fields.message(1)
    if info is not None:
        info_fields = info.collect((2, 4, 5, 6))
        tags = tuple(info_fields.strings(4))
        version = info_fields.string(5)
        git_version = info_fields.string(6)
        op_list = info_fields.message(2)
        if op_list is not None:
            for op_def in op_list.collect((1,)).messages(1):
                name = op_def.collect((1,)).string(1)
                if name:
                    op_names.add(name)
    producer: Optional[int] = None
    graph_def = fields.message(2)
    if graph_def is not None:
        graph_ops, producer = _graph_ops(graph_def)
        op_names |= _decode_ops(graph_ops)
    meta = MetaGraphInfo(
        tags=tags,
        tensorflow_version=version,
        tensorflow_git_version=git_version,
        ops=tuple(sorted(op_names)),
        producer=producer,
        signatures=_signatures(fields.string_map(5)),
    )
    return meta, 7 in fields


def parse_saved_model_pb(data: bytes) -> tuple[int, tuple[MetaGraphInfo, ...], bool]:
    """Decode the bytes of a ``saved_model.pb``.

    Args:
        data: the whole file.

    Returns:
        ``(saved_model_schema_version, meta graphs, every meta graph has an object graph)``.

    Raises:
        ProtoDecodeError: malformed protobuf, or not a SavedModel (no meta graph).
    """
    with field_budget():
        top = Message(data).collect((1, 2))
        schema = top.int64(1)
        metas = []
        object_graphs = []
        for message in top.messages(2):
            meta, has_object_graph = _meta_graph(message)
            metas.append(meta)
            object_graphs.append(has_object_graph)
    if not metas:
        raise ProtoDecodeError("no MetaGraphDef in the file (empty or not a SavedModel)")
    return schema, tuple(metas), all(object_graphs)


def parse_meta_graph_def(data: bytes) -> tuple[MetaGraphInfo, bool]:
    """Decode a bare ``MetaGraphDef`` file (a TF1 ``export.meta`` / ``model.ckpt.meta``).

    Args:
        data: the whole file.

    Returns:
        ``(meta graph, has a SavedObjectGraph)``.

    Raises:
        ProtoDecodeError: malformed protobuf, or no ``meta_info_def`` nor ``graph_def``.
    """
    with field_budget():
        message = Message(data)
        present = message.collect((1, 2))
        if 1 not in present and 2 not in present:
            raise ProtoDecodeError("neither meta_info_def nor graph_def: not a MetaGraphDef")
        return _meta_graph(message)


def _variables(path: str) -> tuple[bool, int, list[str]]:
    """Inspect ``variables/``: presence, total size (bytes), and notes on missing/LFS shards."""
    var_dir = os.path.join(path, VARIABLES_DIR)
    if not os.path.isdir(var_dir):
        return False, 0, []
    size, notes = directory_size(var_dir)
    try:
        names = os.listdir(var_dir)
    except OSError as exc:
        return True, size, [f"variables/ cannot be listed: {exc.strerror or exc}"]
    prefixes: dict[str, tuple[int, set[int]]] = {}
    for name in names:
        match = _SHARD.match(name)
        if match:
            count = int(match.group("count"))
            _, indices = prefixes.setdefault(match.group("prefix"), (count, set()))
            indices.add(int(match.group("index")))
    if "variables.index" in names and "variables" not in prefixes:
        notes.append("variables/variables.index has no variables.data-* shard: restoring fails")
    for prefix, (count, indices) in sorted(prefixes.items()):
        missing = sorted(set(range(count)) - indices)
        if missing:
            first = f"{prefix}.data-{missing[0]:05d}-of-{count:05d}"
            notes.append(
                f"variables/ is missing {len(missing)} of {count} shard(s) (e.g. {first}): "
                "restoring the variables fails"
            )
        if not os.path.exists(os.path.join(var_dir, prefix + ".index")):
            notes.append(f"variables/{prefix}.index is missing: restoring the variables fails")
    for name in sorted(names):
        full = os.path.join(var_dir, name)
        try:
            if os.path.getsize(full) <= 1024:
                with open_regular(full) as handle:
                    if handle.read(len(GIT_LFS_PREFIX)) == GIT_LFS_PREFIX:
                        notes.append(
                            f"variables/{name} is a git-lfs pointer, not the data: run "
                            "`git lfs pull`"
                        )
        except OSError:
            continue
    return True, size, notes


def _json_object(text: str, path: str) -> tuple[Optional[dict[str, Any]], Optional[str]]:
    """Parse the metadata JSON with the project's bounded parser; ``(object, problem)``."""
    try:
        value = load_json_bounded(text.encode("utf-8"), "keras_metadata.pb metadata", path)
    except ModelFileError as exc:
        return None, exc.message
    if not isinstance(value, dict):
        return None, "the root metadata is not a JSON object"
    return value, None


def untuple(value: object, depth: int = 0) -> object:
    """Undo tf.keras's SavedModel JSON encoding of tuples.

    ``keras_metadata.pb`` JSON is written with tf.keras's ``json_utils.Encoder``, which
    stores a tuple as ``{"class_name": "__tuple__", "items": [...]}``
    (``keras-team/tf-keras:tf_keras/saving/legacy/saved_model/json_utils.py``; seen in the
    TF 2.13-2.21 fixtures, e.g. ``"batch_input_shape": {"class_name": "__tuple__", ...}``).
    Turn them back into lists so the config reads like ``model.to_json()`` output.  Nesting
    deeper than ``limits.MAX_JSON_DEPTH`` is left as it is.

    Returns:
        A copy of ``value`` with every ``__tuple__`` object replaced by its item list.
    """
    if depth > MAX_JSON_DEPTH:
        return value
    if isinstance(value, dict):
        if value.get("class_name") == "__tuple__" and isinstance(value.get("items"), list):
            return [untuple(item, depth + 1) for item in value["items"]]
        return {key: untuple(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        return [untuple(item, depth + 1) for item in value]
    return value


def read_keras_metadata(path: str) -> tuple[Optional[dict[str, Any]], list[str]]:
    """Read the top-level model's metadata JSON from ``keras_metadata.pb``.

    The JSON is only parsed as data (``json.loads``); nothing in it is executed or imported.

    Args:
        path: the ``keras_metadata.pb`` file.

    Returns:
        ``(metadata of the node with node_path "root" (or node_id 0), notes)``; the
        metadata is None when the file cannot be read, is over
        :data:`MAX_KERAS_METADATA_BYTES` bytes, or holds no usable root node.
    """
    try:
        data = read_bounded(path, MAX_KERAS_METADATA_BYTES)
    except (OSError, ValueError) as exc:
        return None, [f"keras_metadata.pb not read: {exc}"]
    try:
        with field_budget():
            nodes = Message(data).collect((1,)).messages(1)
            for node in nodes:
                fields = node.collect((2, 3, 5))
                if fields.string(3) == "root" or (3 not in fields and fields.int32(2) == 0):
                    metadata, problem = _json_object(fields.string(5), path)
                    if metadata is None:
                        return None, [f"keras_metadata.pb: {problem}"]
                    return metadata, []
    except ProtoDecodeError as exc:
        return None, [f"keras_metadata.pb is not readable: {exc}"]
    return None, ["keras_metadata.pb has no root node"]


def _keras_inputs(metadata: dict[str, Any]) -> tuple[InputSpec, ...]:
    """Input specs from a Keras metadata ``save_spec``/``full_save_spec`` (TypeSpec JSON)."""
    spec = metadata.get("save_spec")
    specs = spec if isinstance(spec, list) else [spec]
    out = []
    for item in specs:
        if not isinstance(item, dict) or item.get("type_spec") != "tf.TensorSpec":
            continue
        serialized = item.get("serialized")
        if not isinstance(serialized, list) or len(serialized) < 2:
            continue
        shape_obj = serialized[0]
        items = shape_obj.get("items") if isinstance(shape_obj, dict) else None
        if not isinstance(items, list) or not all(d is None or isinstance(d, int) for d in items):
            continue
        name = serialized[2] if len(serialized) > 2 and isinstance(serialized[2], str) else ""
        dtype = serialized[1] if isinstance(serialized[1], str) else None
        out.append(InputSpec(name=name, shape=tuple(items), dtype=dtype))
    return tuple(out)


def _main_meta_graph(metas: tuple[MetaGraphInfo, ...]) -> MetaGraphInfo:
    for meta in metas:
        if "serve" in meta.tags:
            return meta
    return metas[0]


def _main_signature(meta: MetaGraphInfo) -> Optional[SignatureInfo]:
    user = [s for s in meta.signatures if s.key != INIT_OP_SIGNATURE]
    for sig in user:
        if sig.key == SERVING_DEFAULT:
            return sig
    return user[0] if user else None


def _describe_list(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def _user_signature_keys(meta: MetaGraphInfo) -> list[str]:
    """Signature keys a user calls: ``serving_default`` first, the TF-internal init op dropped."""
    keys = [s.key for s in meta.signatures if s.key != INIT_OP_SIGNATURE]
    return sorted(keys, key=lambda k: (k != SERVING_DEFAULT, k))


def _needs(
    metas: tuple[MetaGraphInfo, ...], main: MetaGraphInfo, has_keras_metadata: bool
) -> str:
    tags_arg = ""
    if len(metas) > 1 or main.tags != ("serve",):
        tags_arg = f", tags={list(main.tags)!r}"
    parts = [f"tf.saved_model.load(path{tags_arg}) (any TF 2.x)"]
    if has_keras_metadata:
        parts[0] += (
            ", or tf.keras.models.load_model with Keras 2 (TF <= 2.15, or tf-keras with "
            "TF_USE_LEGACY_KERAS=1) since keras_metadata.pb is present"
        )
    signature = _main_signature(main)
    if signature is not None:
        parts.append(
            "Keras 3's load_model refuses SavedModels: use "
            f"keras.layers.TFSMLayer(path, call_endpoint={signature.key!r})"
        )
    else:
        parts.append(
            "Keras 3's load_model refuses SavedModels, and keras.layers.TFSMLayer needs a "
            "signature, which this SavedModel lacks"
        )
    return "; ".join(parts)


def _summary(main: MetaGraphInfo, keras: str) -> str:
    version = f"TensorFlow {main.tensorflow_version}" if main.tensorflow_version else "TensorFlow"
    signatures = _user_signature_keys(main)
    sig_text = f"signatures {_describe_list(signatures)}" if signatures else "no signatures"
    tags = ", ".join(main.tags) if main.tags else "no tags"
    return f"{version} SavedModel{keras} (tags {tags}; {sig_text})"


def _lfs_pointer(path: str, data: bytes) -> ModelInfo:
    oid, size = lfs_pointer_info(data)
    size_text = f"{size} bytes" if size is not None else "unknown size"
    return ModelInfo(
        path=path,
        format=ModelFormat.GIT_LFS_POINTER,
        loadable=False,
        summary=(
            f"SavedModel directory whose saved_model.pb is a git-lfs pointer "
            f"(oid {oid or 'unknown'}, {size_text}), not the model"
        ),
        needs="`git lfs pull` (or `git lfs fetch && git lfs checkout`) in the repository",
        size_bytes=len(data),
    )


def _read_pbtxt(path: str, pbtxt: str) -> ModelInfo:
    """Read the few facts a minimal regex can take from a text-format ``saved_model.pbtxt``."""
    try:
        data = read_bounded(pbtxt, MAX_PB_BYTES)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ModelFileError(path, f"saved_model.pbtxt cannot be read: {reason}") from exc
    except ValueError as exc:
        raise ModelFileError(path, f"saved_model.pbtxt is too large: {exc}") from exc

    def first(pattern: re.Pattern[bytes]) -> str:
        match = pattern.search(data)
        return match.group(1).decode("utf-8", "replace") if match else ""

    tags = tuple(dict.fromkeys(m.decode("utf-8", "replace") for m in _PBTXT_TAGS.findall(data)))
    keys = sorted({m.decode("utf-8", "replace") for m in _PBTXT_SIGNATURE.findall(data)})
    producer_text = first(_PBTXT_PRODUCER)
    meta = MetaGraphInfo(
        tags=tags,
        tensorflow_version=first(_PBTXT_VERSION),
        tensorflow_git_version=first(_PBTXT_GIT_VERSION),
        ops=(),
        producer=int(producer_text) if producer_text else None,
        signatures=tuple(SignatureInfo(key=k, method_name="", inputs=(), outputs=()) for k in keys),
    )
    has_vars, var_bytes, var_notes = _variables(path)
    size, size_notes = directory_size(path)
    info = SavedModelInfo(
        schema_version=1,
        meta_graphs=(meta,),
        has_keras_metadata=os.path.isfile(os.path.join(path, KERAS_METADATA_PB)),
        has_fingerprint=os.path.isfile(os.path.join(path, FINGERPRINT_PB)),
        has_variables=has_vars,
        variables_bytes=var_bytes,
        pb_bytes=len(data),
    )
    notes = [
        "saved_model.pbtxt is the text format: only tags, tensorflow_version, the GraphDef "
        "producer and signature keys were read (by pattern, not parsed)",
        *var_notes,
        *size_notes,
    ]
    return ModelInfo(
        path=path,
        format=ModelFormat.SAVEDMODEL,
        loadable=True,
        summary=_summary(meta, "") + " in text format (saved_model.pbtxt)",
        needs=_needs((meta,), meta, info.has_keras_metadata),
        size_bytes=size,
        tensorflow_version=meta.tensorflow_version or None,
        savedmodel=info,
        notes=tuple(notes),
    )


def _enrich_from_keras_config(info: ModelInfo, metadata: dict[str, Any]) -> ModelInfo:
    """Add layers, custom objects, Lambdas... from the metadata's ``model_config``.

    The config is walked by :func:`envdoctor.modelfiles.config.walk_config` (data only);
    the signature-derived ``inputs`` are kept.  A config the walker rejects becomes a note.
    """
    model_config = metadata.get("model_config")
    if not isinstance(model_config, dict):
        return info
    try:
        summary = walk_config(
            untuple(model_config),
            where=info.path,
            keras_version=info.keras_version,
            training_config=untuple(metadata.get("training_config")),
        )
    except Exception as exc:
        reason = exc.message if isinstance(exc, ModelFileError) else type(exc).__name__
        return dataclasses.replace(
            info, notes=(*info.notes, f"keras_metadata.pb model_config not walked: {reason}")
        )
    return dataclasses.replace(
        info,
        dialect=summary.dialect,
        model_class=info.model_class or summary.model_class,
        model_module=summary.model_module,
        layers=summary.layers,
        custom_objects=summary.custom_objects,
        lambdas=summary.lambdas,
        security=summary.security,
        inputs=info.inputs or summary.inputs,
        dtype_policy=summary.dtype_policy,
        has_training_config=info.has_training_config or summary.has_compile_config,
        needs=info.needs + needs_extras(summary),
        notes=tuple(dict.fromkeys(info.notes + summary.notes)),
    )


def read_savedmodel(path: str) -> ModelInfo:
    """Read a SavedModel directory.

    Reads ``saved_model.pb`` in one bounded read (at most :data:`limits.MAX_PB_BYTES` bytes)
    and decodes it with :mod:`envdoctor.modelfiles.protowire`; ``saved_model.pbtxt`` is only
    reported, with a regex read of tags and versions.  ``keras_metadata.pb`` (tf.keras 2.x),
    ``fingerprint.pb`` (TF >= 2.12) and ``variables/`` are looked at; nothing is executed.

    Args:
        path: the SavedModel directory.

    Returns:
        A :class:`ModelInfo` with ``format=SAVEDMODEL``, ``loadable=True``, the saving
        TensorFlow version (first meta graph), ``inputs`` from the ``serving_default``
        signature (else the first user signature), ``size_bytes`` = the directory's size in
        bytes (symlinks not followed) and :class:`SavedModelInfo` details.  A directory whose
        ``saved_model.pb`` is a git-lfs pointer gives ``format=GIT_LFS_POINTER``.

    Raises:
        ModelFileError: no ``saved_model.pb``/``.pbtxt``, unreadable, larger than
            ``MAX_PB_BYTES``, or not a decodable SavedModel ("saved_model.pb is not a
            readable SavedModel: <reason>").
    """
    pb = os.path.join(path, SAVED_MODEL_PB)
    pbtxt = os.path.join(path, SAVED_MODEL_PBTXT)
    if not os.path.isfile(pb):
        if os.path.isfile(pbtxt):
            return _read_pbtxt(path, pbtxt)
        raise ModelFileError(path, "no saved_model.pb or saved_model.pbtxt in the directory")
    try:
        data = read_bounded(pb, MAX_PB_BYTES)
    except OSError as exc:
        raise ModelFileError(
            path, f"saved_model.pb is not a readable SavedModel: {exc.strerror or exc}"
        ) from exc
    except ValueError as exc:
        raise ModelFileError(path, f"saved_model.pb is not a readable SavedModel: {exc}") from exc
    if data.startswith(GIT_LFS_PREFIX):
        return _lfs_pointer(path, data)
    try:
        schema, metas, object_graphs = parse_saved_model_pb(data)
    except ProtoDecodeError as exc:
        raise ModelFileError(path, f"saved_model.pb is not a readable SavedModel: {exc}") from exc

    notes: list[str] = []
    has_keras_metadata = os.path.isfile(os.path.join(path, KERAS_METADATA_PB))
    has_fingerprint = os.path.isfile(os.path.join(path, FINGERPRINT_PB))
    has_vars, var_bytes, var_notes = _variables(path)
    size, size_notes = directory_size(path)
    if os.path.islink(pb) and not is_inside(os.path.realpath(path), pb):
        notes.append("saved_model.pb is a symbolic link to a file outside the directory")

    metadata: Optional[dict[str, Any]] = None
    if has_keras_metadata:
        notes.append("keras_metadata.pb present: written by tf.keras 2.x (Keras 2)")
        metadata, meta_notes = read_keras_metadata(os.path.join(path, KERAS_METADATA_PB))
        notes.extend(meta_notes)
    if has_fingerprint:
        notes.append("fingerprint.pb present (written by TF 2.12 and later)")
    if not object_graphs:
        notes.append(
            "no SavedObjectGraph (TF 1.x-style SavedModel): tf.saved_model.load gives only "
            "its signatures, with no Keras model or trackable objects"
        )
    if not has_vars:
        notes.append("no variables/ directory")
    user_keys = set(_user_signature_keys(_main_meta_graph(metas)))
    if not has_keras_metadata and {"serve", SERVING_DEFAULT} <= user_keys:
        notes.append(
            "signatures 'serve' + 'serving_default' and no keras_metadata.pb: the layout "
            "Keras 3's model.export() writes (a TF graph, not a Keras model)"
        )
    if schema != 1:
        notes.append(f"saved_model_schema_version is {schema} (TensorFlow writes 1)")
    notes.extend(var_notes)
    notes.extend(size_notes)

    main = _main_meta_graph(metas)
    signature = _main_signature(main)
    inputs: tuple[InputSpec, ...] = ()
    if signature is not None:
        specs = []
        for spec in signature.inputs:
            if spec.shape is None:
                notes.append(f"signature input {spec.name!r} has unknown rank")
                continue
            specs.append(InputSpec(name=spec.name, shape=spec.shape, dtype=spec.dtype))
        inputs = tuple(specs)

    keras_version: Optional[str] = None
    backend: Optional[str] = None
    model_class: Optional[str] = None
    has_training_config = False
    keras_text = ""
    if metadata is not None:
        keras_version = _str_or_none(metadata.get("keras_version"))
        backend = _str_or_none(metadata.get("backend"))
        model_class = _str_or_none(metadata.get("class_name"))
        has_training_config = metadata.get("training_config") is not None
        if not inputs and signature is None:
            inputs = _keras_inputs(metadata)
        words = (keras_version, f"({model_class})" if model_class else None)
        described = " ".join(x for x in words if x)
        keras_text = f" written by tf.keras {described}" if described else " written by tf.keras"

    info = ModelInfo(
        path=path,
        format=ModelFormat.SAVEDMODEL,
        loadable=True,
        summary=_summary(main, keras_text),
        needs=_needs(metas, main, has_keras_metadata),
        size_bytes=size,
        keras_version=keras_version,
        backend=backend,
        tensorflow_version=metas[0].tensorflow_version or None,
        model_class=model_class,
        inputs=inputs,
        has_training_config=has_training_config,
        savedmodel=SavedModelInfo(
            schema_version=schema,
            meta_graphs=metas,
            has_keras_metadata=has_keras_metadata,
            has_fingerprint=has_fingerprint,
            has_variables=has_vars,
            variables_bytes=var_bytes,
            pb_bytes=len(data),
        ),
        notes=tuple(notes),
    )
    if metadata is not None:
        info = _enrich_from_keras_config(info, metadata)
    return info


def _str_or_none(value: object) -> Optional[str]:
    return value if isinstance(value, str) and value else None


__all__ = [
    "DTYPE_NAMES",
    "MAX_WALK_ENTRIES",
    "directory_size",
    "dtype_name",
    "parse_meta_graph_def",
    "parse_saved_model_pb",
    "read_bounded",
    "read_keras_metadata",
    "read_savedmodel",
    "untuple",
]
