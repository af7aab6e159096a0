"""`pip install .` (not editable) into a fresh virtualenv finds the pretrained weights."""

import subprocess
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_non_editable_install_finds_weights(tmp_path):
    env_dir = tmp_path / "venv"
    # Reuse this interpreter's TensorFlow and Keras; install only ganzoo itself.
    venv.EnvBuilder(system_site_packages=True, with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", str(ROOT)],
        check=True,
        timeout=300,
    )
    script = (
        "import zoo, sys\n"
        "assert 'site-packages' in zoo.__file__, zoo.__file__\n"
        "x = zoo.load('cgan-mnist').generate([3, 1, 4], seed=0)\n"
        "print(x.shape, zoo.info('cgan-mnist')['pretrained'])\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(
        [python, "-c", script], cwd=elsewhere, capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home())},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("(3, 28, 28, 1) True")
    cli = subprocess.run(
        [env_dir / "bin" / "zoo", "list"], cwd=elsewhere, capture_output=True, text=True, timeout=120
    )
    assert cli.returncode == 0 and "cgan-mnist" in cli.stdout
