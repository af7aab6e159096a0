"""The `zoo` command line: list, info, generate, train, finetune, walk, bench, evaluate."""

import argparse
import json
import sys
from pathlib import Path


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and exit code 2, as argparse does, without the usage dump
        self.exit(2, f"zoo: error: {' '.join(message.split())}\n")


def parse_labels(text):
    """'0123456789' or '3,1,4' -> [0, 1, ..., 9] / [3, 1, 4]."""
    parts = [p.strip() for p in text.split(",")] if "," in text else list(text)
    if not parts or not all(len(p) == 1 and p in "0123456789" for p in parts):
        raise argparse.ArgumentTypeError(f"labels must be digits 0-9 like 0123456789 or 3,1,4, got {text!r}")
    return [int(p) for p in parts]


def _positive(convert, what):
    """An argparse type: `convert(text)` if it is finite and > 0, else a one-line error."""

    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive {what}, got {text!r}") from None
        if not 0 < value < float("inf"):
            raise argparse.ArgumentTypeError(f"expected a positive {what}, got {text}")
        return value

    return parse


positive_int = _positive(int, "integer")
positive_float = _positive(float, "number")


def seed_int(text):
    """A random seed: an integer 0 to 2**32 - 1, as numpy's seeding takes."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"expected a seed 0 to {2**32 - 1}, got {text!r}")
    return value


def add_training_arguments(p):
    p.add_argument("name")
    p.add_argument("--epochs", type=positive_int, required=True, help="total epochs (a rerun continues)")
    p.add_argument("--data", help="mnist, fashion_mnist or FILE.npz (default: the model's data set)")
    p.add_argument("--out", required=True, help="run directory: checkpoint, samples, losses.png, progress.gif")
    p.add_argument("--batch-size", type=positive_int)
    p.add_argument("--seed", type=seed_int)
    p.add_argument("--limit", type=positive_int, help="use only the first N images")
    p.add_argument("--tensorboard", action="store_true", help="also log to OUT/tensorboard")
    p.add_argument("--g-lr", type=positive_float, help="generator learning rate (default: the recipe's; a resumed run: its own)")
    p.add_argument("--d-lr", type=positive_float, help="discriminator learning rate (default: the recipe's; a resumed run: its own)")
    p.add_argument("--lr-decay-from", type=positive_int, metavar="K",
                   help="both learning rates fall linearly after epoch K, to 1/(EPOCHS - K + 1) of them in the last")
    p.add_argument("--mixed-precision", action="store_true",
                   help="compute in bfloat16 (float32 weights and losses): faster on CPUs with bfloat16 instructions")
    p.add_argument("--jit-compile", action="store_true",
                   help="compile the train step with XLA: on a CPU 1.03-1.35x faster for most models, slower for infogan-mnist (README)")


def build_parser():
    parser = _Parser(prog="zoo", description="ganzoo: pretrained GANs for MNIST-like images")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = commands.add_parser("list", help="list registered models")
    p.add_argument("pattern", nargs="?", help="shell wildcard, e.g. '*gan-mnist'")

    p = commands.add_parser("info", help="metadata of a model (JSON)")
    p.add_argument("name")

    p = commands.add_parser("generate", help="generate images into a .png grid or .npz arrays")
    p.add_argument("name")
    what = p.add_mutually_exclusive_group()
    what.add_argument("-n", type=positive_int, help="how many images (unconditional models; default 16)")
    what.add_argument("--labels", type=parse_labels, help="digits to draw (conditional models), e.g. 0123456789")
    p.add_argument("--seed", type=seed_int, help="make the images reproducible")
    p.add_argument("--out", required=True, help="FILE.png (grid) or FILE.npz (images, labels)")
    p.add_argument("--weights", help="a .keras file to use instead of the pretrained weights")
    p.add_argument("--temperature", type=positive_float,
                   help="spread of the latents: 1 = the prior G was trained on (default: the model's own)")

    p = commands.add_parser("train", help="train (resumable) with sample grids, loss curve and GIF")
    add_training_arguments(p)
    p.add_argument("--strategy", choices=["default", "mirrored", "multiworker"], default="default",
                   help="tf.distribute: mirrored = all local devices; multiworker = the machines in TF_CONFIG")
    p.add_argument("--deterministic", action="store_true", help="TensorFlow op determinism (with --seed: same losses)")

    p = commands.add_parser("finetune", help="continue training the pretrained weights on other data (resumable)")
    add_training_arguments(p)
    p.add_argument("--freeze-d-layers", type=int, default=0, metavar="K",
                   help="keep the first K weighted layers of the discriminator fixed")

    p = commands.add_parser("bench", help="score variants side by side: results.md, results.csv, samples.png")
    p.add_argument("names", nargs="*", help="models to score (default: all)")
    p.add_argument("--out", required=True, help="directory for the results")
    p.add_argument("-n", type=positive_int, default=10_000, help="generated images per model (default 10000)")
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument("--no-references", action="store_true", help="skip the real/blurred/noise rows")
    p.add_argument("--no-baseline", action="store_true", help="skip the classic Keras loop row")
    p.add_argument("--no-timing", action="store_true", help="skip the training-step timing")
    p.add_argument("--write-metadata", action="store_true", help="record the metrics in weights/NAME.json")

    p = commands.add_parser("walk", help="animated GIF of a walk through latent space")
    p.add_argument("name")
    p.add_argument("--out", required=True, help="FILE.gif")
    p.add_argument("--frames", type=positive_int, default=48)
    p.add_argument("--walkers", type=positive_int, default=16, help="parallel walks in each frame")
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument("--classes", type=parse_labels, help="conditional models: digits to go through, e.g. 38 (default 0-9)")

    p = commands.add_parser("evaluate", help="score one model (registered name or .keras file)")
    p.add_argument("model", help="NAME or FILE.keras")
    p.add_argument("-n", type=positive_int, default=10_000)
    p.add_argument("--seed", type=seed_int, default=0)
    p.add_argument("--temperature", type=positive_float, help="spread of the latents (default: the model's own)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ValueError, OSError) as error:  # bad input, missing or unwritable files
        message = " ".join(str(error).split())  # one line, whatever the message
        print(f"zoo: error: {message}", file=sys.stderr)
        return 2


def load_model_file(path):
    """A zoo GAN saved as a .keras file, or ValueError / FileNotFoundError saying why not."""
    import keras

    from zoo._base import GAN

    if not str(path).endswith(".keras"):
        raise ValueError(f"model file {str(path)!r} must be a .keras file (saved with model.save)")
    if not Path(path).is_file():
        raise FileNotFoundError(f"model file {str(path)!r} does not exist")
    try:
        model = keras.saving.load_model(path, safe_mode=True)
    except Exception as error:  # a damaged or foreign file fails in zipfile, h5py, json, keras...
        raise ValueError(f"cannot load {path}: {type(error).__name__}: {error}") from None
    if not isinstance(model, GAN):
        raise ValueError(f"{path} holds a {type(model).__name__}, not a zoo GAN")
    return model


def cmd_list(args):
    import zoo

    for name in zoo.list_models(args.pattern):
        print(name)
    return 0


def cmd_info(args):
    import zoo

    print(json.dumps(zoo.info(args.name), indent=2))
    return 0


def cmd_generate(args):
    import numpy as np

    import zoo
    from zoo.plotting import save_grid

    out = Path(args.out)
    if out.suffix not in (".png", ".npz"):
        raise ValueError(f"--out must end in .png or .npz, got {out.name!r}")
    zoo.info(args.name)  # unknown names fail here, before any loading
    if args.weights:
        model = load_model_file(args.weights)
    else:
        model = zoo.load(args.name, compile=False)
    if args.temperature is not None:
        model.temperature = args.temperature
    if model.conditional:
        if args.n is not None:
            raise ValueError(f"{args.name} is conditional: use --labels (e.g. --labels 0123456789), not -n")
        request = args.labels if args.labels is not None else list(range(10))
    else:
        if args.labels is not None:
            raise ValueError(f"{args.name} is unconditional: use -n COUNT, not --labels")
        request = args.n or 16
    out.parent.mkdir(parents=True, exist_ok=True)
    if hasattr(model, "save_progress_figure"):  # 2-D points (gan-toy2d): a scatter plot over D, or the points
        if out.suffix == ".png":
            model.save_progress_figure(out, seed=args.seed, title=args.name, n=request)
        else:
            np.savez_compressed(out, points=model.generate(request, seed=args.seed))
        print(f"wrote {request} points to {out}")
        return 0
    images = model.generate(request, seed=args.seed)
    if out.suffix == ".png":
        columns = min(len(images), 10) if model.conditional else None
        save_grid(images, out, columns=columns)
    else:
        labels = np.asarray(request if model.conditional else [], dtype="int32")
        np.savez_compressed(out, images=images, labels=labels)
    print(f"wrote {len(images)} images to {out}")
    return 0


def cmd_train(args):
    from zoo.training import TrainingDiverged, make_strategy, train

    finetune = args.command == "finetune"
    if finetune:
        import zoo

        zoo.info(args.name)  # unknown names fail before any loading
    # A multi-worker strategy must exist before TensorFlow runs any op.
    strategy = make_strategy(getattr(args, "strategy", "default"))
    try:
        train(
            args.name,
            epochs=args.epochs,
            data=args.data,
            out_dir=args.out,
            batch_size=args.batch_size,
            seed=args.seed,
            tensorboard=args.tensorboard,
            limit=args.limit,
            g_lr=args.g_lr,
            d_lr=args.d_lr,
            strategy=strategy,
            deterministic=getattr(args, "deterministic", False),
            finetune=finetune,
            freeze_discriminator_layers=getattr(args, "freeze_d_layers", 0),
            precision="mixed_bfloat16" if args.mixed_precision else None,
            jit_compile=args.jit_compile,
            lr_decay_from=args.lr_decay_from,
        )
    except TrainingDiverged as error:
        print(f"zoo: training diverged: {error}", file=sys.stderr)
        return 1
    print(f"done: {args.out}")
    return 0


def cmd_bench(args):
    import zoo
    from zoo.benchmark import benchmark, results_markdown

    for name in args.names:
        zoo.info(name)  # unknown names fail before any work
    rows = benchmark(
        args.names, args.out, n=args.n, seed=args.seed, references=not args.no_references,
        baseline=not args.no_baseline, timing=not args.no_timing,
    )
    print(results_markdown(rows, args.n))
    print(f"wrote {args.out}/results.md, results.csv, samples.png")
    if args.write_metadata:
        from zoo.benchmark import record_metrics

        record_metrics(rows, " ".join(["zoo bench", *args.names, f"-n {args.n} --seed {args.seed}"]))
    return 0


def cmd_evaluate(args):
    import zoo
    from zoo.metrics import evaluate

    if args.model.endswith(".keras"):
        model = load_model_file(args.model)
    else:
        model = zoo.load(args.model, compile=False)
    if args.temperature is not None:
        model.temperature = args.temperature
    print(json.dumps(evaluate(model, n=args.n, seed=args.seed), indent=2))
    return 0


def cmd_walk(args):
    import zoo

    out = Path(args.out)
    if out.suffix != ".gif":
        raise ValueError(f"--out must end in .gif, got {out.name!r}")
    model = zoo.load(args.name, compile=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    zoo.save_walk(model, out, frames=args.frames, walkers=args.walkers, seed=args.seed, classes=args.classes)
    print(f"wrote {args.frames} frames to {out}")
    return 0


COMMANDS = {
    "list": cmd_list,
    "info": cmd_info,
    "generate": cmd_generate,
    "train": cmd_train,
    "finetune": cmd_train,
    "bench": cmd_bench,
    "evaluate": cmd_evaluate,
    "walk": cmd_walk,
}

if __name__ == "__main__":
    sys.exit(main())
