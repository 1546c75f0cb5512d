"""The model layer: catalogue, store, pull, estimates, the model pool and job functions.

This package imports no torch at import time, so the shell starts fast; the
modules that run models (`loader`, `generate`, `embed`, `finetune`, `evaluate`,
`convert`, `runtime`) import it themselves and are reached through `jobs`.
"""

import os

# torch's OpenMP workers spin while they wait for work. When the cores are shared
# (two jobs at once, or other processes) the spinning threads steal the cores the
# working ones need: on two busy cores a training step went from 0.8 s to 4-11 s.
# Passive waiting must be chosen before torch loads its OpenMP runtime, and every
# model module is imported through this package, so it is set here.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from llmsh.models.catalogue import CatalogueEntry, load_catalogue
from llmsh.models.errors import ModelError
from llmsh.models.manifest import Manifest, ModelFormat, ModelKind
from llmsh.models.store import ModelStore

__all__ = [
    "CatalogueEntry",
    "Manifest",
    "ModelError",
    "ModelFormat",
    "ModelKind",
    "ModelStore",
    "load_catalogue",
]
