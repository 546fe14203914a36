"""explain reads the whole paste, in each form users paste (issue 12 item 2).

The pastes in tests/fixtures/pastes are written in the exact formats Python, IPython/Jupyter
(with its ANSI colours), R/reticulate (``Error in py_call_impl``, ``py_last_error()``'s
sections), TensorFlow's logger, Windows consoles and shells print; the messages in them are
real messages (errors.json examples and their sources).
"""

from __future__ import annotations

from pathlib import Path

from envdoctor.explain import classify, clean_lines, parse_error_text

PASTES = Path(__file__).parent / "fixtures" / "pastes"


def read(name: str) -> str:
    return (PASTES / name).read_text(encoding="utf-8")


def labels(text: str, top: int = 3) -> list[str]:
    return [m.cause.label for m in classify(text).candidates[:top]]


def test_ipython_colours_cell_and_arrow_lines() -> None:
    text = read("ipython_ansi.txt")
    assert "\x1b[" in text
    assert all("\x1b" not in line for line in clean_lines(text))
    parsed = parse_error_text(text)
    assert parsed.chain == (("ValueError", parsed.message),)
    assert parsed.message.startswith("Unrecognized keyword arguments passed to DepthwiseConv2D")
    assert any(f.endswith("saving_api.py") for f in parsed.frames)
    assert "----> 1" not in parsed.context and "load_model(" not in parsed.context
    assert classify(text).best is not None
    assert classify(text).best.cause.label == "legacy_h5_keras3"


def test_r_wrapper_line_is_not_the_error() -> None:
    text = read("r_py_call_impl.txt")
    parsed = parse_error_text(text)
    assert parsed.origin == "reticulate"
    assert parsed.error_type == "ValueError"
    assert parsed.message.startswith("File format not supported")
    assert "py_call_impl" not in parsed.message
    best = classify(text).best
    assert best is not None and best.cause.label == "savedmodel_in_keras3"


def test_py_last_error_sections_python_part_only() -> None:
    text = read("r_py_last_error.txt")
    parsed = parse_error_text(text)
    assert parsed.origin == "reticulate"
    assert parsed.error_type == "ValueError"
    assert "expected 2 variables, but received 0" in parsed.message
    assert "R Traceback" not in parsed.message and "keras3::load_model" not in parsed.message
    assert len(parsed.frames) == 2 and all("site-packages/keras" in f for f in parsed.frames)


def test_tensorflow_log_lines_before_the_traceback() -> None:
    text = read("tf_log_lines.txt")
    cleaned = clean_lines(text)
    assert cleaned[0].startswith("oneDNN custom operations are on")
    parsed = parse_error_text(text)
    assert parsed.error_type == "OSError"
    assert parsed.message == "No file or directory found at model.keras"
    assert "Unable to register cuDNN factory" in parsed.context  # warnings are kept as context
    assert labels(text)[0] == "wrong_or_empty_path"


def test_windows_paths_chained_dll_error() -> None:
    text = read("windows_dll.txt")
    parsed = parse_error_text(text)
    assert [t for t, _ in parsed.chain] == ["ImportError", "ImportError", "ImportError"]
    assert parsed.chain[0][1].startswith("DLL load failed while importing "
                                         "_pywrap_tensorflow_internal")
    assert any(f.startswith("C:\\Users\\ana\\miniconda3") for f in parsed.frames)
    assert "(tf) C:" not in parsed.context
    # Windows DLL failures of TensorFlow: the MSVC runtime or a CPU without AVX (TF's
    # install errors page); both are named, the runtime first
    top = labels(text)
    assert top[0] == "msvc_runtime_missing"
    assert "cpu_lacks_avx" in top


def test_numpy2_block_before_an_unrelated_looking_error() -> None:
    text = read("numpy2_block.txt")
    parsed = parse_error_text(text)
    assert [t for t, _ in parsed.chain] == ["AttributeError", "ImportError"]
    assert "compiled using NumPy 1.x cannot be run in" in parsed.context
    best = classify(text).best
    assert best is not None and best.cause.label == "numpy2_abi"
    # the block's own remedy is used: numpy<2
    assert any("numpy<2" in f.text for f in best.cause.fixes)


def test_shell_prompts_and_pip_output_around_the_error() -> None:
    text = read("pip_around.txt")
    parsed = parse_error_text(text)
    assert "user@host" not in parsed.context
    assert "No matching distribution found for tensorflow==2.15.0" in parsed.context
    assert labels(text)[0] == "python_unsupported"
