import csv
import json
import math

import keras
import numpy as np
import pytest
from keras import layers

import zoo
from zoo import speed

from conftest import load_script



def test_flop_counter_matches_hand_count():
    inputs = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)  # 8*8 positions * 4 out * 3*3*3 = 6912 MACs
    x = layers.BatchNormalization()(x)  # elementwise: not counted
    x = layers.Conv2DTranspose(2, 2, strides=2)(x)  # 8*8*4 inputs * 2*2 kernel * 2 out = 2048 MACs -> 16x16x2
    x = layers.Dense(3)(x)  # per position: 16*16 positions * 2 in * 3 out = 1536 MACs
    outputs = layers.Dense(5)(layers.Flatten()(x))  # 768 in * 5 out = 3840 MACs
    model = keras.Model(inputs, outputs)
    assert [speed.layer_macs(layer) for layer in model.layers] == [0, 6912, 0, 2048, 1536, 0, 3840]
    assert speed.forward_flops(model) == 2 * (6912 + 2048 + 1536 + 3840)
    nested = keras.Sequential([model, layers.Dense(2)])  # nested models count too: + 5*2 MACs
    assert speed.forward_flops(nested) == 2 * (6912 + 2048 + 1536 + 3840 + 10)


def test_flop_counter_refuses_layers_it_cannot_count():
    model = keras.Sequential([keras.Input((10, 3)), layers.Conv1D(4, 3)])
    with pytest.raises(ValueError, match="Conv1D"):
        speed.forward_flops(model)


class TinyGAN(zoo.GAN):
    """A GAN whose networks the test spells out, so the hand count does not depend on the zoo's variants."""

    def __init__(self, **kwargs):
        super().__init__(latent_dim=16, **kwargs)
        self.generator = keras.Sequential(
            [keras.Input((16,)), layers.Dense(7 * 7 * 8), layers.Reshape((7, 7, 8)),
             layers.Conv2DTranspose(4, 4, strides=4, padding="same", activation="tanh"),  # 7x7x8 -> 28x28x4
             layers.Conv2D(1, 3, padding="same")]
        )
        self.discriminator = keras.Sequential(
            [keras.Input((28, 28, 1)), layers.Conv2D(8, 4, strides=2, padding="same"), layers.LeakyReLU(0.2),
             layers.Flatten(), layers.Dense(1)]
        )


def test_train_step_flops_of_a_small_gan():
    model = TinyGAN()
    g = 2 * (16 * 392 + 7 * 7 * 8 * 4 * 4 * 4 + 28 * 28 * 1 * 3 * 3 * 4)
    d = 2 * (14 * 14 * 8 * 4 * 4 * 1 + 14 * 14 * 8)
    flops = speed.train_step_flops(model, batch_size=10)
    assert (flops["generator_forward"], flops["discriminator_forward"]) == (g, d) == (119_168, 53_312)
    # D step: G fwd + D fwd x2 + D bwd x2 (2x fwd each); G step: G fwd + D fwd + bwd through D and G.
    assert flops["discriminator_step"] == 10 * (g + 6 * d)
    assert flops["generator_step"] == 10 * (3 * g + 3 * d)
    assert flops["total"] == 10 * (4 * g + 9 * d)
    # R1: D's input gradient on real images, then the weight gradient of that graph.
    model.r1_penalty = 5.0
    assert speed.train_step_flops(model, batch_size=10)["discriminator_step"] == 10 * (g + 9 * d)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_bare_step_floor_trains_the_copied_networks(jit_compile):
    from zoo.baseline import ClassicLoop

    loop = ClassicLoop(batch_size=8, seed=0)
    images = np.random.default_rng(0).uniform(-1, 1, (40, 28, 28, 1)).astype("float32")
    bare = speed.BareMLPStep(loop.generator, loop.discriminator, 8, images, jit_compile=jit_compile)
    assert bool(bare._step._jit_compile) is jit_compile
    dense_kernels = [layer.kernel.shape for net in (loop.generator, loop.discriminator) for layer in net.layers
                     if isinstance(layer, keras.layers.Dense)]
    assert [tuple(kernel.shape) for kernel, _ in bare.g_layers + bare.d_layers] == [tuple(s) for s in dense_kernels]
    before = [v.numpy() for v in bare.g_vars + bare.d_vars]
    losses = [tuple(map(float, bare.step(i))) for i in range(3)]
    assert all(np.isfinite(losses).ravel())
    assert all(not np.array_equal(b, v.numpy()) for b, v in zip(before, bare.g_vars + bare.d_vars))
    assert bare.batches == 5


def test_peak_rss_growth_sees_a_fresh_allocation():
    size = 64 * 2**20
    result, growth, method = speed.peak_rss_growth(lambda: np.ones(size // 8))  # float64: touches every page
    assert result.nbytes == size
    assert size * 0.9 < growth < size * 1.5, (growth, method)


def test_quick_run_writes_the_full_report(tmp_path):
    bench = load_script("bench_speed")
    # 20,000 images (63 MB) rather than --quick's 5,000: generate's working set for one batch of 1,000
    # is itself 100-200 MB, depending on the machine, and would swamp the output it is compared with.
    # Four variants (one of each kind of network) keep the run short; every section still runs.
    models = ["bigan-mnist", "cgan-mnist", "dcgan-mnist", "gan-mnist"]
    assert bench.main(["--quick", "--memory-n", "20000", "--models", *models, "--out", str(tmp_path)]) == 0
    report = (tmp_path / "speed.md").read_text()
    assert f"python scripts/bench_speed.py --quick --memory-n 20000 --models {' '.join(models)} --out" in report
    for title in bench.SECTIONS.values():
        assert f"## {title}" in report
    meta = json.loads((tmp_path / "speed.json").read_text())
    rows = meta["rows"]
    with open(tmp_path / "speed.csv") as f:
        assert f.readline().startswith("# ") and len(list(csv.DictReader(f))) == len(rows)

    def value(measurement, model=""):
        found = [r["value"] for r in rows if r["measurement"] == measurement and r["model"] == model]
        assert len(found) == 1, (measurement, model, found)
        assert math.isfinite(found[0]) and found[0] > 0, (measurement, model, found)
        return found[0]

    classic = value("classic loop: predict + 2 D.train_on_batch + stacked.train_on_batch", "gan-mnist")
    classic_note = next(r["note"] for r in rows if r["measurement"].startswith("classic loop"))
    assert "WARNING" not in classic_note  # fit is timed on the classic loop's networks
    fit = value("fit (compiled train_step, zoo.data.load)", "gan-mnist")
    assert value("fit / classic loop", "gan-mnist") == pytest.approx(fit / classic)
    assert value("floor: the same Dense layers as bare matmuls in one tf.function", "gan-mnist") > 0
    spe = bench.STEPS_PER_EXECUTION
    fits = [value(measurement, "gan-mnist") for measurement in (
        "fit (compiled train_step, zoo.data.load)", f"fit, compile(steps_per_execution={spe})",
        "fit, compile(jit_compile=True)", f"fit, compile(jit_compile=True, steps_per_execution={spe})")]
    assert value("fastest fit above / classic loop", "gan-mnist") == pytest.approx(max(fits) / classic)
    assert value("floor, XLA: the same bare step with jit_compile=True", "gan-mnist") > 0
    head_to_head = f"fit (jit_compile=True, steps_per_execution={spe}) / classic loop, fresh processes, median"
    (process,) = meta["head_to_head_processes"]  # --quick: one fresh process
    assert process["same_networks"] and process["jit_compile"]
    assert value(head_to_head, "gan-mnist") == pytest.approx(process["ratio"])
    note = next(r["note"] for r in rows if r["measurement"] == head_to_head)
    assert f"1 process, " in note and note.endswith(f"{process['classic_ms']:.1f} / {process['fit_ms']:.2f} ms)")
    xla_measurement = "fit at the recipe batch size, jit_compile=True"
    for name in models:
        default = value("fit at the recipe batch size", name)
        xla = value(xla_measurement, name)
        note = next(r["note"] for r in rows if r["measurement"] == xla_measurement and r["model"] == name)
        assert note == f"{xla / default:.2f}x the default: {bench.xla_verdict(xla / default)}"
        value("generate(1,000)", name)
    peak = value("float32 matmul peak (512x512 tf.matmul, best of several)")
    dcgan = zoo.load("dcgan-mnist", pretrained=False, compile=False)
    flops = speed.train_step_flops(dcgan, zoo._registry.get_entry("dcgan-mnist").recipe["batch_size"])["total"]
    assert value("train step FLOPs (D step + G step)", "dcgan-mnist") == pytest.approx(flops / 1e9)
    achieved = value("achieved train-step throughput", "dcgan-mnist")
    assert value("train step / matmul peak", "dcgan-mnist") == pytest.approx(100 * achieved / peak)
    value("generation / matmul peak", "dcgan-mnist")
    assert value("generate(20,000) output size", "dcgan-mnist") == pytest.approx(20000 * 28 * 28 * 4 / 2**20)
    assert 0.9 < value("peak growth / output size", "dcgan-mnist") < 10  # at least the output it returns
    for name in ("dcgan-mnist", "gan-mnist"):
        for measurement in ("jit_compile=False", "jit_compile=True", f"steps_per_execution={bench.STEPS_PER_EXECUTION}",
                            "precision: mixed_bfloat16", f"lazy R1: r1_every={bench.LAZY_R1_EVERY}",
                            "input: zoo.data.load", "input: tf.data cached",
                            "input: numpy arrays"):
            value(measurement, name)
    value("threads: intra-op 1, inter-op 1", "dcgan-mnist")
    value("threads: TensorFlow default", "dcgan-mnist")


@pytest.mark.parametrize("argv, message", [
    (["--fresh-processes", "-1"], "--fresh-processes must be 0 or more"),
    (["--threads", "2"], "are not INTRAxINTER"),
    (["--sections", "train,speed"], "unknown sections"),
])
def test_bad_arguments_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit):
        load_script("bench_speed").parse_args(argv)
    assert message in capsys.readouterr().err


def test_head_to_head_alternates_rounds_and_pairs_them(monkeypatch):
    calls = []
    classic_times, fit_times = iter([99.0, 40.0, 60.0, 50.0]), iter([9.0, 4.0, 6.0, 10.0])

    def fake_round(step, steps):
        step(0)  # one real classic step: the loop runs
        calls.append(("classic", steps))
        return next(classic_times)

    def fake_fit(model, data, steps, repeats):
        calls.append(("fit", steps, repeats))
        return next(fit_times), []

    monkeypatch.setattr(speed, "time_round", fake_round)
    monkeypatch.setattr(speed, "time_fit", fake_fit)
    result = speed.child_head_to_head(steps=5, repeats=3, steps_per_execution=4, limit=256)
    # a warm-up round of each, then three of each, alternating; fit runs whole executions (8 >= 5 steps)
    assert calls == [("classic", 5), ("fit", 8, 1)] * 4
    assert result["classic_rounds"] == [40.0, 60.0, 50.0] and result["fit_rounds"] == [4.0, 6.0, 10.0]
    assert result["classic_ms"] == 50.0 and result["fit_ms"] == 6.0
    assert result["ratio"] == 10.0  # the median of the paired 10x, 10x, 5x, not 50 / 6
    assert result["same_networks"] and result["jit_compile"]


@pytest.mark.parametrize("ratio, words", [
    (1.30, "XLA faster for this model"), (0.80, "XLA slower for this model"),
    (1.02, "no clear difference (within 5%)"), (0.97, "no clear difference (within 5%)"),
    (1.0464, "XLA faster for this model"), (1.0449, "no clear difference (within 5%)"),  # printed 1.05x, 1.04x
    (0.9551, "no clear difference (within 5%)"), (0.9549, "XLA slower for this model"),  # printed 0.96x, 0.95x
])
def test_xla_verdict_leaves_noise_undecided(ratio, words):
    assert load_script("bench_speed").xla_verdict(ratio) == words
