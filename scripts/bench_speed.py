"""Training and generation speed of the zoo in one run: `python scripts/bench_speed.py --out docs/speed`.

Measures, in one process (subprocesses where TensorFlow must start fresh):
  1. training throughput of `fit` (compiled train_step, zoo.data.load pipeline)
     against the classic stacked `train_on_batch` loop (zoo.baseline.ClassicLoop)
     at batch 32 on the same networks (the classic example's, gan-mnist's G and a
     D of 512-256), that head-to-head again in fresh processes, and every variant
     at its recipe batch size, with and without XLA;
  2. arithmetic efficiency: FLOPs of a dcgan-mnist train step (zoo.speed's
     counter) per second, against this machine's float32 matmul peak measured
     in the same run;
  3. generation throughput of `generate(10_000)` per variant, its efficiency
     for dcgan-mnist, and the peak memory of `generate(100_000)`;
  4. choices: jit_compile on/off, steps_per_execution, mixed_bfloat16, lazy R1, input pipelines, thread counts.
Prints a markdown report and writes `speed.md`, `speed.csv` and `speed.json` to
`--out`. Only ratios measured in the same run are comparable; `--quick` is a
seconds-long smoke run for CI whose numbers mean little.
"""

import argparse
import csv
import datetime
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if (ROOT / "zoo" / "__init__.py").is_file() and str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # measure this checkout's zoo

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import zoo  # noqa: E402
from zoo import data as zoo_data  # noqa: E402
from zoo import speed  # noqa: E402
from zoo._base import dtype_policy  # noqa: E402
from zoo._registry import get_entry, list_models, recipe_optimizers  # noqa: E402
from zoo.baseline import ClassicLoop  # noqa: E402
from zoo.speed import CLASSIC_SETUP, THREAD_ENV, machine_info  # noqa: E402

SECTIONS = {
    "train": "1. Training throughput: fit vs the classic train_on_batch loop",
    "flops": "2. Arithmetic efficiency of a train step",
    "generate": "3. Generation throughput and memory",
    "choices": "4. Choices: jit_compile, steps_per_execution, precision, lazy R1, input pipeline, threads",
}
FIELDS = ["section", "measurement", "model", "batch", "ms_per_step", "value", "unit", "note"]
INPUTS = {
    "zoo.data.load": "zoo.data.load (uint8 in memory, shuffle, batch, scale in map, prefetch)",
    "tf.data cached": "zoo.data.load(...).cache().repeat().prefetch(): scaled batches cached after the warm-up pass",
    "numpy arrays": "fit(x=float32 array, y=labels, batch_size=B): Keras batches and shuffles",
}


STEPS_PER_EXECUTION = 32  # train steps per graph call in the steps_per_execution measurements (8: 7% slower with XLA)
LAZY_R1_EVERY = 8  # D updates per R1 penalty in the lazy-R1 measurement (StyleGAN2 takes 16)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="folder for speed.md, speed.csv, speed.json")
    parser.add_argument("--quick", action="store_true", help="tiny smoke run (CI): few steps, little data, small n")
    parser.add_argument("--steps", type=int, help="timed steps per round (default 100, quick 3)")
    parser.add_argument("--repeats", type=int, help="timed rounds, median reported (default 5, quick 2)")
    parser.add_argument("--models", nargs="+", help="variants to measure (default: all registered)")
    parser.add_argument("-n", type=int, help="images per timed generate (default 10000, quick 1000)")
    parser.add_argument("--memory-n", type=int, help="images of the peak-memory generate (default 100000, quick 5000)")
    parser.add_argument("--matmul-size", type=int, help="side of the peak matmul (default 2048, quick 512)")
    parser.add_argument(
        "--threads", default=None,
        help="thread settings to try in subprocesses, INTRAxINTER or 'default', comma-separated "
        "(default: '1x1,<cores>x1,<cores>x2,default'; quick: '1x1,default'); 'none' skips them",
    )
    parser.add_argument(
        "--fresh-processes", type=int,
        help="fresh processes that each repeat fit with jit_compile and steps_per_execution against the classic "
        "loop, rounds interleaved (default 3, quick 1; 0 skips them)",
    )
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"subset of {','.join(SECTIONS)}")
    args = parser.parse_args(argv)
    quick = args.quick
    args.steps = args.steps or (3 if quick else 100)
    args.repeats = args.repeats or (2 if quick else 5)
    args.n = args.n or (1000 if quick else 10_000)
    args.memory_n = args.memory_n or (5000 if quick else 100_000)
    args.matmul_size = args.matmul_size or (512 if quick else 2048)
    if args.fresh_processes is None:
        args.fresh_processes = 1 if quick else 3
    elif args.fresh_processes < 0:
        parser.error("--fresh-processes must be 0 or more")
    args.limit = 4096 if quick else None  # training images; quick runs need only a few batches
    cores = os.cpu_count() or 1
    if args.threads is None:
        args.threads = "1x1,default" if quick else f"1x1,{cores}x1,{cores}x2,default"
    args.threads = [] if args.threads == "none" else [t.strip() for t in args.threads.split(",") if t.strip()]
    bad = [t for t in args.threads if t != "default" and not re.fullmatch(r"[1-9][0-9]*x[1-9][0-9]*", t.lower())]
    if bad:
        parser.error(f"--threads: {bad} are not INTRAxINTER (e.g. 2x1) or 'default'")
    args.sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {list(SECTIONS)}")
    # Image models only: the 2-D teaching model (gan-toy2d) has no images to time.
    args.models = args.models or [name for name in list_models() if get_entry(name).dataset in zoo_data.BUILTIN]
    for name in args.models:
        get_entry(name)  # unknown names fail here, before any timing
    return args


def command_line(argv):
    """The command as typed, thread variables included, for the report."""
    env = [f"{k}={os.environ[k]}" for k in THREAD_ENV if k in os.environ]
    return " ".join(env + ["python scripts/bench_speed.py"] + [shlex.quote(a) for a in argv])


class Bench:
    """One run's state: the data in memory, compiled models and measurements shared between sections."""

    def __init__(self, args):
        self.args = args
        self.rows = []
        self.details = {}  # measurements behind a row, for speed.json
        images, labels = zoo_data.load_arrays("mnist", "train")
        if args.limit:
            images, labels = images[: args.limit], labels[: args.limit]
        self.images, self.labels = images, labels.astype("int32")
        self._float_images = None
        self._models = {}
        self._fits = {}
        self._peak = None

    # ---------------------------------------------------------- helpers
    def add(self, section, measurement, value, unit, model="", batch="", ms_per_step=None, note=""):
        row = {"section": section, "measurement": measurement, "model": model, "batch": batch,
               "ms_per_step": ms_per_step, "value": value, "unit": unit, "note": note}
        self.rows.append(row)
        print(f"  {measurement} [{model} {batch}]: {_fmt(value)} {unit}" + (f" ({note})" if note else ""), flush=True)
        return row

    @property
    def float_images(self):
        if self._float_images is None:
            self._float_images = self.images[..., None].astype("float32") / 127.5 - 1.0
        return self._float_images

    def peak_gflops(self):
        """float32 matmul peak, measured once per run (best of several)."""
        if self._peak is None:
            size = self.args.matmul_size
            self._peak = speed.matmul_peak_gflops(size, repeats=3 if self.args.quick else 10)
            self.add("flops", f"float32 matmul peak ({size}x{size} tf.matmul, best of several)", self._peak, "GFLOP/s")
        return self._peak

    def model(self, name, jit_compile="auto", steps_per_execution=1, overrides=(), precision=None):
        """`overrides`: (option, value) pairs for the builder, e.g. CLASSIC_SETUP;
        `precision`: a Keras dtype policy for the networks (None: float32)."""
        key = (name, jit_compile, steps_per_execution, overrides, precision)
        if key not in self._models:
            entry = get_entry(name)
            with dtype_policy(precision):
                model = entry.build(**dict(overrides))
            model.compile(jit_compile=jit_compile, steps_per_execution=steps_per_execution,
                          **recipe_optimizers(entry.recipe))
            self._models[key] = model
        return self._models[key]

    def default_batch(self, name):
        return get_entry(name).recipe.get("batch_size", 64)

    def fit_ms(self, name, batch, source="zoo.data.load", jit_compile="auto", steps_per_execution=1, overrides=(),
               precision=None):
        """Median ms/step of fit, measured once per (model, batch, input, jit, steps per execution, overrides,
        precision) and reused."""
        model = self.model(name, jit_compile, steps_per_execution, overrides, precision)
        key = (name, batch, source, bool(model.jit_compile), steps_per_execution, overrides, precision)  # "auto": False on CPU
        if key in self._fits:
            return self._fits[key]
        steps, repeats = self.args.steps, self.args.repeats
        steps = -(-steps // steps_per_execution) * steps_per_execution  # Keras runs whole executions
        if source == "zoo.data.load":
            data = zoo_data.load(self.images, labels=self.labels, batch_size=batch, seed=0).repeat()
            ms, _ = speed.time_fit(model, data, steps, repeats)
        elif source == "tf.data cached":
            # limit: exactly the warm-up epoch's batches, so every timed batch comes from the cache
            data = zoo_data.load(self.images, labels=self.labels, batch_size=batch, seed=0, limit=batch * steps)
            data = data.cache().repeat().prefetch(tf.data.AUTOTUNE)
            ms, _ = speed.time_fit(model, data, steps, repeats)
        elif source == "numpy arrays":
            needed = batch * steps * (repeats + 1)
            index = np.arange(needed) % len(self.images)  # repeat the set if the run needs more
            ms, _ = speed.time_fit(model, self.float_images[index], steps, repeats, batch_size=batch,
                                   labels=self.labels[index])
        else:
            raise ValueError(source)
        self._fits[key] = ms
        return ms

    def child(self, argv, env_update=None, unset=()):
        """Run `python -m zoo.speed ARGV` in a fresh process; its last stdout line is JSON."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        for key in unset:
            env.pop(key, None)
        env.update(env_update or {})
        done = subprocess.run([sys.executable, "-m", "zoo.speed", *argv], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"python -m zoo.speed {' '.join(argv)} failed:\n{done.stderr[-2000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    # --------------------------------------------------------- sections
    def section_train(self):
        """Classic loop vs fit at batch 32 on the classic networks; fit per variant at its recipe batch."""
        args, section = self.args, "train"
        reference = self.model("gan-mnist", overrides=CLASSIC_SETUP)
        loop = ClassicLoop(batch_size=32, seed=0)
        same = speed.same_networks(loop, reference)
        networks = ("the classic example's networks, G 256-512-1024 and D 512-256, and loss in both "
                    "(the shipped gan-mnist widens D to 1024-512-256, with a minibatch-stddev feature and R1)" if same
                    else "WARNING: ClassicLoop's networks differ from the VanillaGAN compared with it")
        classic_ms, _ = speed.time_classic_loop(loop, self.float_images, args.steps, args.repeats)
        self.add(section, "classic loop: predict + 2 D.train_on_batch + stacked.train_on_batch", 32 * 1000 / classic_ms,
                 "images/s", "gan-mnist", 32, classic_ms, networks)
        fit_ms = self.fit_ms("gan-mnist", 32, overrides=CLASSIC_SETUP)
        self.add(section, "fit (compiled train_step, zoo.data.load)", 32 * 1000 / fit_ms, "images/s", "gan-mnist", 32,
                 fit_ms, "also updates the EMA of G every step")
        ratio = classic_ms / fit_ms
        self.add(section, "fit / classic loop", ratio, "x", "gan-mnist", 32, None, _goal(ratio >= 10, ">= 10x"))
        bare = speed.BareMLPStep(loop.generator, loop.discriminator, 32, self.float_images)
        bare_ms, _ = speed.time_bare_step(bare, args.steps, args.repeats)
        self.add(section, "floor: the same Dense layers as bare matmuls in one tf.function", 32 * 1000 / bare_ms,
                 "images/s", "gan-mnist", 32, bare_ms,
                 f"no Keras, batch norm or EMA, fused Adam, data in memory; {classic_ms / bare_ms:.1f}x the classic loop, "
                 f"{fit_ms / bare_ms:.2f}x faster than fit")
        bare_jit = speed.BareMLPStep(loop.generator, loop.discriminator, 32, self.float_images, jit_compile=True)
        bare_jit_ms, _ = speed.time_bare_step(bare_jit, args.steps, args.repeats)
        self.add(section, "floor, XLA: the same bare step with jit_compile=True", 32 * 1000 / bare_jit_ms, "images/s",
                 "gan-mnist", 32, bare_jit_ms, f"{classic_ms / bare_jit_ms:.1f}x the classic loop")
        grouped_ms = self.fit_ms("gan-mnist", 32, steps_per_execution=STEPS_PER_EXECUTION, overrides=CLASSIC_SETUP)
        self.add(section, f"fit, compile(steps_per_execution={STEPS_PER_EXECUTION})", 32 * 1000 / grouped_ms, "images/s",
                 "gan-mnist", 32, grouped_ms, f"{fit_ms / grouped_ms:.2f}x plain fit; "
                 f"{classic_ms / grouped_ms:.1f}x the classic loop; progress bar and callbacks see one step in {STEPS_PER_EXECUTION}")
        xla_ms = self.fit_ms("gan-mnist", 32, jit_compile=True, overrides=CLASSIC_SETUP)
        self.add(section, "fit, compile(jit_compile=True)", 32 * 1000 / xla_ms, "images/s", "gan-mnist", 32, xla_ms,
                 f"{fit_ms / xla_ms:.2f}x plain fit; {classic_ms / xla_ms:.1f}x the classic loop")
        both_ms = self.fit_ms("gan-mnist", 32, jit_compile=True, steps_per_execution=STEPS_PER_EXECUTION,
                              overrides=CLASSIC_SETUP)
        self.add(section, f"fit, compile(jit_compile=True, steps_per_execution={STEPS_PER_EXECUTION})", 32 * 1000 / both_ms,
                 "images/s", "gan-mnist", 32, both_ms,
                 f"{fit_ms / both_ms:.2f}x plain fit; {classic_ms / both_ms:.1f}x the classic loop")
        best = classic_ms / min(fit_ms, grouped_ms, xla_ms, both_ms)
        self.add(section, "fastest fit above / classic loop", best, "x", "gan-mnist", 32, None,
                 _goal(best >= 10, ">= 10x") + f"; the floors: {classic_ms / min(bare_ms, bare_jit_ms):.1f}x")
        self.add_head_to_head(section)
        for name in args.models:
            batch = self.default_batch(name)
            ms = self.fit_ms(name, batch)
            self.add(section, "fit at the recipe batch size", batch * 1000 / ms, "images/s", name, batch, ms)
            self.add_xla_row(section, name, batch, ms)

    def add_head_to_head(self, section):
        """fit with XLA and steps_per_execution (the fastest fit on this machine) against the classic loop
        again, in fresh processes with their rounds interleaved: the classic loop's time moves from one
        process to another more than within one, which the single run above cannot show."""
        args = self.args
        if not args.fresh_processes:
            return
        child_args = ["head-to-head", "--steps", str(args.steps), "--repeats", str(args.repeats),
                      "--steps-per-execution", str(STEPS_PER_EXECUTION)]
        if args.limit:
            child_args += ["--limit", str(args.limit)]
        results = [self.child(child_args) for _ in range(args.fresh_processes)]
        self.details["head_to_head_processes"] = results
        ratio = speed.median([r["ratio"] for r in results])
        each = ", ".join(f"{r['ratio']:.1f}x ({r['classic_ms']:.1f} / {r['fit_ms']:.2f} ms)" for r in results)
        warning = "" if all(r["same_networks"] and r["jit_compile"] for r in results) else (
            "; WARNING: a process timed other networks or no XLA")
        self.add(section, f"fit (jit_compile=True, steps_per_execution={STEPS_PER_EXECUTION}) / classic loop, "
                 "fresh processes, median", ratio, "x", "gan-mnist", 32, None,
                 _goal(ratio >= 10, ">= 10x") + f"; {len(results)} process{'es' if len(results) > 1 else ''}, each the median of its paired rounds "
                 f"(classic / fit ms a step): {each}" + warning)

    def add_xla_row(self, section, name, batch, default_ms):
        """The same fit with jit_compile=True (`zoo train --jit-compile`), and how it compares."""
        measurement = "fit at the recipe batch size, jit_compile=True"
        try:
            ms = self.fit_ms(name, batch, jit_compile=True)
        except Exception as error:  # XLA may refuse an op; report it rather than stop the run
            self.add(section, measurement, float("nan"), "images/s", name, batch,
                     note=f"failed: {type(error).__name__}: {str(error)[:120]}")
            return
        ratio = default_ms / ms
        already = self.model(name).jit_compile  # "auto" resolves to XLA on some devices (not a CPU)
        self.add(section, measurement, batch * 1000 / ms, "images/s", name, batch, ms,
                 "the default already compiles with XLA here" if already else f"{ratio:.2f}x the default: {xla_verdict(ratio)}")

    def section_flops(self):
        """FLOPs per train step / measured step time, against the matmul peak."""
        section, peak = "flops", self.peak_gflops()
        for name in [n for n in ("dcgan-mnist", "gan-mnist", "cgan-mnist") if n in self.args.models] or self.args.models:
            model = self.model(name)
            batch = self.default_batch(name)
            try:
                flops = speed.train_step_flops(model, batch)
            except ValueError as error:
                self.add(section, "train step FLOPs", float("nan"), "GFLOP", name, batch, note=str(error))
                continue
            ms = self.fit_ms(name, batch)
            achieved = flops["total"] / (ms / 1000) / 1e9
            if name == "dcgan-mnist":
                self.add(section, "G forward per image", flops["generator_forward"] / 1e6, "MFLOP", name)
                self.add(section, "D forward per image", flops["discriminator_forward"] / 1e6, "MFLOP", name)
            self.add(section, "train step FLOPs (D step + G step)", flops["total"] / 1e9, "GFLOP", name, batch)
            self.add(section, "achieved train-step throughput", achieved, "GFLOP/s", name, batch, ms)
            pct = 100 * achieved / peak
            self.add(section, "train step / matmul peak", pct, "%", name, batch, ms,
                     _goal(pct >= 50, ">= 50%") if name == "dcgan-mnist" else "")

    def section_generate(self):
        """generate(n) images/s per variant; dcgan-mnist generation FLOP efficiency; peak memory."""
        args, section = self.args, "generate"
        for name in args.models:
            model = zoo.load(name, pretrained=False, compile=False)
            seconds, _ = speed.time_generate(model, args.n, args.repeats)
            self.add(section, f"generate({args.n:,})", args.n / seconds, "images/s", name, 1000,
                     note="batch_size=1000 (generate's default)")
            if name == "dcgan-mnist":
                gflops = speed.forward_flops(model.generator) * args.n / seconds / 1e9
                self.add(section, "generation throughput", gflops, "GFLOP/s", name, 1000)
                self.add(section, "generation / matmul peak", 100 * gflops / self.peak_gflops(), "%", name, 1000)
        name = "dcgan-mnist" if "dcgan-mnist" in args.models else args.models[0]
        result = self.child(["memory", name, "-n", str(args.memory_n)])
        ratio = result["peak_growth_bytes"] / result["output_bytes"]
        self.add(section, f"generate({args.memory_n:,}) peak RSS growth", result["peak_growth_bytes"] / 2**20, "MiB",
                 name, note=f"fresh process, {result['method']}")
        self.add(section, f"generate({args.memory_n:,}) output size", result["output_bytes"] / 2**20, "MiB", name,
                 note=f"{args.memory_n} x 28 x 28 x 4 bytes")
        self.add(section, "peak growth / output size", ratio, "x", name, note=_goal(ratio < 2, "< 2x"))

    def section_choices(self):
        """jit_compile on/off, steps_per_execution, mixed_bfloat16, lazy R1, three input pipelines, thread settings (subprocesses)."""
        args, section = self.args, "choices"
        names = [n for n in ("dcgan-mnist", "gan-mnist") if n in args.models] or args.models[:1]
        for name in names:
            batch = self.default_batch(name)
            base = self.fit_ms(name, batch)  # the default: jit_compile="auto" (off on CPU), zoo.data.load
            for jit in (False, True):
                try:
                    ms = self.fit_ms(name, batch, jit_compile=jit)
                except Exception as error:  # XLA may refuse an op; report it rather than stop the run
                    self.add(section, f"jit_compile={jit}", float("nan"), "images/s", name, batch,
                             note=f"failed: {type(error).__name__}: {str(error)[:120]}")
                    continue
                resolved = self.model(name, jit).jit_compile
                note = f"{base / ms:.2f}x the default" + ("" if resolved == jit else f"; Keras resolved it to {resolved}")
                self.add(section, f"jit_compile={jit}", batch * 1000 / ms, "images/s", name, batch, ms, note)
            ms = self.fit_ms(name, batch, steps_per_execution=STEPS_PER_EXECUTION)
            self.add(section, f"steps_per_execution={STEPS_PER_EXECUTION}", batch * 1000 / ms, "images/s", name, batch, ms,
                     f"{base / ms:.2f}x the default (1): steps run in one graph call")
            ms = self.fit_ms(name, batch, precision="mixed_bfloat16")
            self.add(section, "precision: mixed_bfloat16", batch * 1000 / ms, "images/s", name, batch, ms,
                     f"{base / ms:.2f}x the default (float32): bfloat16 arithmetic, float32 weights and losses")
            if self.model(name).r1_penalty:
                ms = self.fit_ms(name, batch, overrides=(("r1_every", LAZY_R1_EVERY),))
                self.add(section, f"lazy R1: r1_every={LAZY_R1_EVERY}", batch * 1000 / ms, "images/s", name, batch, ms,
                         f"{base / ms:.2f}x the default (R1 at every D update): at every {LAZY_R1_EVERY}th, "
                         f"{LAZY_R1_EVERY} times as strong")
            for source, description in INPUTS.items():
                ms = self.fit_ms(name, batch, source=source)
                self.add(section, f"input: {source}", batch * 1000 / ms, "images/s", name, batch, ms,
                         f"{base / ms:.2f}x the default; {description}")
        if not args.threads:
            self.add(section, "threads", float("nan"), "images/s", note="skipped (--threads none)")
            return
        name = names[0]
        batch = self.default_batch(name)
        child_args = ["train", name, "--batch", str(batch), "--steps", str(args.steps), "--repeats", str(args.repeats)]
        if args.limit:
            child_args += ["--limit", str(args.limit)]
        results = []
        for setting in args.threads:
            if setting == "default":
                result = self.child(child_args, unset=THREAD_ENV)
                label = "threads: TensorFlow default"
            else:
                intra, inter = setting.lower().split("x")
                result = self.child(child_args, {"TF_NUM_INTRAOP_THREADS": intra, "TF_NUM_INTEROP_THREADS": inter})
                label = f"threads: intra-op {intra}, inter-op {inter}"
            results.append((label, result))
        fastest = min(r["ms_per_step"] for _, r in results)
        for label, result in results:
            ms = result["ms_per_step"]
            self.add(section, label, batch * 1000 / ms, "images/s", name, batch, ms,
                     f"fresh process; {ms / fastest:.2f}x the fastest setting's time")

    def run(self):
        """Measure the chosen sections in order; returns the rows. `self.seconds` has each section's wall time."""
        self.seconds = {}
        for key in self.args.sections:
            print(f"## {SECTIONS[key]}", flush=True)
            start = time.perf_counter()
            getattr(self, f"section_{key}")()
            self.seconds[key] = round(time.perf_counter() - start, 1)
        return self.rows


def xla_verdict(ratio, noise=0.05):
    """Words for an XLA / default speed ratio: a printed ratio (two decimals) within `noise` of 1, i.e.
    0.96x-1.04x, is no clear difference on this shared machine."""
    ratio = round(ratio, 2)
    if ratio >= 1 + noise:
        return "XLA faster for this model"
    if ratio <= 1 - noise:
        return "XLA slower for this model"
    return f"no clear difference (within {noise:.0%})"


def _goal(met, goal):
    return f"goal {goal}: {'met' if met else 'NOT met'}"


def _fmt(value):
    if value is None or value == "":
        return ""
    if isinstance(value, float) and value != value:
        return "n/a"
    if isinstance(value, (int, np.integer)):
        return f"{value:,}"
    value = float(value)
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


def markdown_report(rows, meta):
    """The report: command, machine, then one table per section."""
    lines = [
        "# Speed benchmark",
        "",
        f"Command: `{meta['command']}`  ",
        f"Date: {meta['date']}; wall time {meta['wall_seconds']:.0f} s "
        f"({', '.join(f'{k} {v:.0f} s' for k, v in meta.get('section_seconds', {}).items())}); CPU: {speed.describe_cpu(meta['machine'])}, "
        f"{meta['machine']['cores']} cores; load average at start {meta['load_average_start']}, at end "
        f"{meta['load_average_end']}; TensorFlow {meta['machine']['tensorflow']}, Keras {meta['machine']['keras']}; "
        f"threads {meta['machine']['threads']}.  ",
        f"Timing: after a warm-up round, {meta['repeats']} rounds of {meta['steps']} steps, median reported. "
        "Images/s counts real images consumed (batch size x steps per second); ratios are comparable only "
        "within this run." + (" **Quick run: numbers are a smoke test, not measurements.**" if meta["quick"] else ""),
        "",
    ]
    if meta.get("notes_rewritten"):
        lines[-1:-1] = [f"Notes: {meta['notes_rewritten']}."]
    for key, title in SECTIONS.items():
        section_rows = [r for r in rows if r["section"] == key]
        if not section_rows:
            continue
        lines += [f"## {title}", "", "| measurement | model | batch | ms/step | value | unit | note |",
                  "|---|---|---|---|---|---|---|"]
        for r in section_rows:
            cells = [r["measurement"], r["model"], str(r["batch"]), _fmt(r["ms_per_step"]), _fmt(r["value"]),
                     r["unit"], r["note"]]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def write_outputs(rows, meta, out_dir):
    """speed.md, speed.csv and speed.json (rows plus the run's metadata) in `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "speed.md").write_text(markdown_report(rows, meta) + "\n")
    with open(out_dir / "speed.csv", "w", newline="") as f:
        f.write(f"# {meta['command']}\n")
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    (out_dir / "speed.json").write_text(json.dumps({**meta, "rows": rows}, indent=1, default=float) + "\n")


def main(argv=None):
    """Run the benchmark; returns 0. `argv` as on the command line (default sys.argv[1:])."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    start = time.perf_counter()
    keras.utils.set_random_seed(0)
    machine = machine_info()
    bench = Bench(args)
    rows = bench.run()
    meta = {
        "command": command_line(argv),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "quick": args.quick,
        "steps": args.steps,
        "repeats": args.repeats,
        "machine": machine,
        "load_average_start": _load(machine["load_average"]),
        "load_average_end": _load(os.getloadavg() if hasattr(os, "getloadavg") else None),
        "wall_seconds": time.perf_counter() - start,
        "section_seconds": bench.seconds,
        **bench.details,
    }
    report = markdown_report(rows, meta)
    print("\n" + report)
    if args.out:
        write_outputs(rows, meta, args.out)
        print(f"wrote {Path(args.out) / 'speed.md'}, speed.csv, speed.json")
    return 0


def _load(value):
    return None if value is None else ", ".join(f"{v:.2f}" for v in value)


if __name__ == "__main__":
    sys.exit(main())
