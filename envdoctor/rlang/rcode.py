"""R code for R callers: load a model, build a correctly shaped float32 input, predict.

Graph execution errors seen from R are mostly shape, rank and dtype mistakes.  Three facts
of the R side drive the code written here:

* Keras wants the batch first: ``(batch, features)``, ``(batch, timesteps, features)`` for
  RNNs (a 3-D array), ``(batch, height, width, channels)`` for images.  R arrays keep their
  indices when reticulate converts them (``x[i, j, k]`` is ``x[i-1, j-1, k-1]`` in Python),
  but filling an array from a flat vector differs: ``array_reshape()`` reads row by row (C
  order, as NumPy does) while ``dim(x) <- ...`` and ``array()`` fill column by column
  (Fortran order) (https://rstudio.github.io/reticulate/reference/array_reshape.html).
* R numerics are doubles (float64); ``np_array(x, dtype = "float32")`` hands them over as
  float32.
* reticulate < 1.38 cannot convert arrays of NumPy >= 2 (``knowledge/r.json``
  ``reticulate_numpy2``): passing an R matrix or array then fails with "Required version of
  NumPy not available", and plain vectors arrive as lists.  The code then passes a flat
  vector in row-major order and reshapes it in Python, which works with every reticulate
  and every NumPy (observed with reticulate 1.28 and NumPy 2.4).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

from envdoctor.fixes import lit
from envdoctor.rlang.r_packages import RInstall
from envdoctor.types import Fix, InputSpec, ModelFormat, ModelInfo

BATCH = 2
"""Rows of the example batch."""

UNKNOWN_DIM = 10
"""Size used for a dimension the model leaves open (other than the batch)."""

_LAYOUT = {
    2: "batch, features",
    3: "batch, timesteps, features",
    4: "batch, height, width, channels",
    5: "batch, frames, height, width, channels",
}

_R_DTYPES = {"float16": "float32", "bfloat16": "float32", "float64": "float64"}


def _r_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def example_dims(spec: InputSpec, batch: int = BATCH) -> list[int]:
    """Return concrete dimensions for an example input: the batch, then the model's own.

    Open dimensions other than the batch become :data:`UNKNOWN_DIM`.
    """
    dims = [batch]
    for d in spec.shape[1:]:
        dims.append(d if d is not None else UNKNOWN_DIM)
    return dims


def _dtype(spec: InputSpec) -> str:
    dt = (spec.dtype or "float32").lower()
    if dt.startswith(("int", "uint")):
        return dt
    if dt in ("string", "bool"):
        return dt
    return _R_DTYPES.get(dt, "float32")


def _var(i: int, count: int) -> str:
    return "x" if count == 1 else f"x{i + 1}"


def input_lines(
    inputs: Sequence[InputSpec], *, numpy_converts: bool = True, batch: int = BATCH
) -> list[str]:
    """Return R lines that build one example batch per input and hand it to Python.

    Args:
        inputs: the model's input specs (batch dimension first).
        numpy_converts: False when reticulate cannot convert NumPy arrays (reticulate <
            1.38 with NumPy >= 2): the data then goes over as a flat row-major vector.
        batch: rows of the example batch.

    Returns:
        Lines of R, ending with ``x_py`` (or ``x1_py``, ``x2_py``, ...) defined; the first
        line imports NumPy when it is needed.
    """
    lines: list[str] = []
    if not numpy_converts:
        lines.append('np <- reticulate::import("numpy", convert = FALSE)')
    for i, spec in enumerate(inputs):
        var = _var(i, len(inputs))
        dims = example_dims(spec, batch)
        dtype = _dtype(spec)
        if dtype in ("string", "bool"):
            lines.append(f"# input {spec.name or i}: dtype {dtype}: build it as a {dtype} array")
            continue
        size = " * ".join(str(d) for d in dims)
        dim_text = "c(" + ", ".join(str(d) for d in dims) + ")"
        layout = _LAYOUT.get(len(dims), "batch first")
        if dtype.startswith(("int", "uint")):
            values = f"sample.int(3L, {size}, replace = TRUE) - 1L"
        else:
            values = f"runif({size})"
        if numpy_converts:
            how = f"array_reshape(v, {dim_text}) (C order), not dim(v) <-"
        else:
            how = f"aperm(array(v, rev({dim_text})), {len(dims)}:1) (C order), not dim(v) <-"
        lines.append(
            f"{var} <- array({values}, dim = {dim_text})  # {layout}; from a flat vector v: {how}"
        )
        if numpy_converts:
            lines.append(f'{var}_py <- reticulate::np_array({var}, dtype = {lit(dtype)})')
        else:
            perm = "rev(seq_along(dim(" + var + ")))"
            lines.append(
                f"{var}_py <- np$asarray(as.numeric(aperm({var}, {perm})), "
                f'dtype = {lit(dtype)})$reshape(as.list(dim({var})))'
            )
    return lines


def predict_line(inputs: Sequence[InputSpec]) -> str:
    """Return the R line that runs the forward pass on the example batch."""
    if len(inputs) <= 1:
        return "y <- model$predict(x_py, verbose = 0L)"
    names = ", ".join(f"{_var(i, len(inputs))}_py" for i in range(len(inputs)))
    return f"y <- model$predict(list({names}), verbose = 0L)"


def load_line(
    model: ModelInfo,
    *,
    keras_generation: Optional[int],
    install: Optional[RInstall] = None,
    custom_objects: str = "",
) -> str:
    """Return the R line that loads ``model`` with the R package the user has.

    Args:
        model: the model.
        keras_generation: 3 when the bound Python's Keras is Keras 3, 2 for Keras 2.
        install: the R installation (decides keras3 / keras / plain reticulate).
        custom_objects: an R expression for ``custom_objects`` (``list(Scale = Scale)``), or "".

    Returns:
        E.g. ``model <- keras3::load_model("m.keras")`` or, without keras3/keras R
        packages, ``model <- reticulate::import("keras")$saving$load_model("m.keras")``.
    """
    path = _r_string(model.path)
    extra = f", custom_objects = {custom_objects}" if custom_objects else ""
    has = install.packages if install is not None else {}
    if keras_generation == 3 or keras_generation is None:
        if "keras3" in has:
            return f"model <- keras3::load_model({path}{extra})"
        return f'model <- reticulate::import("keras")$saving$load_model({path}{extra})'
    if "keras" in has and model.format is ModelFormat.KERAS_H5:
        return f"model <- keras::load_model_hdf5({path}{extra})"
    if "keras" in has and model.format is ModelFormat.SAVEDMODEL:
        return f"model <- keras::load_model_tf({path}{extra})"
    return f'model <- reticulate::import("tensorflow")$keras$models$load_model({path}{extra})'


def input_fixes(
    model: ModelInfo,
    *,
    numpy_converts: bool = True,
    keras_generation: Optional[int] = None,
    install: Optional[RInstall] = None,
) -> tuple[Fix, ...]:
    """Return the R lines (kind ``r``) that load ``model``, build its input and predict.

    Used as the R fixes of ED701 when the caller is R.

    Args:
        model: the model (its ``inputs`` give the shapes).
        numpy_converts: see :func:`input_lines`.
        keras_generation: the bound Python's Keras generation (see :func:`load_line`).
        install: the R installation.

    Returns:
        One fix per line, in order; empty when the model records no input.
    """
    if not model.inputs:
        return ()
    out = [
        Fix(
            "r",
            load_line(model, keras_generation=keras_generation, install=install),
            "load the model (in a session bound to this Python)",
        )
    ]
    how = (
        "NumPy arrays are not converted by this reticulate: flat row-major vector, "
        "reshaped in Python"
        if not numpy_converts
        else "batch first, float32"
    )
    for i, line in enumerate(input_lines(model.inputs, numpy_converts=numpy_converts)):
        out.append(Fix("r", line, how if i == 0 else ""))
    out.append(Fix("r", predict_line(model.inputs), "first forward pass"))
    return tuple(out)


def script(fixes: Sequence[Fix]) -> str:
    """Join the ``r`` fixes into one R script (what ``envdoctor_check()`` prints)."""
    return "\n".join(f.text for f in fixes if f.kind == "r") + "\n"
