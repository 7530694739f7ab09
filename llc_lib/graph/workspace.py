"""``Workspace.fit(spec)``: the one way a model of the run graph (``spec.Spec``) is made: loaded from its finished
checkpoint, resumed from an unfinished one, or trained after what it starts from.

Phases hand over explicit files, as the official code's ``--save-codebook`` / ``--load-codebook``: fitting
a Phase 1 spec writes ``<label>-<key>.codebook.npz`` beside its checkpoint, and Phase 2 reads its frozen
codes from that file (baseline codebooks are written under ``<runs>/codebooks/``).

What is on disk is verified, never trusted: a checkpoint carries the hash of its weights (``ckpt``), of its
training data (``data_sha256``) and of what it started from (``inputs``: the parent's weights, the codebook
file's content); a codebook file carries the hash of the weights it was made from. A codebook made from other
weights than its source's current checkpoint is rebuilt; a checkpoint whose data or inputs changed since it
was trained is refused with the file to delete.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..core.files import sweep_leftovers
from ..engine import warmstart as ws_init
from ..engine.ckpt import CheckpointError, load_checkpoint, state_digest
from ..engine.codebook_file import ensure_codebook, load_codebook
from ..engine.data import labels_of, num_classes_of
from ..engine.inference import outputs
from ..engine.models import CodeNet, build_model
from ..engine.train import train
from ..kernels.codebooks import binarize
from ..methods import method
from .selection import DataStore
from .spec import CodebookSpec, Spec


class Workspace:
    """Where runs live and what they share within one process: the checkpoint folder ``root``, the device,
    the datasets (``store``) and fitted models. ``fit(spec)`` is the only way a model is made.

    train: False = only load finished checkpoints (CheckpointError naming the missing one instead of
    training). workers: DataLoader processes for ImageFolder data. progress: show the training bar.
    data_root: the folder datasets are read from (default ``data.data_dir()``: $LLC_DATA_DIR or data/).
    """

    def __init__(
        self,
        root: Path | str,
        device: torch.device,
        *,
        train: bool = True,
        workers: int = 0,
        progress: bool = True,
        data_root: Path | str | None = None,
    ):
        self.root, self.device, self.train, self.workers, self.progress = Path(root), device, train, workers, progress
        self.store = DataStore(data_root)
        self._models: dict[str, CodeNet] = {}
        self._features: dict[str, np.ndarray] = {}
        self._history: dict[str, list[dict]] = {}
        self._weights: dict[str, str] = {}  # spec key -> state_digest of its fitted weights
        for folder in (self.root, self.root / "ckpt", self.root / "codebooks"):
            sweep_leftovers(folder)

    # ------------------------------------------------------------------------------------------ paths
    def ckpt_path(self, spec: Spec) -> Path:
        return self.root / "ckpt" / f"{spec.name}.pt"

    def codebook_path(self, book: CodebookSpec) -> Path:
        if book.method == "learnt":
            return self.ckpt_path(book.source).with_suffix(".codebook.npz")
        return self.root / "codebooks" / f"{book.method}-k{book.bits}-{book.key}.npz"

    def features(self, spec: Spec) -> np.ndarray:
        """(N, d) eval-mode backbone features of ``spec``'s model on its own training data (computed once)."""
        if spec.key not in self._features:
            self._features[spec.key] = outputs(
                self.fit(spec), self.store.get(spec.data), self.device, workers=self.workers
            )["features"]
        return self._features[spec.key]

    # ---------------------------------------------------------------------------------------- fitting
    def history(self, spec: Spec) -> list[dict]:
        """The per-epoch training history of ``spec``'s run (seconds, loss, accuracy), as in its checkpoint."""
        if spec.key not in self._history:
            self._history[spec.key] = load_checkpoint(self.ckpt_path(spec))["history"]
        return self._history[spec.key]

    def build(self, spec: Spec) -> CodeNet:
        """A fresh model for ``spec``, initialised under the spec's seed without touching the global RNG."""
        cfg, nc, m = spec.cfg, num_classes_of(self.store.get(spec.data)), method(spec.mode)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(spec.seed)
            model = build_model(
                m.head,
                nc,
                width=spec.arch.width,
                backbone=spec.arch.backbone,
                scaled=spec.arch.scaled,
                bits=cfg.bits if m.head != "hash" else None,
                aux=cfg.aux_weight > 0,
                widths=cfg.nested if m.head == "hash" else (),
                codebook_init=cfg.codebook_init,
            )
            if m.init_head is not None:
                m.init_head(model, cfg, nc)
        return model

    def fit(self, spec: Spec, *, resume: bool = True) -> CodeNet:
        """The trained model of ``spec``, on the workspace's device: loaded from its finished checkpoint,
        resumed from an unfinished one (``resume=False`` refuses that), or trained after fitting what it
        starts from. Phase 1 also writes its codebook file; Phase 2 trains against the codebook file it names
        and is refused if its frozen codes differ from that file."""
        if spec.key in self._models:
            return self._models[spec.key]
        path, cfg = self.ckpt_path(spec), spec.cfg
        if path.exists():  # verify against what it was trained from, which must be on disk: never train those
            for dep in spec.ancestors():
                self._require_finished(dep, path)
        model = self.build(spec)
        book = None if spec.codebook is None else self.codebook(spec.codebook)
        codes = None if book is None else book["codes"]
        inputs = self._inputs(spec, book)
        done, digest = False, None
        if path.exists():
            ck = load_checkpoint(path, model, mode=cfg.mode)
            if ck.get("key") != spec.key:
                raise CheckpointError(
                    f"{path} was written for another spec (key {ck.get('key')}, expected "
                    f"{spec.key}); move it away or use another run folder."
                )
            self._check_provenance(spec, path, ck, inputs)
            done = ck["epoch"] >= cfg.epochs
            digest = ck["weights_sha256"] if done else None  # verified on load: the loaded weights hash to it
            self._history[spec.key] = ck["history"]
            if not done and not resume:
                raise CheckpointError(
                    f"{path} holds an unfinished run (epoch {ck['epoch']} of {cfg.epochs}); pass "
                    f"--resume to continue it, or delete it / choose another --runs-dir"
                )
        if not done:
            if not self.train:
                raise CheckpointError(
                    f"no finished checkpoint for {spec.label or spec.mode} ({path}); train it "
                    f"first (`python -m llc_lib train` or `make reproduce`), evaluation never trains"
                )
            if not path.exists():
                self._initialise(model, spec)
            record = {
                "spec": spec.content(),
                "key": spec.key,
                "threads": torch.get_num_threads(),
                "data_sha256": self.store.digest(spec.data),
                "inputs": inputs,
            }
            self._history[spec.key] = train(
                model,
                self.store.get(spec.data),
                cfg,
                device=self.device,
                ckpt=path,
                codebook=codes,
                workers=self.workers,
                progress=self.progress,
                record=record,
            )
        if codes is not None and not np.array_equal(binarize(model.head.codebook), codes):
            raise CheckpointError(
                f"{path} was trained against another codebook than "
                f"{self.codebook_path(spec.codebook)}; move it away and train again."
            )
        model.to(self.device).eval()
        self._models[spec.key] = model
        self._weights[spec.key] = digest or state_digest(model.state_dict())
        if method(spec.mode).learns_codebook:
            self._write_codebook(CodebookSpec("learnt", cfg.bits, spec), model)
        return model

    def _require_finished(self, dep: Spec, child: Path) -> None:
        """CheckpointError unless ``dep`` (something ``child`` was trained from) has a finished checkpoint: a
        finished model is checked against the files it came from, and those are never trained to do so."""
        if dep.key in self._models:
            return
        dep_path = self.ckpt_path(dep)
        ck = load_checkpoint(dep_path) if dep_path.exists() else None
        if ck is None or ck["epoch"] < dep.cfg.epochs:
            raise CheckpointError(
                f"{child} was trained from {dep_path}, which is {'missing' if ck is None else 'unfinished'}; "
                f"restore it, or delete {child.name} to train both again."
            )

    def weights_digest(self, spec: Spec) -> str:
        """``ckpt.state_digest`` of ``spec``'s fitted weights (fitting or loading it first)."""
        self.fit(spec)
        return self._weights[spec.key]

    def _inputs(self, spec: Spec, book: dict | None) -> dict[str, str]:
        """What ``spec``'s weights start from, by hash: the parent's weights and the codebook file's content."""
        out = {}
        if spec.parent is not None:
            out["parent_sha256"] = self.weights_digest(spec.parent)
        if book is not None:
            out["codebook_sha256"] = book["content_sha256"]
        return out

    def _check_provenance(self, spec: Spec, path: Path, ck: dict, inputs: dict) -> None:
        """CheckpointError unless the checkpoint was trained on this spec's data and from its current inputs."""
        if ck.get("data_sha256") != self.store.digest(spec.data):
            raise CheckpointError(
                f"{path} was trained on other data than the {spec.data.dataset} images it gets "
                f"now from {self.store.root} (dataset hash differs); delete it to train on this "
                f"data, or point LLC_DATA_DIR / --data-dir at the data it was trained on."
            )
        changed = [k.removesuffix("_sha256") for k in inputs if ck.get("inputs", {}).get(k) != inputs[k]]
        if changed:
            what = {
                "parent": f"its parent model ({self.ckpt_path(spec.parent).name})",
                "codebook": f"its codebook file ({self.codebook_path(spec.codebook).name})",
            }
            raise CheckpointError(
                f"{path} was trained from another version of {' and '.join(what[c] for c in changed)}"
                f", which has been re-fitted since; delete {path} to train it again from the "
                f"current one."
            )

    def _initialise(self, model: CodeNet, spec: Spec) -> None:
        """Start ``model`` from what ``spec`` names (``warmstart.initialise``), fitting its parent first."""
        if spec.init == "scratch":
            return
        parent = self.fit(spec.parent)
        codes = features = labels = None
        if spec.init in ("cca", "codebook"):  # Phase 1 warm start "cca", or a baseline's Phase 2
            book = spec.codebook if spec.init == "codebook" else CodebookSpec("cca", spec.cfg.bits, spec.parent)
            codes = self.codebook(book)
            if book.method == "learnt":  # its projection belongs to the Phase-1 backbone, not to this one
                codes = {k: v for k, v in codes.items() if k != "proj"}
            features = self.features(spec.parent)
            labels = labels_of(self.store.get(spec.parent.data)).numpy()
        ws_init.initialise(model, spec.init, parent, codes, features, labels)

    # -------------------------------------------------------------------------------------- codebooks
    def _write_codebook(self, book: CodebookSpec, model: CodeNet) -> None:
        names = getattr(self.store.get(book.source.data), "class_names", ()) or ()
        reals = model.head.codebook.detach().cpu().numpy()
        ensure_codebook(
            self.codebook_path(book),
            lambda: {"reals": reals, "class_names": names},
            self._weights[book.source.key],
            same=lambda found: np.array_equal(found["reals"], reals),
            rebuild=self.train,
        )

    def codebook(self, book: CodebookSpec) -> dict:
        """{'codes' (C, bits) int8, 'reals', 'content_sha256' (the file's), and 'proj' when the method has one}
        of ``book``, read from its file (made first when missing or stale: by fitting the Phase 1 source, or by
        building the baseline codebook from its source model)."""
        if book.method == "learnt":
            self.fit(book.source)  # writes or checks the file
            out = load_codebook(self.codebook_path(book))
            return {k: (v[:, : book.bits] if k in ("codes", "reals") else v) for k, v in out.items()}
        source = "" if book.source is None else self.weights_digest(book.source)
        out = ensure_codebook(
            self.codebook_path(book), lambda: self._baseline(book), source, book_key=book.key, rebuild=self.train
        )
        if out["codes"].shape[1] != book.bits:
            raise CheckpointError(
                f"{self.codebook_path(book)} holds {out['codes'].shape[1]} bits, {book.bits} "
                f"expected; delete it and let it be made again"
            )
        return out

    def _baseline(self, book: CodebookSpec) -> dict:
        if book.source is None:  # random: needs no model
            return ws_init.baseline_codebook(book.method, None, None, None, book.num_classes, book.bits, book.seed)
        data = self.store.get(book.source.data)
        feats = self.features(book.source) if book.method == "cca" else None
        return ws_init.baseline_codebook(
            book.method,
            self.fit(book.source),
            feats,
            labels_of(data).numpy(),
            num_classes_of(data),
            book.bits,
            book.seed,
        )
