"""Frozen dataclasses and string enums shared by every pipeline stage.

Each stage of the pipeline (discover -> inventory -> read models -> check ->
plan fixes -> render) is a plain function over these types.  They are frozen,
hold only plain data (str, int, bool, tuples, dicts of those) and can be turned
into JSON with :func:`envdoctor.render.json_out.to_jsonable`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Optional, Union


def canonical_name(name: str) -> str:
    """Return the PEP 503 normalized distribution name (``"Tf_Keras"`` -> ``"tf-keras"``).

    The rule of ``packaging.utils.canonicalize_name`` (``re.sub(r"[-_.]+", "-", name).lower()``),
    written out so that reading an environment does not import :mod:`packaging` (whose
    ``utils`` module loads ``tags``, ``logging`` and ``sysconfig``: start-up time of ``check``).
    """
    return re.sub(r"[-_.]+", "-", name).lower()

Shape = tuple[Optional[int], ...]
"""A tensor shape; ``None`` is an unknown dimension (the batch dimension, usually)."""

JSONValue = Union[str, int, float, bool, None, list["JSONValue"], dict[str, "JSONValue"]]


class Severity(str, Enum):
    """How bad a finding is.

    ``error``: envdoctor predicts that loading with the format's standard loader, or
    the first forward pass on a correct float32 input, fails.  ``warning``: may fail,
    or is unsafe.  ``info``: worth knowing.
    """

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def status(self) -> str:
        """The status this severity gives a pair on its own (``"ok"`` for info)."""
        return "ok" if self is Severity.INFO else self.value

    @property
    def rank(self) -> int:
        """2 for error, 1 for warning, 0 for info (for sorting and thresholds).

        The :func:`status_rank` of :attr:`status`.
        """
        return status_rank(self.status)


STATUS_ORDER: tuple[str, ...] = ("ok", "warning", "error", "broken")
"""Every status a verdict (:class:`Verdict`), a report line (:class:`CheckItem`) or a
discovered environment (:class:`CandidateInfo` ``health``) can have, best first: the one rank
order of envdoctor (index = rank; :attr:`Severity.rank` is the rank of its status)."""


def status_rank(status: str) -> int:
    """The rank of a status in :data:`STATUS_ORDER`: 0 ``ok`` .. 3 ``broken``.

    Raises:
        ValueError: not a status.
    """
    return STATUS_ORDER.index(status)


def worst_status(statuses: Iterable[str]) -> str:
    """The worst of some statuses by :data:`STATUS_ORDER`; ``"ok"`` when there is none.

    Raises:
        ValueError: one is not a status.
    """
    return max(statuses, key=status_rank, default="ok")


def severity_status(severities: Iterable[Severity]) -> str:
    """The status findings of these severities give.

    ``"error"`` if any error, else ``"warning"`` if any warning, else ``"ok"`` (info
    alone, or nothing).
    """
    return worst_status(s.status for s in severities)


class ModelFormat(str, Enum):
    """What a path on disk turned out to be, detected by content."""

    KERAS_ARCHIVE = "keras_archive"  # Keras v3 `.keras` zip (keras >= 2.11 / Keras 3)
    KERAS_H5 = "keras_h5"  # legacy whole-model HDF5 (Keras 1/2, Keras 3 legacy writer)
    KERAS_H5_WEIGHTS = "keras_h5_weights"  # legacy save_weights() HDF5 (layer_names attr)
    KERAS_WEIGHTS_H5 = "keras_weights_h5"  # Keras 3 / v3 `*.weights.h5` (layers/... groups)
    KERAS_CONFIG_JSON = "keras_config_json"  # model.to_json() / save_model_config()
    SAVEDMODEL = "savedmodel"  # TensorFlow SavedModel directory (saved_model.pb)
    TF_CHECKPOINT = "tf_checkpoint"  # .index + .data-* shards
    TFLITE = "tflite"  # TFLite flatbuffer ("TFL3")
    FROZEN_GRAPHDEF = "frozen_graphdef"  # a bare GraphDef .pb
    TF1_SESSION_BUNDLE = "tf1_session_bundle"  # legacy export + export.meta
    GIT_LFS_POINTER = "git_lfs_pointer"  # a git-lfs pointer file instead of the model
    PICKLE = "pickle"  # pickle / joblib file (never unpickled)
    HDF5_NOT_A_MODEL = "hdf5_not_a_model"  # an HDF5 file without Keras attributes
    EMPTY = "empty"  # zero-byte file or empty directory
    UNKNOWN = "unknown"


class ConfigDialect(str, Enum):
    """Which Keras wrote a model config, judged from its keys and module paths."""

    KERAS1 = "keras1"  # Keras 1.x
    KERAS2 = "keras2"  # multi-backend Keras 2 / tf.keras <= 2.12 (no keras.src paths)
    TF_KERAS_2_13 = "tf_keras_2_13"  # tf.keras 2.13-2.15 / tf-keras: keras.src.engine.*
    KERAS3 = "keras3"  # Keras 3.x (batch_shape, keras.* public modules, DTypePolicy dicts >= 3.4)
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class LayerInfo:
    """One layer (or nested model) found in a model config.

    Attributes:
        name: the layer's ``name`` in its config ("" when absent).
        class_name: e.g. ``"Dense"``.
        module: the serialized ``module`` (Keras 3 / 2.13+ only), else ``None``.
        registered_name: the serialized ``registered_name``, e.g. ``"pkg>Scale"``.
        path: the nesting path, e.g. ``"model/bidirectional/forward_lstm"``.
        builtin: True when the class is a Keras built-in (module ``keras*``/``tf_keras*``
            or, for configs without modules, a name in envdoctor's list of built-in layers).
    """

    name: str
    class_name: str
    module: Optional[str]
    registered_name: Optional[str]
    path: str
    builtin: bool


@dataclass(frozen=True)
class CustomObject:
    """A class or function the config needs that Keras does not ship.

    Attributes:
        kind: ``"layer"``, ``"model"``, ``"loss"``, ``"metric"``, ``"optimizer"``,
            ``"activation"``, ``"initializer"``, ``"regularizer"``, ``"constraint"``,
            ``"function"`` or ``"object"``.
        class_name: the class or function name as serialized.
        module: the serialized module, if any (``"<r-globalenv>"`` for objects defined in R).
        registered_name: e.g. ``"envdoctor_fixtures>Scale"``.
        where: a config path that says where it was found, e.g. ``"layers/scale"``
            or ``"compile_config/loss"``.
    """

    kind: str
    class_name: str
    module: Optional[str]
    registered_name: Optional[str]
    where: str


@dataclass(frozen=True)
class LambdaInfo:
    """A ``Lambda`` layer.

    Attributes:
        layer: the layer name.
        has_bytecode: True when the function is marshalled Python bytecode (base64),
            which only the CPython minor version that saved it can read.
        function_type: ``"lambda"``, ``"function"`` (a named function), ``"raw"`` or ``"unknown"``.
        function_name: the function's name when stored by name.
    """

    layer: str
    has_bytecode: bool
    function_type: str
    function_name: Optional[str] = None


@dataclass(frozen=True)
class SecurityObject:
    """An object in a config whose loading can run code or read files.

    Attributes:
        kind: ``"lambda"``, ``"tfsm_layer"``, ``"torch_module_wrapper"``,
            ``"lookup_vocabulary_file"`` or ``"non_keras_module"``.
        where: the config path of the object.
        detail: one line saying what loading it does.
    """

    kind: str
    where: str
    detail: str


@dataclass(frozen=True)
class InputSpec:
    """One model input.

    Attributes:
        name: the input's name ("" when unknown).
        shape: full shape including the batch dimension (``None`` = any size).
        dtype: e.g. ``"float32"`` (``None`` when unknown).
    """

    name: str
    shape: Shape
    dtype: Optional[str]


@dataclass(frozen=True)
class TensorSpec:
    """A tensor in a SavedModel signature: name, dtype name and shape (``None`` = unknown rank)."""

    name: str
    dtype: str
    shape: Optional[Shape]


@dataclass(frozen=True)
class SignatureInfo:
    """One SignatureDef of a SavedModel MetaGraphDef."""

    key: str
    method_name: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]


@dataclass(frozen=True)
class MetaGraphInfo:
    """What envdoctor reads from one MetaGraphDef of ``saved_model.pb``.

    Attributes:
        tags: e.g. ``("serve",)``.
        tensorflow_version: ``meta_info_def.tensorflow_version`` (field 5), "" when absent.
        tensorflow_git_version: ``meta_info_def.tensorflow_git_version`` (field 6).
        ops: sorted op names of ``meta_info_def.stripped_op_list``.
        producer: ``graph_def.versions.producer`` (GraphDef version of the writer), or None.
        signatures: the SignatureDefs, sorted by key.
    """

    tags: tuple[str, ...]
    tensorflow_version: str
    tensorflow_git_version: str
    ops: tuple[str, ...]
    producer: Optional[int]
    signatures: tuple[SignatureInfo, ...]


@dataclass(frozen=True)
class SavedModelInfo:
    """A SavedModel directory's layout and ``saved_model.pb`` contents."""

    schema_version: int
    meta_graphs: tuple[MetaGraphInfo, ...]
    has_keras_metadata: bool
    has_fingerprint: bool
    has_variables: bool
    variables_bytes: int
    pb_bytes: int


@dataclass(frozen=True)
class Sidecar:
    """Evidence from requirement files saved beside a model.

    Attributes:
        files: the paths read.
        python_version: the training Python version (e.g. ``"3.10.12"``) if any file states it.
        requirements: PEP 508 requirement strings pinned by the training environment.
        notes: problems met while reading (unparsable lines, etc.).
    """

    files: tuple[str, ...]
    python_version: Optional[str]
    requirements: tuple[str, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModelInfo:
    """Everything envdoctor learned about a saved model without executing it.

    Attributes:
        path: the path as given.
        format: what the path is.
        loadable: True when ``load_model`` of some Keras is meant to load it as a whole model.
        summary: one line saying what it is.
        needs: one line saying what loading it needs (e.g. "the model's code, then load_weights").
        size_bytes: size on disk (file, or sum of the directory), bytes.
        keras_version: the saving Keras version (``metadata.json`` / HDF5 ``keras_version``).
        backend: the saving backend (HDF5 ``backend`` attribute), if recorded.
        tensorflow_version: the saving TensorFlow version (SavedModel), if recorded.
        date_saved: ``metadata.json``'s ``date_saved``.
        dialect: the config dialect.
        model_class: class of the top-level model (``Sequential``, ``Functional``, ...).
        model_module: its serialized module, if any.
        layers: every layer, nested ones included, in config order.
        custom_objects: every non-built-in object the config needs.
        lambdas: every Lambda layer.
        security: objects whose loading can run code or read files.
        inputs: the model's input specs.
        dtype_policy: the global/first-layer dtype policy name, e.g. ``"mixed_float16"``.
        weights_member: ``"model.weights.h5"``, ``"model.weights.npz"`` or ``"variables.h5"``
            (.keras archives only).
        weights_bytes: uncompressed size of the weights member, bytes.
        has_training_config: compile information saved with the model.
        savedmodel: SavedModel details, for SavedModel directories.
        sidecar: requirement files found beside the model.
        notes: further facts in plain words.
    """

    path: str
    format: ModelFormat
    loadable: bool
    summary: str
    needs: str = ""
    size_bytes: int = 0
    keras_version: Optional[str] = None
    backend: Optional[str] = None
    tensorflow_version: Optional[str] = None
    date_saved: Optional[str] = None
    dialect: ConfigDialect = ConfigDialect.UNKNOWN
    model_class: Optional[str] = None
    model_module: Optional[str] = None
    layers: tuple[LayerInfo, ...] = ()
    custom_objects: tuple[CustomObject, ...] = ()
    lambdas: tuple[LambdaInfo, ...] = ()
    security: tuple[SecurityObject, ...] = ()
    inputs: tuple[InputSpec, ...] = ()
    dtype_policy: Optional[str] = None
    weights_member: Optional[str] = None
    weights_bytes: Optional[int] = None
    has_training_config: bool = False
    savedmodel: Optional[SavedModelInfo] = None
    sidecar: Optional[Sidecar] = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Package:
    """One installed distribution.

    Attributes:
        name: the normalized project name (PEP 503: lower case, ``-`` separators).
        version: the installed version string.
        requires: its ``Requires-Dist`` lines.
        requires_python: its ``Requires-Python``, or None.
        location: the site-packages directory (or conda prefix) it was read from.
        installer: the ``INSTALLER`` file's content (``pip``, ``uv``, ``conda``), or None.
    """

    name: str
    version: str
    requires: tuple[str, ...] = ()
    requires_python: Optional[str] = None
    location: str = ""
    installer: Optional[str] = None


@dataclass(frozen=True)
class Environment:
    """A Python environment, read statically where possible.

    Attributes:
        python: the interpreter path (as found, not resolved).
        prefix: ``sys.prefix`` of the environment.
        kind: ``"venv"``, ``"virtualenv"``, ``"uv"``, ``"conda"``, ``"pyenv"``, ``"system"``
            or ``"unknown"``.
        manager: the tool that installs into it: ``"pip"``, ``"uv"`` or ``"conda"``.
        python_version: e.g. ``"3.11.7"`` ("" when unknown).
        implementation: e.g. ``"cpython"``.
        arch: e.g. ``"x86_64"``.
        site_packages: the site-packages directories read, in ``sys.path`` order.
        packages: installed distributions keyed by normalized name.
        tf_build_info: TensorFlow's ``build_info`` values read from its installed files
            (``cuda_version``, ``cudnn_version``, ``is_cuda_build``...), empty when absent.
        keras_backend: the Keras 3 backend in force (``KERAS_BACKEND``, else keras.json, else
            ``"tensorflow"``).
        keras_backend_source: where ``keras_backend`` came from.
        env_vars: the relevant environment variables as the target will see them
            (``TF_USE_LEGACY_KERAS``, ``KERAS_BACKEND``, ``KERAS_HOME``,
            ``PYTHONPATH``...).
        probed: True when the interpreter had to be run to learn something.
        notes: facts that could not be collected, in plain words.
    """

    python: str
    prefix: str
    kind: str
    manager: str
    python_version: str
    implementation: str = "cpython"
    arch: str = ""
    site_packages: tuple[str, ...] = ()
    packages: dict[str, Package] = field(default_factory=dict)
    tf_build_info: dict[str, str] = field(default_factory=dict)
    keras_backend: str = "tensorflow"
    keras_backend_source: str = "default"
    env_vars: dict[str, str] = field(default_factory=dict)
    probed: bool = False
    notes: tuple[str, ...] = ()

    def version_of(self, name: str) -> Optional[str]:
        """Return the installed version of distribution ``name`` (any spelling), or None."""
        key = name.lower().replace("_", "-").replace(".", "-")
        pkg = self.packages.get(key)
        return pkg.version if pkg else None


@dataclass(frozen=True)
class Fix:
    """One concrete remedy.

    Attributes:
        kind: ``"command"`` (a shell command for that environment), ``"env"`` (an environment
            variable to set), ``"python"`` (a line of Python), ``"r"`` (a line of R) or ``"note"``.
        text: the command or line itself, ready to paste.
        description: what it does, in a few words.
        requirements: for an install command, its PEP 508 requirements as data (what
            ``envdoctor fix`` merges; never parsed back from ``text``); empty otherwise.
            Not serialized and not compared (``metadata={"json": False}``).
        target: for an install command, the prefix of the environment it installs into.
    """

    kind: str
    text: str
    description: str = ""
    requirements: tuple[str, ...] = field(default=(), compare=False, metadata={"json": False})
    target: str = field(default="", compare=False, metadata={"json": False})


@dataclass(frozen=True)
class Finding:
    """One result of a check.

    Attributes:
        code: stable code, e.g. ``"ED101"``; never changes meaning once released.
        severity: see :class:`Severity`.
        title: one line.
        detail: a few sentences: why it fails and what happens.
        evidence: (label, value) pairs: versions, files, layers.
        source: URL(s) or release notes behind the rule.
        fixes: remedies, best first.
        model: the model path the finding is about ("" when about the environment only).
        python: the interpreter path the finding is about ("" when about the model only).
    """

    code: str
    severity: Severity
    title: str
    detail: str
    evidence: tuple[tuple[str, str], ...] = ()
    source: str = ""
    fixes: tuple[Fix, ...] = ()
    model: str = ""
    python: str = ""


@dataclass(frozen=True)
class Verdict:
    """The verdict for one (model, environment) pair.

    Attributes:
        model: the model path as given.
        python: the interpreter path.
        status: ``"ok"``, ``"warning"`` or ``"error"`` (the worst finding severity at
            warning or above; info findings do not change ``ok``).
        codes: the codes of the findings behind the status.
    """

    model: str
    python: str
    status: str
    codes: tuple[str, ...]


@dataclass(frozen=True)
class CheckItem:
    """A line of the doctor report: what was checked and how it went.

    ``status`` is ``ok``, ``warning`` or ``error``.
    """

    name: str
    status: str
    summary: str


@dataclass(frozen=True)
class CandidateInfo:
    """An environment found by discovery (``envs``, ``check --all``, ``which``).

    Attributes:
        python: the interpreter path as found ("" when a source crashed).
        prefix: the environment prefix.
        kind: discovery's kind: ``venv``, ``virtualenv``, ``uv``, ``conda``, ``pyenv``,
            ``pyenv-virtualenv``, ``system``, ``pipx``, ``uv-python``, ``poetry``,
            ``pipenv`` or ``unknown``.
        name: a short display name (``r-keras``, ``3.11.7``, a conda env name).
        found_by: every discovery source that found it, in discovery order.
        health: ``ok``, ``warning`` or ``error`` from the environment checks, or ``broken``.
        reason: why it is broken or unreadable ("" otherwise).
        notes: what discovery said about it (pyenv shim resolution, ...).
    """

    python: str
    prefix: str
    kind: str
    name: str
    found_by: tuple[str, ...]
    health: str
    reason: str = ""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class IgnoredFinding:
    """A finding left out of a report because the project configuration ignores its code.

    Attributes:
        finding: the finding as the checks produced it.
        reason: why the project ignores the code (the ``[tool.envdoctor] ignore`` entry).
    """

    finding: Finding
    reason: str


@dataclass(frozen=True)
class Report:
    """The result of one run of the pipeline.

    ``candidates`` is filled only when discovery ran (``envs``, ``check --all``, ``which``);
    it lists every environment found, broken ones included, best first for ``check --all``.
    ``ignored`` holds the findings a project configuration ignores: they are in neither
    ``findings`` nor the verdicts (see :mod:`envdoctor.config`).
    """

    models: tuple[ModelInfo, ...]
    environments: tuple[Environment, ...]
    findings: tuple[Finding, ...]
    verdicts: tuple[Verdict, ...]
    checked: tuple[CheckItem, ...] = ()
    candidates: tuple[CandidateInfo, ...] = ()
    ignored: tuple[IgnoredFinding, ...] = ()

    def worst(self) -> Optional[Severity]:
        """The highest severity among the findings, or None when there are none."""
        if not self.findings:
            return None
        return max((f.severity for f in self.findings), key=lambda s: s.rank)
