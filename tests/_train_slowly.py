"""`zoo train` with artificial delays, so tests can SIGKILL it at a chosen moment.

usage: python tests/_train_slowly.py BATCH_DELAY SAVE_DELAY [zoo train arguments...]
Sleeps BATCH_DELAY seconds after every batch and SAVE_DELAY seconds after every
file member written into a .keras checkpoint (zip), then runs `zoo train`.
"""

import sys
import time
import zipfile

from zoo import cli, training

batch_delay, save_delay = float(sys.argv[1]), float(sys.argv[2])

original_batch_end = training.EpochArtifacts.on_train_batch_end
original_writestr = zipfile.ZipFile.writestr


def slow_batch_end(self, batch, logs=None):
    time.sleep(batch_delay)
    return original_batch_end(self, batch, logs)


def slow_writestr(self, *args, **kwargs):
    result = original_writestr(self, *args, **kwargs)
    time.sleep(save_delay)
    return result


training.EpochArtifacts.on_train_batch_end = slow_batch_end
zipfile.ZipFile.writestr = slow_writestr
sys.exit(cli.main(["train", *sys.argv[3:]]))
