"""Walk a parsed Keras model config of any dialect (Keras 1, 2, tf.keras 2.13+, Keras 3).

Nothing in the config is imported, evaluated or decoded: Lambda bytecode stays an opaque
string.  The walk is iterative, so a deeply nested config cannot exhaust the stack, and it
stops with :class:`~envdoctor.errors.ModelFileError` past the bounds in
:mod:`envdoctor.modelfiles.limits`.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from typing import Optional, Union

from envdoctor.errors import ModelFileError
from envdoctor.modelfiles import limits
from envdoctor.types import (
    ConfigDialect,
    CustomObject,
    InputSpec,
    LambdaInfo,
    LayerInfo,
    ModelInfo,
    SecurityObject,
    Shape,
)


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


BUILTIN_LAYERS = _names(
    """
    Activation ActivityRegularization Add AdditiveAttention AlphaDropout Attention AugMix
    AutoContrast Average AveragePooling1D AveragePooling2D AveragePooling3D AvgPool1D AvgPool2D
    AvgPool3D BatchNormalization Bidirectional CategoryCrossing CategoryEncoding CenterCrop
    ClassMethod Concatenate Conv1D Conv1DTranspose Conv2D Conv2DTranspose Conv3D Conv3DTranspose
    ConvLSTM1D ConvLSTM2D ConvLSTM3D Convolution1D Convolution1DTranspose Convolution2D
    Convolution2DTranspose Convolution3D Convolution3DTranspose Cropping1D Cropping2D Cropping3D
    CuDNNGRU CuDNNLSTM CutMix Deconv2D Deconv3D Deconvolution2D Deconvolution3D Dense
    DenseFeatures DepthwiseConv1D DepthwiseConv2D Discretization Dot Dropout ELU EinsumDense
    Embedding Equalization Flatten FlaxLayer Functional GRU GRUCell GRUV1 GRUV2 GaussianDropout
    GaussianNoise GlobalAveragePooling1D GlobalAveragePooling2D GlobalAveragePooling3D
    GlobalAvgPool1D GlobalAvgPool2D GlobalAvgPool3D GlobalMaxPool1D GlobalMaxPool2D
    GlobalMaxPool3D GlobalMaxPooling1D GlobalMaxPooling2D GlobalMaxPooling3D GroupNormalization
    GroupQueryAttention HashedCrossing Hashing Identity InputLayer InstanceMethod
    InstanceProperty IntegerLookup JaxLayer LSTM LSTMCell LSTMV1 LSTMV2 Lambda LayerNormalization
    LeakyReLU LocallyConnected1D LocallyConnected2D Masking MaxPool1D MaxPool2D MaxPool3D
    MaxPooling1D MaxPooling2D MaxPooling3D Maximum MelSpectrogram Minimum MixUp Model
    MultiHeadAttention Multiply Normalization PReLU PeepholeLSTMCell Permute Pipeline
    RMSNormalization RNN RandAugment RandomBrightness RandomColorDegeneration RandomColorJitter
    RandomContrast
    RandomCrop RandomElasticTransform RandomErasing RandomFlip RandomFourierFeatures
    RandomGaussianBlur RandomGrayscale RandomHeight RandomHue RandomInvert RandomPerspective
    RandomPosterization RandomRotation RandomSaturation RandomSharpness RandomShear
    RandomTranslation RandomWidth RandomZoom ReLU RepeatVector Rescaling Reshape Resizing
    ReversibleEmbedding STFTSpectrogram SeparableConv1D SeparableConv2D SeparableConvolution1D
    SeparableConvolution2D Sequential SimpleRNN SimpleRNNCell SlicingOpLambda Softmax
    Solarization SpatialDropout1D SpatialDropout2D SpatialDropout3D SpectralNormalization
    StackedRNNCells StringLookup Subtract SyncBatchNormalization TFOpLambda TFSMLayer
    TextVectorization ThresholdedReLU TimeDistributed TorchModuleWrapper UnitNormalization
    UpSampling1D UpSampling2D UpSampling3D Wrapper ZeroPadding1D ZeroPadding2D ZeroPadding3D
    AtrousConvolution1D AtrousConvolution2D Highway MaxoutDense Merge ParametricSoftplus SReLU
    ThresholdedLinear TimeDistributedDense
    """
)
"""Layer (and model) classes shipped by Keras 1, Keras 2 / tf.keras and Keras 3."""

KERAS1_CLASSES = _names(
    """
    AtrousConvolution1D AtrousConvolution2D Convolution1D Convolution2D Convolution3D
    Deconvolution2D Highway MaxoutDense Merge ParametricSoftplus SReLU ThresholdedLinear
    TimeDistributedDense
    """
)
"""Layer classes only Keras 1 wrote into configs."""

KERAS1_KEYS = _names(
    """
    input_dtype init inner_init border_mode W_regularizer b_regularizer U_regularizer
    W_constraint b_constraint subsample nb_filter nb_row nb_col dim_ordering consume_less
    dropout_W dropout_U output_dim
    """
)
"""Layer config keys only Keras 1 wrote (``output_dim`` is ignored for ``Embedding``)."""

BUILTIN_OBJECTS = _names(
    """
    Constant GlorotNormal GlorotUniform HeNormal HeUniform Identity IdentityInitializer
    LecunNormal LecunUniform One Ones Orthogonal RandomNormal RandomUniform STFT STFTInitializer
    TruncatedNormal VarianceScaling Zero Zeros Initializer
    L1 L1L2 L2 OrthogonalRegularizer Regularizer l1 l1_l2 l2
    Constraint MaxNorm MinMaxNorm NonNeg RadialConstraint UnitNorm max_norm maxnorm min_max_norm
    non_neg nonneg unit_norm unitnorm
    Adadelta Adafactor Adagrad Adam AdamW Adamax Ftrl Lamb Lion LossScaleOptimizer
    LossScaleOptimizerV1 LossScaleOptimizerV3 Muon Nadam Optimizer RMSprop SGD TFOptimizer
    CosineDecay CosineDecayRestarts ExponentialDecay InverseTimeDecay LearningRateSchedule
    PiecewiseConstantDecay PolynomialDecay
    BinaryCrossentropy BinaryFocalCrossentropy CTC CategoricalCrossentropy
    CategoricalFocalCrossentropy CategoricalGeneralizedCrossEntropy CategoricalHinge Circle
    CosineSimilarity Dice Hinge Huber KLDivergence LogCosh Loss LossFunctionWrapper
    MeanAbsoluteError MeanAbsolutePercentageError MeanSquaredError MeanSquaredLogarithmicError
    Poisson SparseCategoricalCrossentropy SquaredHinge Tversky
    AUC Accuracy BinaryAccuracy BinaryIoU CategoricalAccuracy ConcordanceCorrelation F1Score
    FBetaScore FalseNegatives FalsePositives IoU LogCoshError Mean MeanIoU MeanMetricWrapper
    MeanTensor Metric OneHotIoU OneHotMeanIoU PearsonCorrelation Precision PrecisionAtRecall
    R2Score Recall RecallAtPrecision RootMeanSquaredError SensitivityAtSpecificity
    SparseCategoricalAccuracy SparseTopKCategoricalAccuracy SpecificityAtSensitivity Sum
    TopKCategoricalAccuracy TrueNegatives TruePositives
    AWQDTypePolicy DTypePolicy DTypePolicyMap FloatDTypePolicy GPTQDTypePolicy
    Int4DTypePolicy Policy PolicyV1 QuantizedDTypePolicy QuantizedFloat8DTypePolicy
    TensorShape
    """
)
"""Initializer, regularizer, constraint, optimizer, schedule, loss, metric and policy classes."""

BUILTIN_CLASSES = BUILTIN_LAYERS | BUILTIN_OBJECTS
"""Every class name envdoctor treats as a Keras built-in when a config has no modules."""

DTYPE_POLICY_CLASSES = _names(
    """
    AWQDTypePolicy DTypePolicy DTypePolicyMap FloatDTypePolicy GPTQDTypePolicy Int4DTypePolicy
    QuantizedDTypePolicy QuantizedFloat8DTypePolicy
    """
)
"""Keras 3 dtype policy classes (a serialized one marks a Keras >= 3.4 config)."""

MODEL_CLASSES = _names("Sequential Functional Model")

OPAQUE_SPECIALS = _names(
    "__tensor__ __numpy__ __bytes__ __keras_tensor__ __typespec__ __slice__ __ellipsis__"
)
"""Keras 3 special objects that hold data, never classes or code."""

SPECIAL_CLASSES = OPAQUE_SPECIALS | _names("__lambda__ __tuple__ __list__ __dict__ function")

ACTIVATIONS = _names(
    """
    celu elu exponential gelu glu hard_shrink hard_sigmoid hard_silu hard_swish hard_tanh
    leaky_relu linear log_sigmoid log_softmax mish relu relu6 selu sigmoid silu soft_shrink
    softmax softmax_v2 softplus softsign sparse_plus sparse_sigmoid sparsemax squareplus swish
    tanh tanh_shrink threshold
    """
)
"""Activation function names (strings) of Keras 1/2/3."""

LOSSES = _names(
    """
    binary_crossentropy binary_focal_crossentropy categorical_crossentropy
    categorical_focal_crossentropy categorical_generalized_cross_entropy categorical_hinge
    circle cosine cosine_proximity cosine_similarity ctc dice hinge huber huber_loss kl_divergence
    kld kullback_leibler_divergence log_cosh logcosh mae mape mean_absolute_error
    mean_absolute_percentage_error mean_squared_error mean_squared_logarithmic_error mse msle
    poisson sparse_categorical_crossentropy squared_hinge tversky
    """
)
"""Loss function names (strings); compared case-insensitively (``"MSE"`` is built in)."""

METRICS = LOSSES | _names(
    """
    accuracy acc auc binary_accuracy categorical_accuracy ce crossentropy f1_score
    precision recall r2_score rmse root_mean_squared_error sparse_categorical_accuracy
    sparse_top_k_categorical_accuracy top_k_categorical_accuracy
    """
)
"""Metric names (strings), losses included."""

OPTIMIZER_STRINGS = _names(
    "adadelta adafactor adagrad adam adamw adamax ftrl lamb lion muon nadam rmsprop sgd"
)
"""Optimizer names accepted as strings by ``compile``."""

_KNOWN_STRINGS = {
    "activation": ACTIVATIONS,
    "loss": LOSSES,
    "metric": METRICS,
    "optimizer": OPTIMIZER_STRINGS,
}

MAX_JSON_CONTAINERS = 5 * limits.MAX_LAYERS
"""Most JSON objects + arrays accepted in one document (bounds the memory of ``json.loads``).

Parsing costs about 200 bytes of memory per container, so 1,000,000 containers keep the
parse of a hostile config near 250 MB and 1.5 s (4,000,000 took 900 MB and 3.7 s).  Real
configs hold one container per ~65 bytes of JSON (15-20 per Keras 3 layer), so the cap is
reached only near the ``limits.MAX_JSON_BYTES`` size cap."""

_KERAS_ROOTS = frozenset({"keras", "tf_keras", "tensorflow", "builtins"})
_PLAIN_STRING_RE = re.compile(rb'"[^"]*"')
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{},')
_SCAN_CHUNK = 1024 * 1024  # bytes scanned at a time when counting containers
_DEEP_RUN = re.compile(rb"[\[{]{%d}" % (limits.MAX_JSON_DEPTH + 1))
_LAYER_KEYS = frozenset({"layer", "backward_layer", "forward_layer", "cell"})
_ROOT, _LAYER, _LAYERS, _VALUE = range(4)
_Frame = tuple[object, str, str, str, int, int]  # node, config path, layer path, hint, depth, role
_Ident = tuple[str, Optional[str], Optional[str]]  # class_name, module, registered_name
_SKIP_LAYER_KEYS = frozenset({"input_layers", "output_layers", "function", "output_shape", "mode"})
_MAX_NAMES = 100


@dataclass(frozen=True)
class ConfigSummary:
    """What a model config says, read without importing Keras.

    Attributes:
        model_class: class of the top-level object (``"Sequential"``, ``"Functional"``...).
        model_module: its serialized ``module`` (Keras 3 / tf.keras 2.13+), else None.
        dialect: which Keras wrote the config.
        layers: every layer and nested model (not the top-level model), in config order.
        custom_objects: every object Keras does not ship, deduplicated.
        lambdas: every Lambda layer (and Keras-1 ``Merge`` with a lambda ``mode``).
        security: objects whose loading runs code or reads files.
        inputs: the top-level model's inputs; shapes include the batch dimension.
        dtype_policy: ``"mixed_float16"``/``"mixed_bfloat16"`` when any layer uses one,
            else the model's or first layer's policy/dtype name, else None.
        optimizer: the compiled optimizer's class or string name, if any.
        losses: loss names (strings, class names or function names), in order.
        metrics: metric names, in order.
        has_compile_config: a ``compile_config`` or ``training_config`` was present.
        notes: further facts in plain words.
    """

    model_class: Optional[str]
    model_module: Optional[str]
    dialect: ConfigDialect
    layers: tuple[LayerInfo, ...] = ()
    custom_objects: tuple[CustomObject, ...] = ()
    lambdas: tuple[LambdaInfo, ...] = ()
    security: tuple[SecurityObject, ...] = ()
    inputs: tuple[InputSpec, ...] = ()
    dtype_policy: Optional[str] = None
    optimizer: Optional[str] = None
    losses: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    has_compile_config: bool = False
    notes: tuple[str, ...] = ()

    @property
    def top_level_layers(self) -> int:
        """Number of top-level layers, ``InputLayer`` excluded."""
        return sum(1 for x in self.layers if "/" not in x.path and x.class_name != "InputLayer")


def load_json_bounded(data: bytes, what: str, path: str) -> object:
    """Parse JSON bytes after checking size, encoding, nesting depth and container count.

    Args:
        data: the raw bytes (a ``.keras`` member, an HDF5 attribute, a file).
        what: what the bytes are, for messages (e.g. ``"config.json"``).
        path: the model path, for :class:`ModelFileError`.

    Returns:
        The parsed JSON value (dict, list, str, int, float, bool or None).

    Raises:
        ModelFileError: larger than ``limits.MAX_JSON_BYTES`` bytes, not UTF-8, nested
            deeper than ``limits.MAX_JSON_DEPTH``, more than ``MAX_JSON_CONTAINERS``
            objects/arrays or ``limits.MAX_JSON_VALUES`` values, or not valid JSON.
    """
    if len(data) > limits.MAX_JSON_BYTES:
        raise ModelFileError(
            path, f"{what} is {len(data)} bytes, over the {limits.MAX_JSON_BYTES}-byte limit"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        reason = f"{exc.reason} at byte {exc.start}"
        raise ModelFileError(path, f"{what} is not UTF-8 text ({reason})") from None
    structure = _structure(data, 2 * MAX_JSON_CONTAINERS + limits.MAX_JSON_VALUES)
    if structure is None:
        raise ModelFileError(
            path,
            f"{what} has more than {MAX_JSON_CONTAINERS} JSON containers or "
            f"{limits.MAX_JSON_VALUES} JSON values",
        )
    brackets = structure.replace(b",", b"")
    if len(brackets) > 2 * MAX_JSON_CONTAINERS:
        raise ModelFileError(path, f"{what} has more than {MAX_JSON_CONTAINERS} JSON containers")
    # Each container holds (commas + 1) items when it is not empty: a close upper bound.
    if len(structure) - len(brackets) + len(brackets) // 2 + 1 > limits.MAX_JSON_VALUES:
        raise ModelFileError(path, f"{what} has more than {limits.MAX_JSON_VALUES} JSON values")
    for _ in range(limits.MAX_JSON_DEPTH + 1):
        if not brackets or _DEEP_RUN.search(brackets):
            break
        shorter = brackets.replace(b"[]", b"").replace(b"{}", b"")
        if shorter == brackets:
            brackets = b""  # unbalanced: json.loads gives the precise error
            break
        brackets = shorter
    if brackets:
        raise ModelFileError(path, f"{what} is nested deeper than {limits.MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text.lstrip("\ufeff"))
    except (ValueError, RecursionError) as exc:
        raise ModelFileError(path, f"{what} is not valid JSON: {exc}") from None


def _structure(data: bytes, limit: int) -> Optional[bytes]:
    """Return the ``[]{}`` and ``,`` of a JSON text that are outside strings, in order.

    Works on chunks of :data:`_SCAN_CHUNK` bytes with C-speed ``replace``/``translate``, so
    memory stays near one chunk plus the result, whatever the document holds (a regex
    ``sub`` over millions of strings builds a list of millions of pieces: 900 MB for a
    57 MB config).  Per chunk: escaped backslashes, then escaped quotes, are dropped (a
    chunk never ends inside an escape); everything but ``"[]{},`` is dropped; adjacent
    quotes are dropped (an empty string, or the end of one string and the start of the
    next: either way the brackets around them keep their side); the strings left, which
    hold brackets, are removed.  Whether a chunk starts inside a string is carried over.

    Args:
        data: the JSON text (UTF-8 bytes; only ASCII bytes matter here).
        limit: the most bracket and comma characters accepted.

    Returns:
        The structural brackets and commas, or None once there are more than ``limit``.
    """
    out = bytearray()
    inside = False
    start = 0
    while start < len(data):
        end = min(start + _SCAN_CHUNK, len(data))
        while end < len(data) and data[end - 1] == 0x5C:  # never split a backslash escape
            end += 1
        chunk = data[start:end].replace(b"\\\\", b"").replace(b'\\"', b"")
        reduced = chunk.translate(None, _NOT_STRUCTURE)
        if inside:
            reduced = b'"' + reduced
        inside = reduced.count(b'"') % 2 == 1
        if inside:
            reduced += b'"'
        out += _PLAIN_STRING_RE.sub(b"", reduced.replace(b'""', b""))
        if len(out) > limit:
            return None
        start = end
    return bytes(out)


def walk_config(
    root: object,
    *,
    where: str = "",
    keras_version: Optional[str] = None,
    training_config: object = None,
) -> ConfigSummary:
    """Walk a parsed model config and summarise it.

    Args:
        root: the parsed config: ``{"class_name", "config"[, "module", "registered_name",
            "build_config", "compile_config"]}`` of any Keras dialect.
        where: the model path, used in :class:`ModelFileError` messages.
        keras_version: the saver's Keras version if known (tie-breaker for the dialect).
        training_config: a legacy HDF5 ``training_config`` (parsed), walked for custom
            losses/metrics/optimizers and compile names.

    Returns:
        A :class:`ConfigSummary`.

    Raises:
        ModelFileError: ``root`` is not a serialized Keras object, more than
            ``limits.MAX_LAYERS`` serialized objects, or nesting deeper than
            ``limits.MAX_JSON_DEPTH``.
    """
    if not is_serialized_object(root):
        raise ModelFileError(where, "model config is not a serialized Keras object")
    assert isinstance(root, dict)
    walker = _Walker(where)
    walker.run([(root, "model", "", "", 0, _ROOT)])
    compile_cfg = root.get("compile_config")
    if isinstance(training_config, dict):
        walker.run([(training_config, "training_config", "", "", 1, _VALUE)])
        compile_cfg = training_config
    walker.has_compile = walker.has_compile or isinstance(compile_cfg, dict)
    optimizer, losses, metrics = _compile_names(compile_cfg)
    cls, _reg = _split_registered(root)
    module = root.get("module")
    return ConfigSummary(
        model_class=cls,
        model_module=module if isinstance(module, str) else None,
        dialect=walker.dialect(keras_version),
        layers=tuple(walker.layers),
        custom_objects=tuple(walker.customs.values()),
        lambdas=tuple(walker.lambdas),
        security=tuple(walker.security.values()),
        inputs=_inputs(root, walker.notes),
        dtype_policy=walker.dtype_policy(root),
        optimizer=optimizer,
        losses=losses,
        metrics=metrics,
        has_compile_config=walker.has_compile,
        notes=tuple(dict.fromkeys(walker.notes)),
    )


def dialect_label(dialect: ConfigDialect) -> str:
    """Return a short human name for a dialect, e.g. ``"Keras 3"``."""
    return {
        ConfigDialect.KERAS1: "Keras 1",
        ConfigDialect.KERAS2: "Keras 2",
        ConfigDialect.TF_KERAS_2_13: "tf.keras 2.13+",
        ConfigDialect.KERAS3: "Keras 3",
    }.get(dialect, "unknown-dialect")


def describe(summary: ConfigSummary) -> str:
    """Return e.g. ``"Sequential with 8 layers (Keras 3 config)"``."""
    n = summary.top_level_layers
    noun = "layer" if n == 1 else "layers"
    return f"{summary.model_class} with {n} {noun} ({dialect_label(summary.dialect)} config)"


def needs_extras(summary: ConfigSummary) -> str:
    """Return what loading needs beyond Keras itself, e.g. ``"; the code of: pkg>Scale"``."""
    parts: list[str] = []
    names = [c.registered_name or c.class_name for c in summary.custom_objects]
    if names:
        shown = ", ".join(dict.fromkeys(names[:5]))
        more = f" (+{len(names) - 5} more)" if len(names) > 5 else ""
        parts.append(f"the code of custom objects {shown}{more}")
    if any(x.has_bytecode for x in summary.lambdas):
        parts.append("the saving Python minor version and safe_mode=False for Lambda bytecode")
    return "".join(f"; {p}" for p in parts)


def with_config(info: ModelInfo, summary: ConfigSummary) -> ModelInfo:
    """Return ``info`` with every config-derived field taken from ``summary``."""
    return dataclasses.replace(
        info,
        dialect=summary.dialect,
        model_class=summary.model_class,
        model_module=summary.model_module,
        layers=summary.layers,
        custom_objects=summary.custom_objects,
        lambdas=summary.lambdas,
        security=summary.security,
        inputs=summary.inputs,
        dtype_policy=summary.dtype_policy,
        has_training_config=summary.has_compile_config,
        notes=tuple(dict.fromkeys(info.notes + summary.notes)),
    )


def is_serialized_object(node: object) -> bool:
    """Return True for a serialized Keras object.

    That is a dict with a str ``class_name`` and a ``config`` (Keras 1/2) or ``module``
    (Keras 3) key.
    """
    return (
        isinstance(node, dict)
        and isinstance(node.get("class_name"), str)
        and ("config" in node or "module" in node)
    )


def _split_registered(node: dict[str, object]) -> tuple[str, Optional[str]]:
    """Return ``(class_name, registered_name)``; Keras 2's ``"pkg>Name"`` class is split."""
    cls = str(node.get("class_name"))
    reg = node.get("registered_name")
    registered = reg if isinstance(reg, str) else None
    if ">" in cls and registered is None:
        return cls.rsplit(">", 1)[1], cls
    return cls, registered


def _module_root(module: str) -> str:
    return module.split(".", 1)[0]


def _is_custom(cls: str, module: Optional[str], registered: Optional[str], fn_name: str) -> bool:
    """Decide whether a serialized object is not shipped by Keras."""
    if module is not None and _module_root(module) not in _KERAS_ROOTS:
        return True
    if registered is not None and ">" in registered:
        package, _, name = registered.partition(">")
        return not (package in {"keras", "Keras", "Custom"} and name in BUILTIN_CLASSES)
    if cls == "function":
        known = fn_name in ACTIVATIONS or fn_name in LOSSES or fn_name in METRICS
        return not known and (module is None or _module_root(module) == "builtins")
    if module is not None:
        return False
    return cls not in BUILTIN_CLASSES and cls not in SPECIAL_CLASSES


def _hint(key: str) -> str:
    """Return the kind of object usually found under a config key ("" when none)."""
    if key in ("activation", "recurrent_activation", "inner_activation"):
        return "activation"
    if key in ("loss", "losses"):
        return "loss"
    if key in ("metrics", "weighted_metrics"):
        return "metric"
    if key in ("optimizer", "optimizer_config", "inner_optimizer"):
        return "optimizer"
    if key.endswith("initializer") or key in ("init", "inner_init", "forget_bias_init"):
        return "initializer"
    if key.endswith("regularizer"):
        return "regularizer"
    if key.endswith("constraint"):
        return "constraint"
    return ""


def _policy_name(value: object) -> Optional[str]:
    """Return the dtype/policy name of a layer ``dtype`` (str or policy dict)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        cfg = value.get("config")
        name = cfg.get("name") if isinstance(cfg, dict) else None
        return name if isinstance(name, str) else None
    return None


def _version(text: Optional[str]) -> tuple[Optional[int], Optional[int]]:
    match = re.match(r"\s*(\d{1,9})(?:\.(\d{1,9}))?(?!\d)", text or "")
    if not match:
        return None, None
    return int(match.group(1)), int(match.group(2)) if match.group(2) else None


class _Walker:
    """Iterative walk state over one config tree."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.objects = 0
        self.layers: list[LayerInfo] = []
        self.customs: dict[tuple[str, str, str], CustomObject] = {}
        self.lambdas: list[LambdaInfo] = []
        self.security: dict[tuple[str, str], SecurityObject] = {}
        self.policies: list[tuple[str, str]] = []  # (class_name, policy name), config order
        self.notes: list[str] = []
        self.has_compile = False
        self.module_keys = self.engine = self.tf_keras = self.keras_module = False
        self.batch_shape = self.batch_input_shape = self.policy_dict = False
        self.keras1 = self.list_sequential = False

    def run(self, stack: list[_Frame]) -> None:
        while stack:
            frame = stack.pop()
            node, cpath, lpath, hint, depth, role = frame
            if depth > limits.MAX_JSON_DEPTH:
                raise ModelFileError(
                    self.where, f"model config is nested deeper than {limits.MAX_JSON_DEPTH} levels"
                )
            if isinstance(node, dict):
                if is_serialized_object(node):
                    self._object(frame, stack)
                else:
                    _push_items(stack, node, frame, hint)
            elif isinstance(node, list):
                child = _LAYER if role == _LAYERS else _VALUE
                stack.extend((v, cpath, lpath, hint, depth + 1, child) for v in reversed(node))
            elif isinstance(node, str) and hint:
                self._string(node, cpath, hint)

    def _custom(self, kind: str, ident: _Ident, at: str) -> None:
        cls, module, reg = ident
        self.customs.setdefault((kind, reg or cls, at), CustomObject(kind, cls, module, reg, at))

    def _secure(self, kind: str, where: str, detail: str) -> None:
        self.security.setdefault((kind, detail), SecurityObject(kind, where, detail))

    def _string(self, text: str, cpath: str, hint: str) -> None:
        known = _KNOWN_STRINGS.get(hint)
        if known is not None and text not in known and text.lower() not in known:
            self._custom(hint, (text, None, None), cpath)

    def _object(self, frame: _Frame, stack: list[_Frame]) -> None:
        node, cpath, _lpath, hint, _depth, role = frame
        assert isinstance(node, dict)
        self.objects += 1
        if self.objects > limits.MAX_LAYERS:
            raise ModelFileError(
                self.where, f"model config has more than {limits.MAX_LAYERS} serialized objects"
            )
        cls, reg = _split_registered(node)
        raw_module = node.get("module")
        module = raw_module if isinstance(raw_module, str) else None
        config = node.get("config")
        if role in (_ROOT, _LAYER):
            self._layer(frame, (cls, module, reg), stack)
            return
        self._module_signals(node, module, cpath)
        if cls in OPAQUE_SPECIALS:
            return
        if cls == "__lambda__":
            self._secure("lambda", cpath, "a serialized Python lambda (marshalled bytecode) runs")
            return
        fn_name = config if isinstance(config, str) else ""
        if _is_custom(cls, module, reg, fn_name):
            if cls == "function":
                kind = hint if hint in ("activation", "loss", "metric") else "function"
                self._custom(kind, (fn_name, module, reg), cpath)
            else:
                self._custom(hint or "object", (cls, module, reg), cpath)
        if cls in DTYPE_POLICY_CLASSES:
            self.policy_dict = True
        if isinstance(config, (dict, list)):
            inherit = hint if cls in SPECIAL_CLASSES else ""
            _push_items(stack, config, frame, inherit)

    def _module_signals(self, node: dict[str, object], module: Optional[str], cpath: str) -> None:
        if "module" not in node:
            return
        self.module_keys = True
        if module is None:
            return
        root = _module_root(module)
        if module.startswith(("keras.src.engine", "keras.engine")):
            self.engine = True
        elif root == "tf_keras":
            self.tf_keras = True
        elif root == "keras":
            self.keras_module = True
        if root not in _KERAS_ROOTS and not module.startswith("<"):
            self._secure("non_keras_module", cpath, f"imports module {module!r}, running its code")

    def _layer(self, frame: _Frame, ident: _Ident, stack: list[_Frame]) -> None:
        node, _cpath, lpath, _, depth, role = frame
        assert isinstance(node, dict)
        cls = ident[0]
        config = node.get("config")
        cfg = config if isinstance(config, dict) else {}
        raw_name = node.get("name", cfg.get("name"))
        name = raw_name if isinstance(raw_name, str) else ""
        path = (f"{lpath}/{name}" if lpath else name) if role == _LAYER else ""
        cpath = f"layers/{path}" if role == _LAYER else "model"
        self._module_signals(node, ident[1], cpath)
        custom = _is_custom(*ident, "")
        if custom:
            is_model = cls in MODEL_CLASSES or isinstance(config, list) or "layers" in cfg
            self._custom("model" if is_model else "layer", ident, cpath)
        if role == _LAYER:
            self.layers.append(LayerInfo(name, cls, ident[1], ident[2], path, not custom))
        self._layer_signals(cls, name, cfg, cpath)
        if isinstance(config, list):
            self.list_sequential = True
            stack.extend((v, cpath, path, "", depth + 1, _LAYER) for v in reversed(config))
        for key in reversed(list(cfg)):
            value, sub = cfg[key], f"{cpath}/{key}"
            if key in ("layers", "cells") and isinstance(value, list):
                stack.append((value, sub, path, "", depth + 1, _LAYERS))
            elif key in _LAYER_KEYS and is_serialized_object(value):
                stack.append((value, sub, path, "", depth + 1, _LAYER))
            elif key not in _SKIP_LAYER_KEYS:
                stack.append((value, sub, path, _hint(key), depth + 1, _VALUE))
        for key in ("inbound_nodes", "compile_config"):
            if key in node:
                self.has_compile = self.has_compile or key == "compile_config"
                at = key if key == "compile_config" else f"{cpath}/{key}"
                stack.append((node[key], at, path, "", depth + 1, _VALUE))

    def _layer_signals(self, cls: str, name: str, cfg: dict[str, object], cpath: str) -> None:
        self.batch_shape = self.batch_shape or "batch_shape" in cfg
        self.batch_input_shape = self.batch_input_shape or "batch_input_shape" in cfg
        keys = KERAS1_KEYS if cls != "Embedding" else KERAS1_KEYS - {"output_dim"}
        if cls in KERAS1_CLASSES or not keys.isdisjoint(cfg):
            self.keras1 = True
        dtype = cfg.get("dtype")
        policy = _policy_name(dtype)
        if policy is not None:
            self.policies.append((cls, policy))
        if isinstance(dtype, dict) and dtype.get("class_name") in DTYPE_POLICY_CLASSES:
            self.policy_dict = True
        if cls == "Lambda":
            self._lambda(name, cfg, cpath, ("function", "function_type"))
        elif cls == "Merge" and cfg.get("mode_type") == "lambda":
            self._lambda(name, cfg, cpath, ("mode", "mode_type"))
        elif cls == "TFSMLayer":
            target = cfg.get("filepath")
            self._secure("tfsm_layer", cpath, f"TFSMLayer loads the external SavedModel {target!r}")
        elif cls == "TorchModuleWrapper":
            self._secure("torch_module_wrapper", cpath, "torch.load (pickle) of the wrapped module")
        elif cls in ("StringLookup", "IntegerLookup", "TextVectorization"):
            vocab = cfg.get("vocabulary")
            if isinstance(vocab, str):
                self._secure("lookup_vocabulary_file", cpath, f"{cls} reads the file {vocab!r}")

    def _lambda(self, name: str, cfg: dict[str, object], cpath: str, keys: tuple[str, str]) -> None:
        fn, raw_type = cfg.get(keys[0]), cfg.get(keys[1])
        ftype = raw_type if isinstance(raw_type, str) else "unknown"
        fn_name: Optional[str] = None
        bytecode = False
        if isinstance(fn, dict):
            kind, fcfg, mod = fn.get("class_name"), fn.get("config"), fn.get("module")
            bytecode = kind == "__lambda__"
            ftype = "lambda" if bytecode else ("function" if kind == "function" else "unknown")
            if kind == "function" and isinstance(fcfg, str):
                fn_name = f"{mod}.{fcfg}" if isinstance(mod, str) else fcfg
        elif isinstance(fn, list):  # Keras 1/2 func_dump: [code, defaults, closure]
            bytecode, ftype = True, "lambda"
        elif isinstance(fn, str):
            bytecode = ftype == "lambda"
            mod = cfg.get("module")
            if not bytecode:
                fn_name = f"{mod}.{fn}" if isinstance(mod, str) and ftype == "function" else fn
        shape = cfg.get("output_shape")
        if cfg.get("output_shape_type") == "lambda" or (
            isinstance(shape, dict) and shape.get("class_name") == "__lambda__"
        ):
            bytecode = True
        self.lambdas.append(LambdaInfo(name, bytecode, ftype, fn_name))
        if bytecode:
            detail = f"Lambda layer {name!r} holds marshalled Python bytecode that runs on load"
        else:
            detail = f"Lambda layer {name!r} calls {fn_name or 'a function'}, looked up on load"
        self._secure("lambda", cpath, detail)

    def dialect(self, keras_version: Optional[str]) -> ConfigDialect:
        major, minor = _version(keras_version)
        if self.engine or self.tf_keras or (self.module_keys and self.batch_input_shape):
            if major == 2 and minor is not None and minor < 13 and not self.tf_keras:
                return ConfigDialect.KERAS2
            return ConfigDialect.TF_KERAS_2_13
        if self.batch_shape or self.policy_dict:
            return ConfigDialect.KERAS3
        if self.keras_module:  # public keras.* modules alone: Keras 3 unless the saver says 2.x
            if major == 2:
                old = minor is not None and minor < 13
                return ConfigDialect.KERAS2 if old else ConfigDialect.TF_KERAS_2_13
            return ConfigDialect.KERAS3
        if self.keras1 or major == 1:
            return ConfigDialect.KERAS1
        if self.layers or self.list_sequential or self.batch_input_shape:
            return ConfigDialect.KERAS2
        by_version = {2: ConfigDialect.KERAS2, 3: ConfigDialect.KERAS3}
        return by_version.get(major or 0, ConfigDialect.UNKNOWN)

    def dtype_policy(self, root: dict[str, object]) -> Optional[str]:
        for _cls, name in self.policies:
            if name.startswith("mixed_"):
                return name
        own = _policy_name(_cfg(root).get("dtype"))
        if own is not None:
            return own
        return next((n for c, n in self.policies if c != "InputLayer"), None)


def _push_items(stack: list[_Frame], node: object, frame: _Frame, inherit: str) -> None:
    """Push a plain dict's values / list's items, hinting each by its key (else ``inherit``)."""
    _, cpath, lpath, _, depth, _ = frame
    if isinstance(node, dict):
        for key in reversed(list(node)):
            hint = _hint(str(key)) or inherit
            stack.append((node[key], f"{cpath}/{key}", lpath, hint, depth + 1, _VALUE))
    elif isinstance(node, list):
        stack.extend((v, cpath, lpath, inherit, depth + 1, _VALUE) for v in reversed(node))


def _shape(value: object) -> Optional[Shape]:
    """Return a shape tuple from a JSON list of int/None (floats like 784.0 allowed)."""
    if not isinstance(value, list) or len(value) > 64:
        return None
    dims: list[Optional[int]] = []
    for dim in value:
        if dim is None:
            dims.append(None)
        elif isinstance(dim, int) and not isinstance(dim, bool):
            dims.append(dim)
        elif isinstance(dim, float) and dim.is_integer():
            dims.append(int(dim))
        else:
            return None
    return tuple(dims)


def _layer_list(node: dict[str, object]) -> list[object]:
    config = node.get("config")
    if isinstance(config, list):
        return config
    layers = config.get("layers") if isinstance(config, dict) else None
    return layers if isinstance(layers, list) else []


def _cfg(node: object) -> dict[str, object]:
    config = node.get("config") if isinstance(node, dict) else None
    return config if isinstance(config, dict) else {}


def _input_names(refs: object) -> list[str]:
    """Return input layer names from ``input_layers`` (Keras 1/2/3 layouts)."""
    if isinstance(refs, list) and refs and isinstance(refs[0], str):
        return [refs[0]]
    items = list(refs.values()) if isinstance(refs, dict) else refs
    if not isinstance(items, list):
        return []
    names: list[str] = []
    for item in items[:_MAX_NAMES]:
        names.extend(_input_names(item) if isinstance(item, (list, dict)) else [])
    return names


def _spec_from_layer(layer: object) -> Optional[InputSpec]:
    """Return the input a (first) layer declares, or None."""
    cfg = _cfg(layer)
    raw_name = cfg.get("name")
    name = raw_name if isinstance(raw_name, str) else ""
    dtype = _policy_name(cfg.get("dtype")) or _policy_name(cfg.get("input_dtype"))
    shape = _shape(cfg.get("batch_shape")) or _shape(cfg.get("batch_input_shape"))
    if shape is None and isinstance(cfg.get("input_shape"), list):
        inner = _shape(cfg.get("input_shape"))
        shape = None if inner is None else (None, *inner)
    if shape is None and cfg.get("input_dim") is not None:
        dims = _shape([cfg.get("input_length"), cfg.get("input_dim")])
        if dims is not None:
            shape = (None, *dims) if "input_length" in cfg else (None, dims[1])
    if shape is None:
        return None
    if isinstance(layer, dict) and layer.get("class_name") != "InputLayer":
        name = f"{name}_input" if name else ""
    return InputSpec(name, shape, dtype)


def _inputs(root: dict[str, object], notes: list[str]) -> tuple[InputSpec, ...]:
    """Return the top-level model's inputs (Functional, Sequential or build_config)."""
    node: object = root
    for _ in range(limits.MAX_JSON_DEPTH):
        if not isinstance(node, dict):
            break
        layers = _layer_list(node)
        refs = _cfg(node).get("input_layers")
        if layers and refs is not None:
            by_name = {}
            for layer in layers:
                if isinstance(layer, dict):
                    nm = layer.get("name", _cfg(layer).get("name"))
                    by_name[nm if isinstance(nm, str) else ""] = layer
            specs = []
            for name in _input_names(refs):
                spec = _spec_from_layer(by_name.get(name))
                if spec is None:
                    notes.append(f"input {name!r}: shape not found in the config")
                    spec = InputSpec(name, (), None)
                specs.append(InputSpec(name, spec.shape, spec.dtype))
            return tuple(specs)
        if not layers:
            break
        spec = _spec_from_layer(layers[0])
        if spec is not None:
            return (spec,)
        first = layers[0]
        if not isinstance(first, dict) or not _layer_list(first):
            break
        node = first  # a nested model first: its own first layer declares the input
    build = root.get("build_config")
    shape = _shape(build.get("input_shape")) if isinstance(build, dict) else None
    return (InputSpec("", shape, None),) if shape is not None else ()


def _flat_names(value: object) -> tuple[str, ...]:
    """Return names in a loss/metrics entry: strings, class names, function names."""
    names: list[str] = []
    stack = [value]
    while stack and len(names) < _MAX_NAMES:
        item = stack.pop(0)
        if isinstance(item, str):
            names.append(item)
        elif is_serialized_object(item):
            assert isinstance(item, dict)
            cfg = item.get("config")
            cls, reg = _split_registered(item)
            names.append(cfg if cls == "function" and isinstance(cfg, str) else reg or cls)
        elif isinstance(item, dict):
            stack.extend(list(item.values())[:_MAX_NAMES])
        elif isinstance(item, list):
            stack.extend(item[:_MAX_NAMES])
    return tuple(names)


def _compile_names(cfg: object) -> tuple[Optional[str], tuple[str, ...], tuple[str, ...]]:
    """Return ``(optimizer, losses, metrics)`` from a compile/training config."""
    if not isinstance(cfg, dict):
        return None, (), ()
    opt = cfg.get("optimizer", cfg.get("optimizer_config"))
    optimizer: Union[str, None] = None
    if isinstance(opt, str):
        optimizer = opt
    elif is_serialized_object(opt):
        assert isinstance(opt, dict)
        optimizer = str(opt.get("class_name"))
    metrics = _flat_names(cfg.get("metrics")) + _flat_names(cfg.get("weighted_metrics"))
    return optimizer, _flat_names(cfg.get("loss")), metrics
