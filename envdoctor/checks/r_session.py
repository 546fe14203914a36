"""R checks (ED901-ED909): reticulate, the R packages, R-defined objects, the bound Python.

They run only when the caller is R (:mod:`envdoctor.rlang.context`: ``--for-r`` or
``ENVDOCTOR_FOR_R=1``, set by ``scripts/envdoctor.R``); a Python user with R installed
sees none of them.  The facts come from ``knowledge/r.json``:

* ED901: reticulate < 1.34 cannot bind Python >= 3.12 (its probe imports ``imp``);
* ED902: reticulate < 1.38 does not convert NumPy >= 2 arrays;
* ED903: a Python without a shared libpython cannot be embedded;
* ED904/ED905: the R package keras (2.x) expects Keras 2, keras3 expects Keras 3;
* ED906: an installed R package needs a newer version of another (its DESCRIPTION);
* ED907: R code to define, register and load objects defined in R;
* ED908: R binds a Python that cannot load the model (:func:`binding_finding`);
* ED909: reticulate is already bound to another Python (:func:`already_initialized_finding`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Optional

from envdoctor import fixes
from envdoctor.checks.custom_objects import R_GLOBALENV
from envdoctor.checks.runtime import effective_keras, finding, tensorflow_version
from envdoctor.fixes import lit
from envdoctor.knowledge import tables
from envdoctor.rlang import context, facts, rcode
from envdoctor.rlang.r_packages import RInstall, r_version_satisfies
from envdoctor.rlang.reticulate import (
    Binding,
    numpy2_unconverted,
    probe_bug_applies,
    shared_libpython,
)
from envdoctor.types import Environment, Finding, Fix, ModelInfo, Severity

R_PACKAGES_CHECKED = ("reticulate", "keras", "keras3", "tensorflow")
"""R packages whose Depends/Imports between each other are checked (ED906)."""


def _reticulate(ctx: context.RContext) -> tuple[str, str]:
    """Return the reticulate version the checks assume, and how it is described."""
    if ctx.reticulate_version:
        return ctx.reticulate_version, f"reticulate {ctx.reticulate_version}"
    return "", "reticulate (version unknown; 1.28 assumed)"


def _r_evidence(ctx: context.RContext) -> tuple[tuple[str, str], ...]:
    items = [("reticulate", f"{ctx.reticulate_version or 'unknown'} ({ctx.reticulate_source})")]
    if ctx.install is not None and ctx.install.r_version:
        items.append(("R", f"{ctx.install.r_version} ({ctx.install.r_home})"))
    return tuple(items)


def check_r_binding(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED901, ED902, ED903: can reticulate bind this environment and convert its arrays.

    Yields:
        ED901, ED902, ED903 finding(s) for this environment, if any.
    """
    ctx = context.current()
    if not ctx.active:
        return
    version, label = _reticulate(ctx)
    ev = (*_r_evidence(ctx), ("python", f"{env.python_version} ({env.python})"))
    if env.python_version and probe_bug_applies(version, env.python_version):
        fact = facts.fact("reticulate_python312")
        yield finding(
            "ED901",
            Severity.ERROR,
            f"{label} cannot bind Python {env.python_version}: {fact['text']}. Fixed in "
            f"reticulate {fact['fixed_in']}.",
            evidence=ev,
            fixes=(
                fixes.note(
                    "use an environment with Python <= 3.11: envdoctor which --for-r "
                    "--model MODEL prints one, envdoctor_use(MODEL) in R sets it"
                ),
                fixes.r_fix(
                    'install.packages("reticulate")',
                    f"reticulate >= {fact['fixed_in']} (CRAN; Debian bookworm ships 1.28)",
                ),
            ),
            source=fact["source"],
        )
        return
    if shared_libpython(env) is False:
        fact = facts.fact("reticulate_shared_libpython")
        yield finding(
            "ED903",
            Severity.ERROR,
            f"{env.python} has no shared libpython{env.python_version[:4]}: {fact['text']}.",
            evidence=ev,
            fixes=(
                fixes.note(
                    "make the environment from a Python that has libpythonX.Y.so (uv python "
                    "install, the system Python), or rebuild: "
                    "PYTHON_CONFIGURE_OPTS=--enable-shared pyenv install --force "
                    f"{env.python_version}"
                ),
            ),
            source=fact["source"],
        )
    numpy = env.version_of("numpy") or ""
    if numpy and numpy2_unconverted(version, numpy):
        fact = facts.fact("reticulate_numpy2")
        found: list[Fix] = [
            fixes.r_fix(
                'np <- reticulate::import("numpy", convert = FALSE); '
                "x_py <- np$asarray(as.numeric(aperm(x, rev(seq_along(dim(x))))), "
                'dtype = "float32")$reshape(as.list(dim(x)))',
                "pass an R array x as a flat row-major vector, reshaped in Python",
            )
        ]
        rel = tables.tf_release(tensorflow_version(env)) if tensorflow_version(env) else None
        if rel is not None and rel.numpy2 and rel.numpy.startswith(">=") and "," not in rel.numpy:
            cmd = fixes.install_command(env, f"numpy{rel.numpy},<2")
            found.append(
                replace(
                    cmd,
                    description=f"{cmd.description}; TensorFlow {rel.minor} accepts it, check "
                    "the rest of the stack",
                )
            )
        found.append(fixes.r_fix('install.packages("reticulate")', "reticulate >= 1.38"))
        yield finding(
            "ED902",
            Severity.WARNING,
            f"NumPy {numpy} with {label}: {fact['text']}.",
            evidence=(*ev, ("numpy", numpy)),
            fixes=tuple(found),
            source=fact["source"],
        )


def check_r_packages(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED904, ED905, ED906: the R packages keras/keras3 vs this environment's Keras.

    Yields:
        ED904, ED905, ED906 finding(s), if any.
    """
    ctx = context.current()
    if not ctx.active or ctx.install is None or not ctx.install.r_home:
        return
    install = ctx.install
    yield from _requirement_findings(install)
    rt = effective_keras(env)
    has_keras, has_keras3 = "keras" in install.packages, "keras3" in install.packages
    if rt.generation is None or has_keras == has_keras3:
        return
    if has_keras and rt.generation == 3:
        fact = facts.fact("r_keras_package")
        tf = tensorflow_version(env)
        req = fixes.tf_keras_requirement(tf)
        found: list[Fix] = []
        if req:
            found.append(fixes.install_command(env, req))
            found.extend(fixes.env_fix("TF_USE_LEGACY_KERAS", "1"))
        found.append(fixes.r_fix('install.packages("keras3")', "the R package for Keras 3"))
        yield finding(
            "ED904",
            Severity.WARNING,
            f"The R package keras {install.version_of('keras')} drives Keras 2, but "
            f"{env.python} loads with {rt.label()}: {fact['text']}.",
            evidence=(
                ("R package", f"keras {install.version_of('keras')}"),
                ("keras", rt.label()),
            ),
            fixes=tuple(found),
            source=fact["source"],
        )
    elif has_keras3 and rt.generation == 2:
        fact = facts.fact("r_keras3_package")
        yield finding(
            "ED905",
            Severity.WARNING,
            f"The R package keras3 {install.version_of('keras3')} drives Keras 3, but "
            f"{env.python} loads with {rt.label()}: {fact['text']}.",
            evidence=(
                ("R package", f"keras3 {install.version_of('keras3')}"),
                ("keras", rt.label()),
            ),
            fixes=(
                fixes.r_fix("keras3::install_keras()", "a virtualenv r-keras with Keras 3"),
                *fixes.env_unset("TF_USE_LEGACY_KERAS"),
            ),
            source=fact["source"],
        )


def _requirement_findings(install: RInstall) -> Iterator[Finding]:
    for name in R_PACKAGES_CHECKED:
        pkg = install.packages.get(name)
        if pkg is None:
            continue
        for dep, spec in pkg.requires:
            if dep not in R_PACKAGES_CHECKED:
                continue
            have = install.version_of(dep)
            ok = r_version_satisfies(have, spec) if have else False
            if ok is not False:
                continue
            state = f"{dep} {have} is installed" if have else f"{dep} is not installed"
            yield finding(
                "ED906",
                Severity.WARNING,
                f"The R package {name} {pkg.version} needs {dep} ({spec or 'any version'}), "
                f"but {state}: library({name}) fails.",
                evidence=(
                    (name, f"{pkg.version} ({pkg.library})"),
                    (dep, f"{have or 'not installed'}; needed {spec or 'any'}"),
                ),
                fixes=(fixes.r_fix(f'install.packages({lit(dep)})'),),
                source=f"{pkg.library}/{name}/DESCRIPTION (Depends/Imports)",
            )


def check_r_custom_objects(model: Optional[ModelInfo], env: Environment) -> Iterator[Finding]:
    """ED907 (info): the R lines that define, register and load objects defined in R.

    Yields:
        One ED907 finding when the model names objects defined in R.
    """
    ctx = context.current()
    if not ctx.active or model is None:
        return
    r_objects = [o for o in model.custom_objects if (o.module or "").startswith("<r-")]
    if not r_objects:
        return
    rt = effective_keras(env)
    install = ctx.install
    keys: dict[str, str] = {}
    lines: list[Fix] = []
    for obj in r_objects:
        short = obj.class_name.split(">")[-1]
        reg = obj.registered_name or ""
        package = reg.split(">")[0] if ">" in reg else "Custom"
        for k in dict.fromkeys([reg or short, short]):
            keys[k] = short
        lines.append(
            fixes.r_fix(
                f"{short} <- ...  # the same R definition as when the model was saved",
                f"{obj.kind} {reg or short} (module {obj.module})",
            )
        )
        if install is not None and "keras3" in install.packages:
            lines.append(
                fixes.r_fix(
                    f'register_keras_serializable({short}, name = {lit(short)}, '
                    f'package = {lit(package)})',
                    "keras3: register it under the name the file records",
                )
            )
    mapping = "list(" + ", ".join(f'{lit(k)} = {v}' for k, v in keys.items()) + ")"
    lines.append(
        fixes.r_fix(
            rcode.load_line(
                model, keras_generation=rt.generation, install=install, custom_objects=mapping
            ),
            "load with the R-defined objects passed in",
        )
    )
    fact = facts.fact("r_custom_objects")
    names = ", ".join(o.registered_name or o.class_name for o in r_objects)
    yield finding(
        "ED907",
        Severity.INFO,
        f"{names} {'was' if len(r_objects) == 1 else 'were'} defined in R ({R_GLOBALENV}); "
        f"{fact['text']}.",
        evidence=tuple(
            (f"{o.kind} {o.registered_name or o.class_name}", o.where) for o in r_objects
        ),
        fixes=tuple(lines),
        source=fact["source"],
    )


def r_input_fixes(model: ModelInfo, env: Environment) -> tuple[Fix, ...]:
    """The R fixes of ED701 (load, build a float32 input, predict) when the caller is R.

    Returns:
        ``()`` when the caller is not R or the model records no input.
    """
    ctx = context.current()
    if not ctx.active or not model.inputs:
        return ()
    numpy = env.version_of("numpy") or ""
    converts = not (numpy and numpy2_unconverted(ctx.reticulate_version, numpy))
    return rcode.input_fixes(
        model,
        numpy_converts=converts,
        keras_generation=effective_keras(env).generation,
        install=ctx.install,
    )


def binding_finding(
    model: str,
    binding: Binding,
    bound_errors: Sequence[Finding],
    alternative: str = "",
    py_require: Sequence[str] = (),
) -> Finding:
    """ED908: R binds a Python that cannot load ``model`` (or discovery stops with an error).

    Args:
        model: the model path.
        binding: what reticulate binds (:func:`envdoctor.rlang.reticulate.resolve`).
        bound_errors: the error findings of the model in the bound environment.
        alternative: an interpreter that can load the model ("" when none).
        py_require: when none can, the R lines that declare reticulate (>= 1.41)'s own uv
            environment (:func:`envdoctor.rlang.ephemeral.py_require_for`).

    Returns:
        The finding, with the ``.Renviron``/``.Rprofile`` lines as fixes.
    """
    if binding.error:
        why = f"reticulate stops: {binding.error} ({binding.reason})"
    elif not binding.python:
        why = f"envdoctor cannot tell which Python R binds here ({binding.reason})"
    else:
        codes = ", ".join(f"{f.code} {f.title}" for f in bound_errors[:3])
        why = f"R will bind {binding.python} ({binding.reason}), which cannot load it: {codes}"
    found: list[Fix] = []
    if alternative:
        why += f"; {alternative} can."
        found.extend(
            (
                Fix(
                    "env",
                    f"RETICULATE_PYTHON={alternative}",
                    "in ~/.Renviron or the project's .Renviron",
                ),
                fixes.r_fix(
                    f'envdoctor_use({lit(model)})',
                    "in .Rprofile (source scripts/envdoctor.R first); restart R",
                ),
            )
        )
    elif py_require:
        why += (
            "; no environment on this machine can, but reticulate's own uv environment "
            "declared with py_require() can."
        )
        found.extend(
            fixes.r_fix(line, "before anything starts Python (.Rprofile or the top of the script)")
            for line in py_require
        )
    else:
        why += "; no environment on this machine can (see envdoctor which --for-r)."
    evidence: list[tuple[str, str]] = [
        ("reticulate binds", binding.python or "nothing"),
        ("because", f"{binding.forced_by or 'error'}: {binding.reason}"),
    ]
    evidence += [(f.code, f.title) for f in bound_errors[:5]]
    return finding(
        "ED908",
        Severity.ERROR,
        f"{why}",
        evidence=tuple(evidence),
        fixes=tuple(found),
        source=facts.fact("reticulate_order_1_28")["source"],
    )


def already_initialized_finding(
    bound: str, forced: str, model: str = "", alternative: str = ""
) -> Finding:
    """ED909: this R session is already bound to ``bound`` and cannot switch.

    Args:
        bound: ``py_config()$python``.
        forced: ``py_config()$forced`` (why reticulate chose it), "" when not forced.
        model: the model path, if any.
        alternative: the interpreter that can load the model ("" when unknown).

    Returns:
        The finding; its fixes are the ``.Renviron``/``.Rprofile`` lines, then "restart R".
    """
    fact = facts.fact("reticulate_already_initialized")
    target = alternative or "<the interpreter envdoctor which --for-r prints>"
    use = f'envdoctor_use({lit(model)})' if model else "envdoctor_use(MODEL)"
    return finding(
        "ED909",
        Severity.ERROR,
        f"This R session is bound to {bound}"
        + (f" (chosen by {forced})" if forced else "")
        + f": {fact['text']}.",
        evidence=(("bound to", bound), ("forced by", forced or "discovery")),
        fixes=(
            Fix("env", f"RETICULATE_PYTHON={target}", "add to ~/.Renviron (or the project's)"),
            fixes.r_fix(use, 'or in .Rprofile, after source("scripts/envdoctor.R")'),
            fixes.note("then restart R (RStudio: Session > Restart R)"),
        ),
        source=fact["source"],
    )
