"""Builders shared by the check tests: hand-made Environment and ModelInfo objects.

(No tests here; pytest collects the module harmlessly.)
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

from envdoctor.checks import run_checks
from envdoctor.types import (
    ConfigDialect,
    CustomObject,
    Environment,
    Finding,
    InputSpec,
    LambdaInfo,
    LayerInfo,
    MetaGraphInfo,
    ModelFormat,
    ModelInfo,
    Package,
    SavedModelInfo,
    SignatureInfo,
    TensorSpec,
)


def make_env(
    python_version: str = "3.11.7",
    *,
    manager: str = "pip",
    kind: str = "venv",
    env_vars: Optional[dict[str, str]] = None,
    backend: str = "tensorflow",
    backend_source: str = "default",
    requires: Optional[dict[str, tuple[str, ...]]] = None,
    requires_python: Optional[dict[str, str]] = None,
    **versions: str,
) -> Environment:
    """An environment with the given distributions (``tensorflow="2.15.1", tf_keras="2.16.0"``)."""
    packages = {}
    for raw, version in versions.items():
        name = raw.replace("_", "-")
        packages[name] = Package(
            name=name,
            version=version,
            requires=(requires or {}).get(name, ()),
            requires_python=(requires_python or {}).get(name),
        )
    return Environment(
        python="/envs/t/bin/python",
        prefix="/envs/t",
        kind=kind,
        manager=manager,
        python_version=python_version,
        packages=packages,
        keras_backend=backend,
        keras_backend_source=backend_source,
        env_vars=dict(env_vars or {}),
    )


def layer(cls: str, module: Optional[str] = "keras.layers", name: str = "") -> LayerInfo:
    return LayerInfo(name or cls.lower(), cls, module, None, name or cls.lower(), True)


def make_model(
    fmt: ModelFormat = ModelFormat.KERAS_ARCHIVE,
    keras_version: Optional[str] = "3.3.3",
    *,
    path: str = "/models/m.keras",
    dialect: Optional[ConfigDialect] = None,
    **fields: Any,
) -> ModelInfo:
    """A loadable model of ``fmt`` saved by ``keras_version`` (dialect inferred from it)."""
    if dialect is None:
        major = (keras_version or "0").split(".")[0]
        dialect = {
            "3": ConfigDialect.KERAS3,
            "2": ConfigDialect.TF_KERAS_2_13,
            "1": ConfigDialect.KERAS1,
        }.get(major, ConfigDialect.UNKNOWN)
    base = ModelInfo(
        path=path,
        format=fmt,
        loadable=True,
        summary="test model",
        keras_version=keras_version,
        dialect=dialect,
        model_class="Functional",
        layers=(layer("InputLayer"), layer("Dense")),
        inputs=(InputSpec("x", (None, 8), "float32"),),
    )
    return dataclasses.replace(base, **fields)


def lambda_layer(bytecode: bool = True) -> LambdaInfo:
    return LambdaInfo("lambda", bytecode, "lambda" if bytecode else "function")


def custom(
    module: Optional[str] = "mypkg.layers", where: str = "layers/scale", kind: str = "layer"
) -> CustomObject:
    return CustomObject(kind, "Scale", module, "mypkg>Scale", where)


def savedmodel_info(
    tf_version: str = "2.15.1",
    *,
    ops: tuple[str, ...] = ("MatMul",),
    producer: Optional[int] = 1645,
    keras_metadata: bool = True,
    signatures: tuple[str, ...] = ("serving_default",),
) -> SavedModelInfo:
    sigs = tuple(
        SignatureInfo(k, "tensorflow/serving/predict", (TensorSpec("x", "float32", (None, 8)),), ())
        for k in signatures
    )
    mg = MetaGraphInfo(("serve",), tf_version, "", ops, producer, sigs)
    return SavedModelInfo(1, (mg,), keras_metadata, True, True, 10, 10)


def codes(findings: list[Finding], severity: Optional[str] = None) -> list[str]:
    return [f.code for f in findings if severity is None or f.severity.value == severity]


def errors(model: Optional[ModelInfo], env: Environment) -> list[str]:
    """The error codes run_checks finds for the pair."""
    return codes(run_checks(model, env), "error")


def find(findings: list[Finding], code: str) -> Finding:
    hits = [f for f in findings if f.code == code]
    assert hits, f"{code} not in {[f.code for f in findings]}"
    return hits[0]
