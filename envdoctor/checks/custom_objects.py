"""Custom objects the config needs (ED301-ED305).

Keras finds a custom class by its registered name (``@register_keras_serializable``); only
Keras 3 < 3.9 imports the module named in a ``.keras`` config itself (Keras >= 3.9 imports
only ``keras*`` packages; tf.keras 2.x / tf-keras fail unless the caller imports it; see
``knowledge/keras.json`` ``imports_custom_modules``).  Legacy ``.h5`` configs record no
module at all.  Real loads without the module fail in every Keras (``Could not locate
class``, ``Unknown layer``); Keras 2 SavedModels revive the layer from the saved functions
instead (``tests/live/ground_truth_tf215.json``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

from envdoctor import fixes, inventory
from envdoctor.checks.runtime import KerasRuntime, effective_keras, finding, runtime_evidence
from envdoctor.fixes import lit
from envdoctor.knowledge import tables
from envdoctor.knowledge.versions import key
from envdoctor.types import (
    CustomObject,
    Environment,
    Finding,
    Fix,
    ModelFormat,
    ModelInfo,
    Severity,
)

R_GLOBALENV = "<r-globalenv>"
"""The module keras3 (R) records for classes defined in R."""

COMPILE_PREFIXES = ("compile_config", "training_config")


def _importable(env: Environment, module: str) -> Optional[bool]:
    try:
        return inventory.module_importable(env, module)
    except Exception:
        return None


def keras_imports_module(model: ModelInfo, rt: KerasRuntime, module: str) -> bool:
    """True when ``load_model`` itself imports ``module`` named in the config.

    Only Keras 3 < 3.9 does, for ``.keras`` files (observed: Keras 3.3.3 loads the fixture
    with the module merely on PYTHONPATH; tf.keras 2.13/2.15, tf-keras 2.21 and Keras 3.15.1
    fail).  Source: keras.json ``imports_custom_modules``.
    """
    if model.format is not ModelFormat.KERAS_ARCHIVE or rt.generation != 3 or not rt.version:
        return False
    fact = tables.keras_fact("imports_custom_modules")
    if key(rt.version) < key(fact["value"]):
        return True
    return module.split(".", maxsplit=1)[0] in fact["keras3_packages_after"]


def _name(obj: CustomObject) -> str:
    return obj.registered_name or obj.class_name


def _fixes(model: ModelInfo, obj: CustomObject, compile_only: bool) -> list[Fix]:
    out: list[Fix] = []
    short = obj.class_name.split(">")[-1]
    if not fixes.is_dotted_identifier(short):
        # A class name that is not an identifier would paste as code: say it in words.
        return [
            fixes.note(
                f"define and register the custom object named {lit(short)} before load_model;"
                " its name is not a Python identifier, so no code line is suggested"
            )
        ]
    keys = dict.fromkeys([_name(obj), short])
    if compile_only:
        out.append(
            fixes.python_fix(
                f'model = keras.saving.load_model({lit(model.path)}, compile=False)',
                "the object is only needed to compile (loss/metric)",
            )
        )
        out.append(fixes.r_fix(f'model <- keras3::load_model({lit(model.path)}, compile = FALSE)'))
    if obj.module and obj.module != R_GLOBALENV and fixes.is_dotted_identifier(obj.module):
        out.append(
            fixes.python_fix(
                f"import {obj.module}",
                f"before load_model: registers {_name(obj)} (module on PYTHONPATH)",
            )
        )
    py_map = ", ".join(f'{lit(k)}: {short}' for k in keys)
    out.append(
        fixes.python_fix(
            f'model = keras.saving.load_model({lit(model.path)}, custom_objects={{{py_map}}})',
            f"with {short} defined or imported first",
        )
    )
    r_map = ", ".join(f'{lit(k)} = {short}' for k in keys)
    out.append(
        fixes.r_fix(
            f'model <- keras3::load_model({lit(model.path)}, custom_objects = list({r_map}))',
            f"with {short} defined in R first",
        )
    )
    return out


def check_custom_objects(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED301-ED305 for every custom object of the model.

    Yields:
        ED301, ED305 finding(s) for this pair, if any.
    """
    if model is None or not model.custom_objects:
        return
    rt = effective_keras(env)
    if rt.generation is None:
        return
    for obj in model.custom_objects:
        yield from _one(model, env, rt, obj)


def _one(
    model: ModelInfo, env: Environment, rt: KerasRuntime, obj: CustomObject
) -> Iterator[Finding]:
    name = _name(obj)
    compile_only = obj.where.startswith(COMPILE_PREFIXES)
    ev = (
        ("object", f"{obj.kind} {name}"),
        ("where", obj.where),
        ("module", obj.module or "not recorded"),
    )
    if model.format is ModelFormat.SAVEDMODEL:
        if rt.generation == 2 and not compile_only:
            fact = tables.keras_fact("keras2_savedmodel_revives_custom_objects")
            yield finding(
                "ED305",
                Severity.WARNING,
                f"{obj.kind} {name} is not registered here; {rt.label()} revives it from the "
                f"SavedModel ({fact['text']}), but not as your Python class (no get_config, "
                "no retraining of its logic).",
                evidence=ev + runtime_evidence(rt),
                fixes=_fixes(model, obj, False),
                source=fact["source"],
            )
        return
    if obj.module == R_GLOBALENV:
        yield finding(
            "ED303",
            Severity.ERROR,
            f"{obj.kind} {name} was defined in R (module {R_GLOBALENV}); Python cannot import it, "
            "so load_model fails ('Could not locate class') until the same R code defines and "
            "registers it in the loading R session.",
            evidence=ev,
            fixes=(
                fixes.r_fix(
                    f"{obj.class_name.split('>')[-1]} <- ...  # the same definition as when saving",
                    "define the class/function in R",
                ),
                fixes.r_fix(
                    f"register_keras_serializable({obj.class_name.split('>')[-1]}, "
                    f'name = "{obj.class_name.split(">")[-1]}")',
                    "register it before load_model()",
                ),
                fixes.r_fix(f'model <- keras3::load_model({lit(model.path)})'),
            ),
        )
        return
    code = "ED304" if compile_only else "ED301"
    importable = _importable(env, obj.module) if obj.module else False
    if importable is False:
        why = (
            f"its module {obj.module} is not importable in this environment"
            if obj.module
            else "the file does not record which module defines it"
        )
        yield finding(
            code,
            Severity.ERROR,
            f"{obj.kind} {name} is not a Keras built-in and {why}: load_model fails "
            f"(\"Could not locate class '{obj.class_name}'\" / \"Unknown layer: '{name}'\")"
            + ("; compile=False skips it." if compile_only else "."),
            evidence=ev + runtime_evidence(rt),
            fixes=_fixes(model, obj, compile_only),
        )
        return
    if importable and obj.module and keras_imports_module(model, rt, obj.module):
        return
    state = "importable" if importable else "of unknown importability"
    yield finding(
        "ED302" if not compile_only else "ED304",
        Severity.ERROR if importable else Severity.WARNING,
        f"{obj.kind} {name} comes from module {obj.module} ({state} here); {rt.label()} does not "
        f"import it by itself, so a plain load_model fails: `import {obj.module}` must run "
        "before load_model.",
        evidence=ev + runtime_evidence(rt),
        fixes=_fixes(model, obj, compile_only),
        source=tables.keras_fact("imports_custom_modules")["source"],
    )
