"""Speed measurements behind `scripts/bench_speed.py`: FLOP counts, step and generation timing, memory.

The FLOP counter (`forward_flops`, `train_step_flops`) counts the multiply-adds
of the matmul-like layers, Dense, Conv2D and Conv2DTranspose, as 2 FLOPs each;
biases, activations, batch norm, embeddings and the optimizer update are left
out (they are elementwise and small next to the matmuls), so the counts are
the useful arithmetic a perfect implementation could not avoid.

Timing follows one structure everywhere: one warm-up round (tracing, caches),
then `repeats` rounds of a fixed number of steps, reported as the median.

Thread counts can only be chosen before TensorFlow starts, so those runs and
the peak-memory measurement happen in fresh subprocesses, as do repeats of the
head-to-head against the classic loop (the classic loop's time moves between processes):
`python -m zoo.speed train|memory|head-to-head ...` prints one JSON line.
"""

import argparse
import gc
import json
import math
import os
import platform
import statistics
import sys
import threading
import time

import keras
import numpy as np
import tensorflow as tf
from keras import layers

# fit against the classic loop on the classic example's networks and loss: gan-mnist's G, its old D,
# and neither the minibatch-stddev feature nor R1 (the shipped recipe's; R1 alone is a second backward pass)
CLASSIC_SETUP = (("discriminator_widths", (512, 256)), ("minibatch_stddev", False), ("r1_penalty", 0.0))

# Layers with matmul-like arithmetic that the counter does not handle: counting
# them as zero would silently understate the work, so they raise instead.
_UNSUPPORTED = tuple(
    getattr(layers, name)
    for name in (
        "Conv1D", "Conv3D", "Conv1DTranspose", "Conv3DTranspose", "DepthwiseConv2D", "SeparableConv1D",
        "SeparableConv2D", "EinsumDense", "MultiHeadAttention", "SimpleRNN", "LSTM", "GRU",
    )
    if hasattr(layers, name)
)


# ------------------------------------------------------------------ FLOPs
def layer_macs(layer):
    """Multiply-accumulates of one forward pass of `layer` for ONE example (0 for elementwise layers).

    Dense: units x input features at every position. Conv2D: output positions x
    output channels x kernel area x input channels per group. Conv2DTranspose:
    every input position scatters a kernel-area x output-channels patch, so
    input positions x input channels x kernel area x output channels (the
    usual convention; the few products that `padding="same"` crops are counted).
    """
    if isinstance(layer, _UNSUPPORTED):
        raise ValueError(f"the FLOP counter does not handle {type(layer).__name__} layer {layer.name!r}")
    if isinstance(layer, layers.Conv2DTranspose):  # before Conv2D: not a subclass in Keras 3, but be safe
        kh, kw, out_channels, _ = layer.kernel.shape
        return math.prod(layer.input.shape[1:]) * kh * kw * out_channels
    if isinstance(layer, layers.Conv2D):
        kh, kw, in_per_group, _ = layer.kernel.shape
        return math.prod(layer.output.shape[1:]) * kh * kw * in_per_group
    if isinstance(layer, layers.Dense):
        return math.prod(layer.output.shape[1:]) * layer.kernel.shape[0]
    return 0


def forward_flops(model):
    """FLOPs (2 x multiply-adds) of one forward pass of `model` for ONE example; nested models included."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += forward_flops(layer)
        else:
            total += 2 * layer_macs(layer)
    return total


def train_step_flops(model, batch_size):
    """FLOPs of one `zoo.GAN.train_step` on a batch, counted pass by pass.

    Backward = 2 x forward (input and weight gradients). D step: G forward,
    D forward on the real and the fake batch, D backward on both. G step: G
    forward, D forward, backward through D and G. (Strictly the G step needs
    only D's input gradients and no network needs its first layer's input
    gradients, so this convention slightly overstates the work.)
    With `r1_penalty` the D step adds 3 D passes per real image; with
    `critic_steps` > 1 the D step is counted that many times. Returns
    per-pass counts per example and the step total for `batch_size`.
    """
    from zoo._base import GAN

    for step in ("train_step", "discriminator_step", "generator_step"):
        if getattr(type(model), step) is not getattr(GAN, step):
            raise ValueError(f"{model.name} overrides GAN.{step}; train_step_flops counts the base class's passes only")
    if getattr(model, "gradient_penalty", 0.0):
        raise ValueError(f"{model.name} uses a gradient penalty, whose double backward pass is not counted")
    g = forward_flops(model.generator)
    d = forward_flops(model.discriminator)
    # R1 differentiates D's input gradient on real images (one more D pass), and the weight
    # gradient of that two-pass graph costs twice the graph again: 3 more D passes per image.
    r1 = 3 * d if getattr(model, "r1_penalty", 0.0) else 0
    d_step = (g + 2 * d + 2 * (2 * d) + r1) * getattr(model, "critic_steps", 1)
    g_step = g + d + 2 * (d + g)
    return {
        "generator_forward": g,
        "discriminator_forward": d,
        "discriminator_step": d_step * batch_size,
        "generator_step": g_step * batch_size,
        "total": (d_step + g_step) * batch_size,
    }


# ----------------------------------------------------------------- timing
def first_cpuinfo_entry(cpuinfo="/proc/cpuinfo"):
    """The first processor's fields in /proc/cpuinfo ({} where the system has none)."""
    fields = {}
    try:
        with open(cpuinfo) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in fields:
                    break  # the next processor's entry
                fields[key.strip()] = value.strip()
    except OSError:
        pass
    return fields


def cpu_name(fields):
    """The CPU's model name, from `first_cpuinfo_entry()`, or what `platform` knows."""
    return fields.get("model name") or platform.processor() or platform.machine()


# The vector units TensorFlow's CPU kernels pick from: the same TensorFlow trained lsgan-mnist at 51.8 ms
# a step on one "AMD EPYC" and at 143 ms on another (family 25 model 1, AVX2 and no AVX-512), README "Speed".
VECTOR_EXTENSIONS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile")


def cpu_features(fields):
    """The family and model numbers and which of `VECTOR_EXTENSIONS` the CPU has, from
    `first_cpuinfo_entry()` (None each where it does not say): "AMD EPYC" alone names several generations."""
    number = lambda key: int(fields[key]) if fields.get(key, "").isdigit() else None  # noqa: E731
    flags = set(fields["flags"].split()) if "flags" in fields else None
    return {"cpu_family": number("cpu family"), "cpu_model": number("model"),
            "vector_extensions": None if flags is None else [x for x in VECTOR_EXTENSIONS if x in flags]}


def describe_cpu(machine):
    """`machine_info()`'s CPU in words: "AMD EPYC (family 25 model 1; avx2, fma)"."""
    details = []
    if machine.get("cpu_family") is not None:
        details.append(f"family {machine['cpu_family']} model {machine.get('cpu_model')}")
    if machine.get("vector_extensions") is not None:
        details.append(", ".join(machine["vector_extensions"]) or "no AVX2")
    return machine["cpu"] + (f" ({'; '.join(details)})" if details else "")


THREAD_ENV = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def machine_info():
    """What a timing depends on: CPU (with its family, model and vector units), cores, load, versions
    and the thread variables."""
    fields = first_cpuinfo_entry()
    return {
        "cpu": cpu_name(fields),
        **cpu_features(fields),
        "cores": os.cpu_count(),
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "threads": {k: os.environ.get(k, "default") for k in THREAD_ENV},
    }


def training_machine(from_epoch):
    """One training invocation's machine: `machine_info()`, its matmul GFLOP/s measured now, and the
    epoch it started from (a resumed run may go on on another machine, and minutes scale with it)."""
    return {"from_epoch": from_epoch, **machine_info(), "matmul_gflops": round(matmul_peak_gflops(), 1)}


def machines_before(machines, epochs_done):
    """The invocations a run at `epochs_done` still has (a deleted checkpoint drops the later ones)."""
    return [machine for machine in machines if machine["from_epoch"] < epochs_done]


def median(values):
    return float(statistics.median(values))


def matmul_peak_gflops(size=2048, repeats=10):
    """This machine's float32 matmul throughput in GFLOP/s: best of `repeats` `size` x `size` tf.matmul."""
    a = tf.random.normal((size, size), seed=1)
    b = tf.random.normal((size, size), seed=2)
    tf.matmul(a, b).numpy()  # warm-up: thread pool, oneDNN primitive
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        tf.matmul(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


class EpochTimes(keras.callbacks.Callback):
    """Wall seconds of every epoch of a `fit`."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def time_fit(model, data, steps, repeats, batch_size=None, labels=None):
    """Median milliseconds per step of `model.fit` on `data`, and all the rounds.

    One `fit` call of `repeats + 1` epochs of `steps` steps each; Keras keeps the
    data iterator across epochs, so the first epoch is the warm-up (tracing,
    shuffle buffer) and is dropped. `data` is a repeating `tf.data.Dataset`, or
    an image array with `labels` and `batch_size` (it must hold enough images
    for all the steps).
    """
    timer = EpochTimes()
    # A dataset brings its own order; arrays are shuffled by Keras, as a user's fit(x, y) would be.
    kwargs = {"shuffle": False} if batch_size is None else {"batch_size": batch_size}
    model.fit(data, labels, epochs=repeats + 1, steps_per_epoch=steps, callbacks=[timer], verbose=0, **kwargs)
    if len(timer.seconds) != repeats + 1:
        raise RuntimeError(f"fit stopped after {len(timer.seconds)} of {repeats + 1} epochs (input ran out?)")
    rounds = [s / steps * 1000 for s in timer.seconds[1:]]
    return median(rounds), rounds


class BareMLPStep:
    """A floor for an MLP GAN's train step: the Dense layers of `generator` and `discriminator`
    as bare matmuls in one `tf.function` (LeakyReLU between, tanh on G's output), both Adam
    updates as TensorFlow's fused kernel, real batches sliced from a tensor in memory; no
    Keras, no batch norm, no average of G: what the step's matmuls and Adam cost as TensorFlow
    runs them op by op. `classic / floor` is a reference for what a train step can gain, not a
    bound: XLA (`jit_compile=True`) fuses the element-wise work, and a compiled `fit` can match it."""

    def __init__(self, generator, discriminator, batch_size, images, seed=0, jit_compile=False):
        rng = np.random.default_rng(seed)
        self.batch_size = batch_size
        self.latent_dim = generator.inputs[0].shape[-1]
        self.g_layers = self._copy_dense(generator)
        self.d_layers = self._copy_dense(discriminator)
        self.g_vars = [v for layer in self.g_layers for v in layer]
        self.d_vars = [v for layer in self.d_layers for v in layer]
        self.slots = [(tf.Variable(tf.zeros_like(v)), tf.Variable(tf.zeros_like(v))) for v in self.g_vars + self.d_vars]
        self.iterations = tf.Variable(0.0)
        flat = images.reshape(len(images), -1)[: 64 * batch_size]
        self.batches = len(flat) // batch_size
        self.images = tf.constant(flat[: self.batches * batch_size].astype("float32"))
        self.seed = tf.constant(rng.integers(0, 2**31, 2), "int64")
        self._step = tf.function(self._train_step, jit_compile=jit_compile)

    @staticmethod
    def _copy_dense(network):
        dense = [layer for layer in network.layers if isinstance(layer, layers.Dense)]
        return [(tf.Variable(layer.kernel.numpy()), tf.Variable(layer.bias.numpy())) for layer in dense]

    @staticmethod
    def _mlp(weights, x, output):
        for i, (kernel, bias) in enumerate(weights):
            x = tf.matmul(x, kernel) + bias
            x = output(x) if i == len(weights) - 1 else tf.nn.leaky_relu(x, 0.2)
        return x

    def _adam(self, variables, gradients, slots):
        t = self.iterations + 1.0
        for variable, gradient, (m, v) in zip(variables, gradients, slots):
            tf.raw_ops.ResourceApplyAdam(
                var=variable.handle, m=m.handle, v=v.handle, beta1_power=0.5**t, beta2_power=0.999**t,
                lr=2e-4, beta1=0.5, beta2=0.999, epsilon=1e-7, grad=gradient)

    def _train_step(self, i):
        b = self.batch_size
        start = (i % self.batches) * b
        real = self.images[start : start + b]
        latent = tf.random.stateless_normal((2, b, self.latent_dim), self.seed + tf.cast(i, "int64"))
        fake = self._mlp(self.g_layers, latent[0], tf.tanh)
        with tf.GradientTape() as tape:
            real_logits, fake_logits = self._mlp(self.d_layers, real, tf.identity), self._mlp(self.d_layers, fake, tf.identity)
            d_loss = tf.reduce_mean(tf.nn.softplus(-real_logits)) + tf.reduce_mean(tf.nn.softplus(fake_logits))
        self._adam(self.d_vars, tape.gradient(d_loss, self.d_vars), self.slots[len(self.g_vars):])
        with tf.GradientTape() as tape:
            fake_logits = self._mlp(self.d_layers, self._mlp(self.g_layers, latent[1], tf.tanh), tf.identity)
            g_loss = tf.reduce_mean(tf.nn.softplus(-fake_logits))
        self._adam(self.g_vars, tape.gradient(g_loss, self.g_vars), self.slots[: len(self.g_vars)])
        self.iterations.assign_add(1.0)
        return d_loss, g_loss

    def step(self, i):
        return self._step(tf.constant(i, "int64"))


def time_steps(step, steps, repeats):
    """Median milliseconds per call of `step(i)` over `repeats` rounds of `steps` calls, after a
    warm-up round, and all the timed rounds. `step` returns its losses; reading the last one
    waits for work TensorFlow still runs asynchronously."""
    rounds = [time_round(step, steps) for _ in range(repeats + 1)]
    return median(rounds[1:]), rounds[1:]


def time_round(step, steps):
    """Milliseconds per call of `step(i)` over one round of `steps` calls."""
    start = time.perf_counter()
    for i in range(steps):
        losses = step(i)
    float(losses[0])
    return (time.perf_counter() - start) / steps * 1000


def time_bare_step(bare, steps, repeats):
    """Median milliseconds per `BareMLPStep.step`, after a warm-up round."""
    return time_steps(bare.step, steps, repeats)


def classic_step(loop, images, seed=0):
    """`step(i)` for the timers: one `ClassicLoop.step` on a batch drawn from `images` as the classic recipe does."""
    rng = np.random.default_rng(seed)
    return lambda i: loop.step(images[rng.integers(0, len(images), loop.batch_size)])


def time_classic_loop(loop, images, steps, repeats, seed=0):
    """Median milliseconds per `ClassicLoop.step` (batches drawn from `images` as the classic recipe does)."""
    return time_steps(classic_step(loop, images, seed), steps, repeats)


def same_networks(loop, model):
    """Whether `ClassicLoop` `loop` and GAN `model` have networks of the same sizes (what a fair comparison needs)."""
    return (loop.generator.count_params(), loop.discriminator.count_params()) == (
        model.generator.count_params(), model.discriminator.count_params())


def generate_request(model, n):
    """A `generate` argument for `n` images: a count, or n digit labels for a conditional model."""
    return (np.arange(n) % 10).tolist() if model.conditional else n


def time_generate(model, n, repeats):
    """Median seconds of `model.generate(n)` after a one-batch warm-up, and all the rounds."""
    model.generate(generate_request(model, min(n, 1000)), seed=0)
    rounds = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.generate(generate_request(model, n), seed=0)
        rounds.append(time.perf_counter() - start)
    return median(rounds), rounds


# ----------------------------------------------------------------- memory
def _status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def peak_rss_growth(fn):
    """(result of fn(), bytes the resident set grew to at its peak during fn, method used).

    Resets the kernel's high-water mark (`echo 5 > /proc/self/clear_refs`) and
    reads VmHWM afterwards; where that is not allowed, a background thread
    samples VmRSS every millisecond instead.
    """
    gc.collect()
    before = _status_kb("VmRSS")
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        result = fn()
        return result, (_status_kb("VmHWM") - before) * 1024, "VmHWM after clear_refs"
    except OSError:
        pass
    peak = [before]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _status_kb("VmRSS"))
            time.sleep(0.001)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = fn()
    finally:
        done.set()
        sampler.join()
    peak[0] = max(peak[0], _status_kb("VmRSS"))
    return result, (peak[0] - before) * 1024, "VmRSS sampled every 1 ms"


def generation_memory(name, n):
    """Peak RSS growth of `generate(n)` for registered model `name` (untrained weights), after a warm-up."""
    from zoo._registry import load

    model = load(name, pretrained=False, compile=False)
    model.generate(generate_request(model, 1000), seed=0)  # trace and start the runtime first
    images, growth, method = peak_rss_growth(lambda: model.generate(generate_request(model, n), seed=0))
    return {"model": name, "n": n, "peak_growth_bytes": growth, "output_bytes": images.nbytes, "method": method}


# -------------------------------------------------------------- subprocess
def child_train(name, batch_size, steps, repeats, limit=None):
    """ms/step of `fit` for registered model `name` on MNIST via zoo.data.load, in this process's thread setting."""
    from zoo import data as zoo_data
    from zoo._registry import get_entry, recipe_optimizers

    keras.utils.set_random_seed(0)
    entry = get_entry(name)
    model = entry.build()
    model.compile(**recipe_optimizers(entry.recipe))
    dataset = zoo_data.load("mnist", labels=True, batch_size=batch_size, seed=0, limit=limit).repeat()
    ms, rounds = time_fit(model, dataset, steps, repeats)
    return {
        "model": name,
        "batch": batch_size,
        "ms_per_step": ms,
        "rounds": rounds,
        "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
    }


def child_head_to_head(steps, repeats, steps_per_execution, limit=None):
    """The classic loop against `fit` with XLA and `steps_per_execution`, both on CLASSIC_SETUP at
    batch 32, in this process. Rounds alternate (a warm-up round of each, then `repeats` of each) and
    each classic round is divided by the fit round after it, so a slow spell of the machine falls on
    both sides of a ratio; `ratio` is the median of those paired ratios."""
    from zoo import data as zoo_data
    from zoo._registry import get_entry, recipe_optimizers
    from zoo.baseline import ClassicLoop

    keras.utils.set_random_seed(0)
    images, labels = zoo_data.load_arrays("mnist", "train")
    images, labels = images[:limit], labels[:limit].astype("int32")
    float_images = images[..., None].astype("float32") / 127.5 - 1.0
    loop = ClassicLoop(batch_size=32, seed=0)
    step = classic_step(loop, float_images)
    entry = get_entry("gan-mnist")
    model = entry.build(**dict(CLASSIC_SETUP))
    model.compile(jit_compile=True, steps_per_execution=steps_per_execution, **recipe_optimizers(entry.recipe))
    data = zoo_data.load(images, labels=labels, batch_size=32, seed=0).repeat()
    fit_steps = -(-steps // steps_per_execution) * steps_per_execution  # Keras runs whole executions
    classic_rounds, fit_rounds = [], []
    for _ in range(repeats + 1):
        classic_rounds.append(time_round(step, steps))
        fit_rounds.append(time_fit(model, data, fit_steps, 1)[0])  # each fit call: a warm-up epoch, a timed one
    classic_rounds, fit_rounds = classic_rounds[1:], fit_rounds[1:]
    return {
        "classic_ms": median(classic_rounds),
        "fit_ms": median(fit_rounds),
        "ratio": median([c / f for c, f in zip(classic_rounds, fit_rounds)]),
        "classic_rounds": classic_rounds,
        "fit_rounds": fit_rounds,
        "same_networks": same_networks(loop, model),
        "jit_compile": bool(model.jit_compile),
    }


def _child_main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m zoo.speed", description="one measurement, printed as a JSON line")
    sub = parser.add_subparsers(dest="what", required=True)
    train = sub.add_parser("train")
    train.add_argument("name")
    train.add_argument("--batch", type=int, required=True)
    train.add_argument("--steps", type=int, required=True)
    train.add_argument("--repeats", type=int, required=True)
    train.add_argument("--limit", type=int)
    memory = sub.add_parser("memory")
    memory.add_argument("name")
    memory.add_argument("-n", type=int, required=True)
    head_to_head = sub.add_parser("head-to-head")
    head_to_head.add_argument("--steps", type=int, required=True)
    head_to_head.add_argument("--repeats", type=int, required=True)
    head_to_head.add_argument("--steps-per-execution", type=int, required=True)
    head_to_head.add_argument("--limit", type=int)
    args = parser.parse_args(argv)
    if args.what == "train":
        result = child_train(args.name, args.batch, args.steps, args.repeats, args.limit)
    elif args.what == "head-to-head":
        result = child_head_to_head(args.steps, args.repeats, args.steps_per_execution, args.limit)
    else:
        result = generation_memory(args.name, args.n)
    sys.stdout.write("\n" + json.dumps(result) + "\n")


if __name__ == "__main__":
    import zoo  # noqa: F401  registers the models

    _child_main()
