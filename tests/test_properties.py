"""Bad input, tried systematically (issue 7.4).

Hypothesis feeds `generate`, `encode`, `zoo.data.load`, `fit` and the command line
wrong types, shapes, ranges, NaN images, empty arrays, damaged files and huge counts.
Every case must end quickly in a ValueError or TypeError with a one-line message
(FileNotFoundError for a file that is not there) or, on the command line, in exit
code 2 with one line `zoo: error: ...` on stderr: never a crash, a hang, a memory
blow-up or a TensorFlow error. The number of cases tried is printed at the end of
the pytest run ("hypothesis bad-input cases tried: ...").
"""

import io
import os
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import zoo
from conftest import IMAGE_MODELS, PROPERTY_CASES
from zoo._registry import get_entry
from zoo.cli import COMMANDS, main

QUICK_S = 15.0  # "never a hang": each refusal is immediate; generous for a loaded 2-core CPU


def examples(n):
    # database=None: no .hypothesis/ example database in the working tree. derandomize: the same
    # cases in every run, so that CI cannot fail on a case no earlier run tried.
    return settings(
        max_examples=n,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def count_case():
    test = os.environ.get("PYTEST_CURRENT_TEST", "?").split("::")[-1].split(" ")[0].split("[")[0]
    PROPERTY_CASES[test] += 1


def refused(call, errors=(ValueError, TypeError)):
    """`call()` must raise one of `errors` quickly, with a one-line message; returns it."""
    start = time.monotonic()
    with pytest.raises(errors) as info:
        call()
    elapsed = time.monotonic() - start
    message = str(info.value)
    assert message and len(message.splitlines()) == 1, repr(message)
    assert "Traceback" not in message and "Graph execution error" not in message, message
    assert elapsed < QUICK_S, f"took {elapsed:.1f}s to refuse"
    count_case()
    return message


# ------------------------------------------------------------------ models
@pytest.fixture(scope="module")
def models():
    """Every registered model, built once (untrained) and compiled."""
    built = {}
    for name in IMAGE_MODELS:
        model = get_entry(name).build(seed=0)
        model.compile()
        built[name] = model
    return built


# -------------------------------------------------------------- strategies
NEAR_MISS_SHAPES = [
    (28, 28), (28, 28, 1), (1, 28, 28, 3), (2, 28, 28, 2), (1, 1, 28, 28), (2, 27, 28), (1, 28, 29),
    (1, 28, 28, 1, 1), (784,), (3, 784), (0, 28, 28), (0, 28, 28, 1), (0,), (), (1, 32, 32), (1, 14, 14, 4),
]


def image_shape_ok(shape):
    return len(shape) in (3, 4) and shape[0] > 0 and shape[1:3] == (28, 28) and shape[3:] in ((), (1,))


wrong_shapes = st.one_of(
    st.sampled_from(NEAR_MISS_SHAPES),
    hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=6),
).filter(lambda shape: not image_shape_ok(shape))
good_shapes = st.builds(lambda n, channel: (n, 28, 28) + ((1,) if channel else ()), st.integers(1, 3), st.booleans())

bad_floats = st.one_of(
    st.sampled_from([np.nan, np.inf, -np.inf, -1e-3, 1.001, 255.0, 1e300, -1e300]),
    st.floats(allow_nan=True, allow_infinity=True),
)
WRONG_DTYPES = ["complex64", "complex128", "datetime64[s]", "timedelta64[s]", "U3", "S3", "object", "V4"]
NOT_ARRAYS = [None, 0, 7, 1.5, True, "abc", b"\x00\x01", {}, {"x": 1}, [], [[]], [[1, 2], [3]], (1, 2), set(), object()]


def as_input(array, kind):
    """An array as given by a user: numpy, nested lists or a tensor."""
    if kind == "list":
        return array.tolist()
    if kind == "tensor" and array.dtype.kind in "biuf":
        return tf.constant(array)
    return array


input_kinds = st.sampled_from(["array", "array", "list", "tensor"])


@st.composite
def out_of_range_images(draw, low, high, allow_ints=True, kinds=input_kinds):
    """Valid-shaped images with one pixel outside [low, high] (NaN and inf included)."""
    shape = draw(good_shapes)
    index = draw(st.integers(0, int(np.prod(shape)) - 1))
    if allow_ints and draw(st.booleans()):
        dtype = draw(st.sampled_from(["int8", "int16", "int32", "int64"]))
        info = np.iinfo(dtype)
        array = np.zeros(shape, dtype)
        array.flat[index] = draw(st.one_of(st.integers(info.min, -1), st.integers(256, info.max)) if info.max > 255 else st.integers(info.min, -1))
    else:
        dtype = draw(st.sampled_from(["float16", "float32", "float64"]))
        array = np.full(shape, (low + high) / 2, dtype)
        with np.errstate(over="ignore"):
            array.flat[index] = draw(bad_floats)
        stored = float(array.flat[index])
        assume(not low <= stored <= high)  # e.g. 1.0000001 rounds to 1.0 in float32
    return as_input(array, draw(kinds))


@st.composite
def wrong_images(draw, low=0.0, high=1.0, allow_ints=True, arrays_only=False):
    """Anything that is not a non-empty (N, 28, 28[, 1]) numeric array in [low, high]."""
    kind = draw(st.sampled_from(["shape", "range", "dtype"] + ([] if arrays_only else ["object"])))
    kinds = st.just("array") if arrays_only else input_kinds
    if kind == "shape":
        value = draw(st.sampled_from([(low + high) / 2, np.nan]))
        return as_input(np.full(draw(wrong_shapes), value, "float32"), draw(kinds))
    if kind == "range":
        return draw(out_of_range_images(low, high, allow_ints, kinds))
    if kind == "dtype":
        return np.zeros(draw(good_shapes), draw(st.sampled_from(WRONG_DTYPES)))
    return draw(st.sampled_from(NOT_ARRAYS))


bad_label_lists = st.one_of(
    st.lists(st.integers(), min_size=1, max_size=12).filter(lambda v: any(not 0 <= x <= 9 for x in v)),
    st.lists(st.floats(), min_size=1, max_size=6).filter(lambda v: any(not (x == x and x == int(x) and 0 <= x <= 9) if abs(x) < 1e18 else True for x in v)),
    st.lists(st.text(max_size=3), min_size=1, max_size=4),
    st.lists(st.booleans(), min_size=1, max_size=4),
    st.sampled_from([[], [[1, 2]], [[1], [2, 3]], np.zeros((2, 2), "int32"), np.zeros(0, "int32"), [None], [1 + 2j],
                     np.array([1, 2], "timedelta64[s]"), [2**70], range(10**12), range(10**20), [3, np.nan]]),
)
not_positive_ints = st.one_of(
    st.integers(max_value=0), st.floats(), st.text(max_size=5), st.booleans(), st.none(),
    st.sampled_from([np.float64(3.0), "5", [4], np.bool_(True)]),
)
huge_counts = st.integers(min_value=10**10, max_value=10**30)


# ---------------------------------------------------------------- generate
@examples(200)
@given(data=st.data(), name=st.sampled_from(IMAGE_MODELS))
def test_generate_refuses_bad_requests(models, data, name):
    model = models[name]
    valid = [3, 1, 4] if model.conditional else 3
    kind = data.draw(st.sampled_from(["request", "batch_size", "seed", "latent", "mismatch"]), "kind")
    if kind == "request":
        if model.conditional:
            request = data.draw(st.one_of(bad_label_lists, st.integers(), st.floats(), st.none(), st.text(max_size=4)), "labels")
        else:
            request = data.draw(st.one_of(st.integers(max_value=0), huge_counts, st.floats(), st.none(), st.text(max_size=4),
                                          st.booleans(), st.lists(st.integers(0, 9), max_size=3)), "n")
        refused(lambda: model.generate(request))
    elif kind == "batch_size":
        batch_size = data.draw(not_positive_ints, "batch_size")
        refused(lambda: model.generate(valid, batch_size=batch_size))
    elif kind == "seed":
        seed = data.draw(st.one_of(st.integers(max_value=-1), st.floats(), st.text(min_size=1, max_size=4),
                                   st.sampled_from([{}, object(), [-1], [1.5]])), "seed")
        refused(lambda: model.generate(valid, seed=seed))
    elif kind == "latent":
        latent = data.draw(st.one_of(
            st.builds(np.zeros, wrong_latent_shapes(model.latent_dim)),
            st.builds(lambda n, v: np.full((n, model.latent_dim), v), st.integers(1, 3), st.sampled_from([np.nan, np.inf, -np.inf, 1e300])),
            st.builds(lambda n, d: np.zeros((n, model.latent_dim), d), st.integers(1, 3), st.sampled_from(WRONG_DTYPES)),
            st.sampled_from([v for v in NOT_ARRAYS if v is not None]),
        ), "latent")
        request = [1] * row_count(latent) if model.conditional else None  # labels matching the latent rows
        refused(lambda: model.generate(request, latent=latent))
    else:  # n and latent disagree
        n = data.draw(st.integers(1, 5), "n")
        rows = data.draw(st.integers(1, 5).filter(lambda r: r != n), "rows")
        refused(lambda: model.generate([1] * n if model.conditional else n, latent=np.zeros((rows, model.latent_dim))))


def row_count(latent):
    try:
        return max(1, len(latent))
    except TypeError:  # unsized
        return 1


def wrong_latent_shapes(latent_dim):
    return st.one_of(
        hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5),
        st.builds(lambda n, d: (n, d), st.integers(0, 3), st.sampled_from([latent_dim - 1, latent_dim + 1, 1])),
        st.just((0, latent_dim)),
    ).filter(lambda shape: not (len(shape) == 2 and shape[0] > 0 and shape[1] == latent_dim))


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_huge_counts_are_refused_at_once(models, name):
    model = models[name]
    for count in (10**12, 10**100):
        request = range(count) if model.conditional else count
        message = refused(lambda: model.generate(request))
        assert "memory" in message or count == 10**100 and model.conditional  # "labels must be integers"


# ------------------------------------------------------------------ encode
@examples(120)
@given(images=wrong_images())
def test_encode_refuses_bad_images(models, images):
    refused(lambda: models["bigan-mnist"].encode(images))


@examples(30)
@given(batch_size=not_positive_ints)
def test_encode_refuses_bad_batch_size(models, batch_size):
    refused(lambda: models["bigan-mnist"].encode(np.zeros((2, 28, 28)), batch_size=batch_size))


# -------------------------------------------------------------------- data
@examples(120)
@given(images=wrong_images(), labels=st.sampled_from([True, False, None]))
def test_data_load_refuses_bad_arrays(images, labels):
    assume(not isinstance(images, str))  # strings are names or paths: below
    refused(lambda: zoo.data.load(images, labels=labels, batch_size=1))


TEN = np.zeros((10, 28, 28), "uint8")


@examples(80)
@given(data=st.data(), option=st.sampled_from(["batch_size", "limit", "shuffle", "seed", "labels", "split", "named_labels"]))
def test_data_load_refuses_bad_options(data, option):
    if option == "batch_size":
        value = data.draw(st.one_of(not_positive_ints, st.integers(11, 10**12)), option)
        refused(lambda: zoo.data.load(TEN, batch_size=value))
    elif option == "limit":
        value = data.draw(not_positive_ints.filter(lambda v: v is not None), option)
        refused(lambda: zoo.data.load(TEN, batch_size=2, limit=value))
    elif option == "shuffle":
        value = data.draw(st.one_of(st.integers(), st.text(max_size=3), st.none(), st.floats()), option)
        refused(lambda: zoo.data.load(TEN, batch_size=2, shuffle=value))
    elif option == "seed":
        value = data.draw(st.one_of(st.floats(), st.text(max_size=3), st.booleans(), st.lists(st.integers(), max_size=2)), option)
        refused(lambda: zoo.data.load(TEN, batch_size=2, seed=value))
    elif option == "labels":
        value = data.draw(st.one_of(bad_label_lists, st.lists(st.integers(0, 9), min_size=1, max_size=9).map(np.array), st.text(max_size=3), st.floats()), option)
        refused(lambda: zoo.data.load(TEN, batch_size=2, labels=value))
    elif option == "split":
        value = data.draw(st.one_of(st.text(max_size=6).filter(lambda s: s not in ("train", "test")), st.integers(), st.none(),
                                    st.just(np.array(["train", "test"]))), option)
        refused(lambda: zoo.data.load("mnist", split=value))
    else:  # labels for a named data set must be True or False
        value = data.draw(st.one_of(st.integers(), st.floats(), st.text(max_size=3), st.lists(st.integers(0, 9), min_size=1)), option)
        refused(lambda: zoo.data.load("mnist", labels=value))


@examples(40)
@given(name=st.text(max_size=12))
def test_data_load_refuses_unknown_names_and_missing_files(tmp_path_factory, name):
    assume(name not in zoo.data.BUILTIN)
    source = name if not name.endswith(".npz") else str(tmp_path_factory.getbasetemp() / "absent" / name)
    refused(lambda: zoo.data.load(source), (ValueError, TypeError, FileNotFoundError))


def npz_bytes(**arrays):
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


VALID_NPZ = npz_bytes(x=np.zeros((4, 28, 28), "uint8"), y=np.arange(4))


bad_label_arrays = st.one_of(
    st.lists(st.integers(-(2**63), 2**63 - 1), min_size=4, max_size=4).filter(lambda v: any(not 0 <= x <= 9 for x in v)).map(np.array),
    st.sampled_from([np.full(4, 1.5), np.array(["a"] * 4), np.zeros((4, 2), "int32"), np.arange(3), np.array([0, 1, np.nan, 2]),
                     np.array([{}] * 4, dtype=object), np.zeros(0, "int32")]),
)


@st.composite
def damaged_npz(draw):
    """Bytes of a file named .npz that is not a usable data set."""
    kind = draw(st.sampled_from(["garbage", "zip-like", "npy-like", "truncated", "images", "key", "labels"]))
    if kind == "garbage":
        return draw(st.binary(max_size=300))
    if kind == "zip-like":
        return b"PK\x03\x04" + draw(st.binary(max_size=300))
    if kind == "npy-like":
        return b"\x93NUMPY" + draw(st.binary(max_size=300))
    if kind == "truncated":
        return VALID_NPZ[: draw(st.integers(0, len(VALID_NPZ) - 1))]
    # a readable archive with the wrong things in it (object arrays are pickled, which load refuses)
    good = np.zeros((4, 28, 28), "uint8")
    if kind == "images":
        return npz_bytes(x=draw(wrong_images(arrays_only=True)))
    if kind == "key":
        return npz_bytes(**{draw(st.sampled_from(["pixels", "X", "y", "train", "x_valid"])): good})
    return npz_bytes(x=good, y=draw(bad_label_arrays))


@examples(60)
@given(content=damaged_npz())
def test_data_load_refuses_damaged_files(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("npz") / "data.npz"
    path.write_bytes(content)
    refused(lambda: zoo.data.load(path, batch_size=1))


# --------------------------------------------------------------------- fit
GOOD_IMAGES = np.zeros((4, 28, 28, 1), "float32")
GOOD_LABELS = np.arange(4, dtype="int32")


def fit_quietly(model, x, y=None):
    return model.fit(x, y, epochs=1, batch_size=2, verbose=0)


@examples(150)
@given(data=st.data(), name=st.sampled_from(IMAGE_MODELS))
def test_fit_refuses_bad_arrays(models, data, name):
    model = models[name]
    kinds = ["images", "labels", "integers"] + (["no_labels"] if model.conditional else [])
    kind = data.draw(st.sampled_from(kinds), "kind")
    images, labels = GOOD_IMAGES, (GOOD_LABELS if model.conditional else None)
    if kind == "images":  # models train on floats in [-1, 1]
        images = data.draw(wrong_images(-1.0, 1.0), "images")
    elif kind == "integers":  # 0-255 pixels not scaled yet
        images = np.zeros(data.draw(good_shapes, "shape"), data.draw(st.sampled_from(["uint8", "int32", "bool"]), "dtype"))
    elif kind == "labels":
        labels = data.draw(st.one_of(bad_label_lists, bad_label_arrays), "labels")
    else:
        labels = None
    if data.draw(st.booleans(), "as a tuple") and labels is not None:
        refused(lambda: fit_quietly(model, (images, labels)))
    else:
        refused(lambda: fit_quietly(model, images, labels))


@examples(60)
@given(data=st.data(), name=st.sampled_from(IMAGE_MODELS))
def test_fit_refuses_bad_datasets(models, data, name):
    model = models[name]
    kind = data.draw(st.sampled_from(["shape", "unbatched", "strings", "string_labels", "empty", "dict"]
                                     + (["no_labels"] if model.conditional else [])), "kind")
    images, labels, batch = GOOD_IMAGES, GOOD_LABELS, 2
    if kind == "shape":
        images = np.zeros(data.draw(wrong_shapes.filter(lambda s: len(s) >= 1 and s[0] > 0), "shape"), "float32")
        labels = np.zeros(len(images), "int32")
    elif kind == "strings":
        images = np.full(GOOD_IMAGES.shape, "a")
    elif kind == "string_labels":
        labels = np.full(4, "3")
    elif kind == "empty":
        count = data.draw(st.integers(0, 3), "count")
        images, labels, batch = GOOD_IMAGES[:count], GOOD_LABELS[:count], 4
    elements = {"images": images} if kind == "dict" else ((images, labels) if kind != "no_labels" else images)
    dataset = tf.data.Dataset.from_tensor_slices(elements)
    if kind != "unbatched":
        dataset = dataset.batch(batch, drop_remainder=True)
    refused(lambda: model.fit(dataset, epochs=1, verbose=0))


def test_a_refused_fit_leaves_the_model_trainable():
    """A batch refused while the train step is traced must not break the next fit."""
    model = get_entry("gan-mnist").build(seed=0)
    model.compile()

    def wrong_batches():
        while True:
            yield (np.zeros((2, 32, 32, 1), "float32"),)

    refused(lambda: model.fit(wrong_batches(), steps_per_epoch=1, epochs=1, shuffle=False, verbose=0))
    history = model.fit(GOOD_IMAGES, epochs=1, batch_size=2, verbose=0).history
    assert np.isfinite(history["g_loss"]).all()


# ------------------------------------------------------------- command line
def cli_refuses(capsys, argv):
    """`zoo ARGV` must exit with code 2 and exactly one line `zoo: error: ...` on stderr."""
    capsys.readouterr()
    start = time.monotonic()
    try:
        code = main(argv)
    except SystemExit as exit:  # argparse's errors
        code = exit.code
    elapsed = time.monotonic() - start
    err = capsys.readouterr().err
    assert code == 2, (argv, code, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("zoo: error: "), (argv, err)
    assert "Traceback" not in err
    assert elapsed < QUICK_S, f"{argv} took {elapsed:.1f}s"
    count_case()
    return lines[0]


def positive(text):
    try:
        return int(text) > 0
    except ValueError:
        return False


def valid_labels(text):
    parts = [p.strip() for p in text.split(",")] if "," in text else list(text)
    return bool(parts) and all(len(p) == 1 and p in "0123456789" for p in parts)


def valid_seed(text):
    try:
        return 0 <= int(text) < 2**32
    except ValueError:
        return False


bad_names = st.text(max_size=15).filter(lambda s: s not in zoo.list_models() and not s.startswith("-"))
numbers_and_text = st.one_of(st.integers(max_value=0).map(str), st.floats().map(str), st.text(max_size=6))


@examples(150)
@given(data=st.data(), kind=st.sampled_from(["command", "name", "count", "labels", "out", "seed", "both"]))
def test_cli_refuses_bad_arguments(capsys, tmp_path_factory, data, kind):
    out = tmp_path_factory.mktemp("cli") / "never-written"
    png = str(out / "x.png")
    if kind == "command":
        command = data.draw(st.text(max_size=10).filter(lambda s: s not in COMMANDS and not s.startswith("-")), "command")
        argv = [command]
    elif kind == "name":
        name = data.draw(bad_names, "name")
        argv = data.draw(st.sampled_from([
            ["info", name], ["generate", name, "-n", "2", "--out", png], ["train", name, "--epochs", "1", "--out", str(out)],
            ["evaluate", name], ["bench", name, "--out", str(out)],
        ]), "argv")
    elif kind == "count":
        count = data.draw(numbers_and_text.filter(lambda s: not positive(s)), "count")
        argv = data.draw(st.sampled_from([
            ["generate", "gan-mnist", "-n", count, "--out", png], ["evaluate", "gan-mnist", "-n", count],
            ["bench", "gan-mnist", "-n", count, "--out", str(out)], ["train", "gan-mnist", "--epochs", count, "--out", str(out)],
            ["train", "gan-mnist", "--epochs", "1", "--limit", count, "--out", str(out)],
        ]), "argv")
    elif kind == "labels":
        labels = data.draw(st.one_of(st.text(max_size=8), st.lists(st.integers(), max_size=4).map(lambda v: ",".join(map(str, v))))
                           .filter(lambda s: not valid_labels(s)), "labels")
        argv = ["generate", "cgan-mnist", f"--labels={labels}", "--out", png]
    elif kind == "out":
        name = data.draw(st.text(max_size=12).filter(lambda s: os.path.splitext(s)[1] not in (".png", ".npz")), "out")
        argv = ["generate", "gan-mnist", "-n", "2", f"--out={out / name}"]
    elif kind == "seed":
        seed = data.draw(st.one_of(numbers_and_text, st.integers(min_value=2**32).map(str)).filter(lambda s: not valid_seed(s)), "seed")
        argv = data.draw(st.sampled_from([
            ["generate", "gan-mnist", "-n", "2", f"--seed={seed}", "--out", png],
            ["train", "gan-mnist", "--epochs", "1", f"--seed={seed}", "--out", str(out)],
            ["evaluate", "gan-mnist", f"--seed={seed}"],
        ]), "argv")
    else:  # -n and --labels together
        argv = ["generate", data.draw(st.sampled_from(IMAGE_MODELS), "name"), "-n", "2", "--labels", "12", "--out", png]
    cli_refuses(capsys, argv)
    assert not out.exists(), argv


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory):
    """Saved untrained gan-mnist and cgan-mnist (independent of the pretrained weights),
    and a saved Keras model that is not a GAN."""
    folder = tmp_path_factory.mktemp("keras-files")
    for name in ("gan-mnist", "cgan-mnist"):
        model = get_entry(name).build(seed=0)
        model.compile()
        model.save(folder / f"{name}.keras")
    other = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    other.save(folder / "other.keras")
    return folder


@examples(8)
@given(data=st.data())
def test_cli_refuses_huge_counts_and_wrong_requests(capsys, tmp_path_factory, keras_files, data):
    png = str(tmp_path_factory.getbasetemp() / "cli-never-written" / "x.png")
    gan, cgan = str(keras_files / "gan-mnist.keras"), str(keras_files / "cgan-mnist.keras")
    kind = data.draw(st.sampled_from(["huge", "conditional", "unconditional"]), "kind")
    if kind == "huge":
        count = data.draw(huge_counts, "count")
        message = cli_refuses(capsys, ["generate", "gan-mnist", "--weights", gan, "-n", str(count), "--out", png])
        assert "memory" in message
    elif kind == "conditional":  # a conditional model takes --labels
        cli_refuses(capsys, ["generate", "cgan-mnist", "--weights", cgan, "-n", "3", "--out", png])
    else:  # an unconditional one -n
        cli_refuses(capsys, ["generate", "gan-mnist", "--weights", gan, "--labels", "123", "--out", png])


@examples(40)
@given(data=st.data(), kind=st.sampled_from(["missing", "garbage", "truncated", "not a GAN", "suffix"]),
       command=st.sampled_from(["generate", "evaluate"]))
def test_cli_refuses_bad_model_files(capsys, tmp_path_factory, keras_files, data, kind, command):
    folder = tmp_path_factory.mktemp("weights")
    path = folder / ("model.h5" if kind == "suffix" else "model.keras")
    gan_bytes, other_bytes = (keras_files / "gan-mnist.keras").read_bytes(), (keras_files / "other.keras").read_bytes()
    if kind == "garbage":
        path.write_bytes(data.draw(st.one_of(st.binary(max_size=200), st.binary(max_size=200).map(lambda b: b"PK\x03\x04" + b)), "bytes"))
    elif kind == "truncated":
        path.write_bytes(gan_bytes[: data.draw(st.integers(0, len(gan_bytes) - 1), "size")])
    elif kind == "not a GAN":
        path.write_bytes(other_bytes)
    elif kind == "suffix":
        path.write_bytes(gan_bytes)
    if command == "generate":
        argv = ["generate", "gan-mnist", "-n", "2", "--weights", str(path), "--out", str(folder / "x.png")]
    else:
        argv = ["evaluate", str(path), "-n", "2"]
    cli_refuses(capsys, argv)
    assert not (folder / "x.png").exists()


@examples(10)
@given(data=st.data(), kind=st.sampled_from(["missing", "damaged", "unknown", "too few images", "out is a file"]))
def test_cli_train_refuses_bad_data(capsys, tmp_path_factory, data, kind):
    folder = tmp_path_factory.mktemp("train")
    out, source = folder / "run", "mnist"
    if kind == "missing":
        source = str(folder / "absent.npz")
    elif kind == "damaged":
        source = str(folder / "data.npz")
        (folder / "data.npz").write_bytes(data.draw(damaged_npz(), "content"))
    elif kind == "unknown":
        source = data.draw(st.text(min_size=1, max_size=10).filter(lambda s: s not in zoo.data.BUILTIN and not s.endswith(".npz")), "data")
    elif kind == "out is a file":
        out.write_text("not a directory")
    # kind "too few images": --limit 8 is fewer than one batch of the recipe's 64
    argv = ["train", "gan-mnist", "--epochs", "1", "--limit", "8", f"--data={source}", "--out", str(out)]
    cli_refuses(capsys, argv)
    assert not (out / "checkpoint.keras").exists()
