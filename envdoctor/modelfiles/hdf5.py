"""Read Keras HDF5 files (whole models, legacy and v3 weights) from attributes and names only.

h5py is imported lazily.  Only root/group attributes and group member names are read; no
dataset is read, and links are inspected with ``getlink=True`` so external and soft links
(and the files they name) are never followed.

On POSIX the HDF5 library reads the file in a forked child process with a time limit
(:data:`HDF5_TIMEOUT` seconds) and an address-space cap (:data:`HDF5_MEMORY_HEADROOM`): the
C library can loop forever or crash on a damaged file (fuzzing found a bit-flipped global heap
that makes reading a variable-length string attribute spin for good), and neither can be
stopped from inside the process.  The child sends the :class:`ModelInfo` back pickled over a
pipe (envdoctor's own objects, built by envdoctor's own code; nothing from the file is
unpickled).  Set ``ENVDOCTOR_HDF5_IN_PROCESS=1`` to read in-process instead.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import time
from typing import Any, Callable, Optional

from envdoctor.errors import ModelFileError
from envdoctor.modelfiles import limits
from envdoctor.modelfiles.config import (
    ConfigSummary,
    describe,
    load_json_bounded,
    needs_extras,
    walk_config,
    with_config,
)
from envdoctor.types import ConfigDialect, ModelFormat, ModelInfo

WEIGHTS_NEEDS = "the model's code, then model.load_weights(path)"
"""``needs`` of weights-only files."""

V3_WEIGHTS_GROUPS = frozenset({"layers", "vars", "_layer_checkpoint_dependencies"})
"""Top-level groups that mark a Keras v3 ``.weights.h5`` (one of them must be present)."""

MAX_LISTED = 1000
"""Most group members listed when classifying a file."""

HDF5_TIMEOUT = 10.0
"""Longest time the HDF5 library may take to read one file's metadata (seconds)."""

HDF5_MEMORY_HEADROOM = 2 * 1024**3
"""Address space the reading child may add to what it inherits (bytes)."""

_SHOWN = 6


def read_hdf5(path: str) -> ModelInfo:
    """Read a Keras HDF5 file (``.h5``/``.hdf5``) without loading any weights.

    Args:
        path: the HDF5 file.

    Returns:
        A :class:`ModelInfo`: ``KERAS_H5`` (root ``model_config``; ``loadable=True``, with
        the config walk, ``keras_version``/``backend`` attributes, ``has_training_config``),
        ``KERAS_H5_WEIGHTS`` (legacy ``save_weights``: ``layer_names``, no config),
        ``KERAS_WEIGHTS_H5`` (Keras v3 ``.weights.h5``: ``layers/``, ``vars/`` groups) or
        ``HDF5_NOT_A_MODEL``.  ``size_bytes`` is the file size in bytes.

    Raises:
        ModelFileError: h5py is missing, the file is not HDF5, truncated or corrupt, its
            ``model_config`` attribute is over ``limits.MAX_JSON_BYTES``, not UTF-8, too
            deep or not valid JSON, or the HDF5 library did not finish within
            :data:`HDF5_TIMEOUT` seconds or crashed on it.
    """
    if not _isolated():
        return _read_hdf5(path)
    result = _in_child(path, _read_hdf5)
    if not isinstance(result, ModelInfo):
        raise ModelFileError(path, "not a readable HDF5 file: the reader sent no model")
    return result


def read_text_attribute(path: str, name: str) -> Optional[bytes]:
    """Read one root text attribute (``model_config``, ``training_config``...) of an HDF5 file.

    Same bounds and isolation as :func:`read_hdf5`: a single value, at most
    ``limits.MAX_JSON_BYTES`` bytes, read in a child process with a time limit.

    Args:
        path: the HDF5 file.
        name: the attribute name.

    Returns:
        The attribute as bytes, or None when absent or not a single text value.

    Raises:
        ModelFileError: the file is not readable HDF5, the attribute is over the size bound,
            or the HDF5 library did not finish or crashed.
    """

    def read(p: str) -> Optional[bytes]:
        try:
            import h5py  # noqa: PLC0415  (startup: h5py loads only to read HDF5)

            with h5py.File(p, "r") as root:
                return _attr(root.attrs, name, p)
        except ModelFileError:
            raise
        except Exception as exc:
            raise ModelFileError(p, f"not a readable HDF5 file: {type(exc).__name__}") from None

    if not _isolated():
        return read(path)
    result = _in_child(path, read)
    return result if isinstance(result, bytes) else None


def _isolated() -> bool:
    """True when HDF5 is read in a child process (POSIX, unless turned off)."""
    return hasattr(os, "fork") and os.environ.get("ENVDOCTOR_HDF5_IN_PROCESS") != "1"


def _in_child(path: str, reader: Callable[[str], object]) -> object:
    """Run ``reader(path)`` in a forked child and return its result; bound time and memory.

    Raises:
        ModelFileError: h5py is missing, ``reader`` raised (its message is kept for a
            ``ModelFileError``), or the child timed out, crashed or ran out of memory.
    """
    try:
        import h5py  # noqa: PLC0415, F401  (startup: h5py loads only to read HDF5)
    except ImportError:
        raise ModelFileError(path, "h5py is not installed: cannot read HDF5 files") from None

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: read, send the result, leave without cleanup handlers
        status = 0
        try:
            os.close(read_fd)
            _quiet_child(write_fd)
            _cap_address_space()
            result: tuple[str, object]
            try:
                result = ("ok", reader(path))
            except ModelFileError as exc:
                result = ("error", exc.message)
            except MemoryError:
                result = ("error", "reading its metadata needs too much memory")
            except BaseException as exc:
                result = ("error", f"not a readable HDF5 file: {type(exc).__name__}")
            data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
            view = memoryview(data)
            while view:
                view = view[os.write(write_fd, view):]
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    os.close(write_fd)
    return _collect(path, pid, read_fd)


def _quiet_child(keep_fd: int) -> None:
    """Detach the child from everything it inherited, and make it end by itself.

    Its standard streams go to ``/dev/null`` (a crash report or HDF5 diagnostics would break
    the CLI's one-line error contract; the outcome comes back through the pipe) and every
    other inherited descriptor but ``keep_fd`` is closed, so that a child outliving a killed
    parent holds no pipe of the parent's caller (an R session, a CI runner) open.  An alarm
    ends it after ``HDF5_TIMEOUT`` + 5 s even then: SIGALRM's default action kills the
    process, whatever the HDF5 library is doing.
    """
    import faulthandler  # noqa: PLC0415  (only in the forked child)

    if faulthandler.is_enabled():
        faulthandler.disable()
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.alarm(int(HDF5_TIMEOUT) + 5)
    try:
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.close(devnull)
        os.closerange(3, keep_fd)
        os.closerange(keep_fd + 1, _max_fd())
    except OSError:
        return


def _max_fd() -> int:
    try:
        return max(int(os.sysconf("SC_OPEN_MAX")), 256)
    except (OSError, ValueError):
        return 4096


def _cap_address_space() -> None:
    """Cap the child's address space at what it has now plus the headroom (best effort)."""
    try:
        import resource  # noqa: PLC0415  (POSIX only, in the child)

        with open("/proc/self/statm") as fh:
            current = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        limit = current + HDF5_MEMORY_HEADROOM
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        if soft == resource.RLIM_INFINITY or soft > limit:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (OSError, ValueError, ImportError):
        return


def _collect(path: str, pid: int, read_fd: int) -> object:
    """Read the child's answer with a deadline; kill it on timeout; explain a crash."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + HDF5_TIMEOUT
    timed_out = False
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([read_fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(read_fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        if timed_out:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    if timed_out:
        raise ModelFileError(
            path,
            f"the HDF5 library did not finish reading its metadata within {HDF5_TIMEOUT:g} s "
            "(a damaged file?)",
        )
    if not chunks:
        if os.WIFSIGNALED(status):
            try:
                name = signal.Signals(os.WTERMSIG(status)).name
            except ValueError:
                name = str(os.WTERMSIG(status))
            raise ModelFileError(
                path, f"the HDF5 library crashed reading it (signal {name}): a damaged file?"
            )
        raise ModelFileError(path, "not a readable HDF5 file: the reader stopped early")
    kind, payload = pickle.loads(b"".join(chunks))  # noqa: S301 (our own child's objects)
    if kind == "ok":
        return payload
    raise ModelFileError(path, str(payload))


def _read_hdf5(path: str) -> ModelInfo:
    """Read the file in this process (see :func:`read_hdf5`)."""
    try:
        import h5py  # noqa: PLC0415  (startup: h5py loads only to read HDF5)
    except ImportError:
        raise ModelFileError(path, "h5py is not installed: cannot read HDF5 files") from None
    try:
        size = os.path.getsize(path)
        try:
            handle = h5py.File(path, "r", locking=False)
        except TypeError:  # h5py built without the locking option
            handle = h5py.File(path, "r")
        with handle as root:
            return _classify(h5py, root, path, size)
    except ModelFileError:
        raise
    except Exception as exc:  # a corrupt file can fail anywhere in HDF5: one clear line
        lines = str(exc).strip().splitlines()
        reason = lines[0] if lines else type(exc).__name__
        raise ModelFileError(path, f"not a readable HDF5 file: {reason}") from None


def _children(h5py: Any, group: Any, limit: int = MAX_LISTED) -> tuple[dict[str, str], bool]:
    """Return ``({name: kind}, truncated)`` for a group's links, never following links."""
    found: dict[str, str] = {}
    for index, name in enumerate(group):
        if index >= limit:
            return found, True
        link = group.get(name, getlink=True)
        if isinstance(link, h5py.ExternalLink):
            found[name] = "external link, not followed"
        elif isinstance(link, h5py.SoftLink):
            found[name] = "soft link, not followed"
        else:
            cls = group.get(name, getclass=True)
            if cls is h5py.Group:
                found[name] = "group"
            elif cls is h5py.Dataset:
                found[name] = "virtual dataset" if group[name].is_virtual else "dataset"
            else:
                found[name] = "object"
    return found, False


def _attr(attrs: Any, name: str, path: str) -> Optional[bytes]:
    """Return a text attribute as bytes (it may be stored as bytes or str), or None.

    An attribute holding more than one value is not text and is not read: an array of
    variable-length strings can name one global-heap object many times, so its size in
    memory is not bounded by its size in the file.
    """
    if name not in attrs:
        return None
    attr_id = attrs.get_id(name)
    if int(attr_id.get_space().get_simple_extent_npoints()) != 1:
        return None
    if attr_id.get_storage_size() > limits.MAX_JSON_BYTES:
        raise ModelFileError(path, f"attribute {name} is over {limits.MAX_JSON_BYTES} bytes")
    value = attrs[name]
    if hasattr(value, "shape") and getattr(value, "size", 0) == 1:
        value = value.reshape(-1)[0]
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return None


def _text(attrs: Any, name: str, path: str) -> Optional[str]:
    raw = _attr(attrs, name, path)
    return raw.decode("utf-8", "replace")[:200] if raw is not None else None


def _layer_names(attrs: Any, path: str) -> Optional[list[str]]:
    """Return ``layer_names`` (also the chunked ``layer_names0``, ``layer_names1``...)."""
    if "layer_names" in attrs:
        keys = ["layer_names"]
    elif "layer_names0" in attrs:
        keys = []
        while f"layer_names{len(keys)}" in attrs and len(keys) < MAX_LISTED:
            keys.append(f"layer_names{len(keys)}")
    else:
        return None
    count = sum(int(attrs.get_id(k).get_space().get_simple_extent_npoints()) for k in keys)
    if count > limits.MAX_LAYERS:
        raise ModelFileError(path, f"layer_names lists {count} layers, over {limits.MAX_LAYERS}")
    chunks = [attrs[k] for k in keys]
    names: list[str] = []
    for chunk in chunks:
        items = chunk.reshape(-1).tolist() if hasattr(chunk, "reshape") else [chunk]
        for item in items:
            names.append(item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item))
    return names


def _listing(children: dict[str, str], truncated: bool) -> str:
    shown = [f"{n} ({k})" for n, k in list(children.items())[:_SHOWN]]
    more = len(children) - _SHOWN
    tail = f", +{more} more" if more > 0 else ""
    return ", ".join(shown) + tail + (" ..." if truncated else "") if shown else "nothing"


def _classify(h5py: Any, root: Any, path: str, size: int) -> ModelInfo:
    attrs = root.attrs
    if "model_config" in attrs:
        return _whole_model(h5py, root, path, size)
    children, truncated = _children(h5py, root)
    notes = [f"{n}: {k}" for n, k in children.items() if "link" in k or "virtual" in k]
    keras_version = _text(attrs, "keras_version", path)
    backend = _text(attrs, "backend", path)
    names = _layer_names(attrs, path)
    if names is None and children.get("model_weights") == "group":
        names = _layer_names(root["model_weights"].attrs, path)
        if names is not None:
            notes.append("a model_weights group without model_config: weights only")
    if names is not None:
        version = f"Keras {keras_version}" if keras_version else "Keras 1.x"
        if keras_version is None:
            notes.append("no keras_version attribute: readers treat the file as Keras 1")
        if names:
            shown = ", ".join(names[:_SHOWN]) + (" ..." if len(names) > _SHOWN else "")
            notes.append(f"layer_names: {shown}")
        return ModelInfo(
            path=path,
            format=ModelFormat.KERAS_H5_WEIGHTS,
            loadable=False,
            summary=f"{version} save_weights() HDF5: weights of {len(names)} layers, no config",
            needs=WEIGHTS_NEEDS,
            size_bytes=size,
            keras_version=keras_version,
            backend=backend,
            notes=tuple(notes),
        )
    groups = {n for n, k in children.items() if k == "group"}
    if groups & V3_WEIGHTS_GROUPS:
        count = 0
        for name in sorted(groups & {"layers", "_layer_checkpoint_dependencies"}):
            count += len(_children(h5py, root[name], limits.MAX_LAYERS)[0])
        notes.append("the saving Keras version is not recorded in .weights.h5 files")
        return ModelInfo(
            path=path,
            format=ModelFormat.KERAS_WEIGHTS_H5,
            loadable=False,
            summary=f"Keras v3 .weights.h5 weights file: {count} layer groups, no config "
            f"(top level: {_listing(children, truncated)})",
            needs=WEIGHTS_NEEDS,
            size_bytes=size,
            notes=tuple(notes),
        )
    return ModelInfo(
        path=path,
        format=ModelFormat.HDF5_NOT_A_MODEL,
        loadable=False,
        summary=f"an HDF5 file without Keras attributes: {_listing(children, truncated)}",
        needs="h5py to read its data; it is not a Keras model",
        size_bytes=size,
        notes=tuple(notes),
    )


def _whole_model(h5py: Any, root: Any, path: str, size: int) -> ModelInfo:
    attrs = root.attrs
    notes: list[str] = []
    keras_version = _text(attrs, "keras_version", path)
    backend = _text(attrs, "backend", path)
    raw = _attr(attrs, "model_config", path)
    if raw is None:
        raise ModelFileError(path, "model_config attribute is not text")
    config = load_json_bounded(raw, "model_config attribute", path)
    training: object = None
    raw_training = _attr(attrs, "training_config", path)
    if raw_training is not None:
        try:
            training = load_json_bounded(raw_training, "training_config attribute", path)
        except ModelFileError as exc:
            notes.append(f"training_config not read: {exc.message}")
    summary = walk_config(config, where=path, keras_version=keras_version, training_config=training)
    if keras_version is None:
        notes.append("no keras_version attribute: Keras loaders treat the file as Keras 1")
    if backend and backend != "tensorflow":
        notes.append(f"saved with the {backend} backend")
    children, _ = _children(h5py, root, 16)
    if children.get("model_weights") != "group":
        notes.append("no model_weights group: the file holds no weights")
    if children.get("optimizer_weights") == "group":
        notes.append("optimizer state saved (optimizer_weights)")
    notes.extend(f"{n}: {k}" for n, k in children.items() if "link" in k or "virtual" in k)
    version = f"Keras {keras_version}" if keras_version else "Keras 1.x (no keras_version)"
    on = f" ({backend} backend)" if backend else ""
    info = ModelInfo(
        path=path,
        format=ModelFormat.KERAS_H5,
        loadable=True,
        summary=f"{version} HDF5 model{on}: {describe(summary)}",
        needs=_needs(summary, keras_version),
        size_bytes=size,
        keras_version=keras_version,
        backend=backend,
        notes=tuple(notes),
    )
    return with_config(info, summary)


def _needs(summary: ConfigSummary, keras_version: Optional[str]) -> str:
    """One line saying which Keras loads this legacy HDF5 model."""
    if summary.dialect is ConfigDialect.KERAS1:
        base = "Keras 1.x or 2.x with h5py (Keras 2 converts Keras 1 configs; Keras 3 rarely can)"
    elif summary.dialect is ConfigDialect.KERAS3:
        saved = keras_version or "3"
        base = f"Keras {saved} or a newer Keras 3 with h5py (legacy HDF5 loader)"
    else:
        base = "load_model of Keras 2 (tf.keras / tf-keras) with h5py; Keras 3 is best effort"
    return base + needs_extras(summary)
