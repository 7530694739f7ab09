import hashlib

import numpy as np
import pytest
import torch

from llc_lib.config.recipe import TrainConfig
from llc_lib.engine.ckpt import CheckpointError, load_checkpoint
from llc_lib.engine.models import build_model
from llc_lib.engine.train import TrainingDiverged, train
from llc_lib.kernels import codebooks as cb

CPU = torch.device("cpu")
LLC = TrainConfig(mode="llc", bits=6, nested=(3, 6), epochs=2, batch_size=16, lr=0.05)


def _llc(seed=0, bits=6, classes=5):
    torch.manual_seed(seed)
    return build_model("llc", classes, width=4, bits=bits)


def _digest(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_same_seed_same_codebook_and_weights(tiny):
    a, b = _llc(), _llc()
    train(a, tiny, LLC, device=CPU, progress=False)
    train(b, tiny, LLC, device=CPU, progress=False)
    assert np.array_equal(cb.binarize(a.head.codebook), cb.binarize(b.head.codebook))
    for (n, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p, q), n
    c = _llc(seed=1)
    train(c, tiny, LLC.replace(seed=1), device=CPU, progress=False)
    assert not torch.equal(a.head.codebook, c.head.codebook)


def test_resume_after_kill_equals_uninterrupted_run(tiny, tmp_path):
    full = _llc()
    train(full, tiny, LLC, device=CPU, ckpt=tmp_path / "full.pt", progress=False)
    killed = _llc()
    # 40 images / batch 16 = 3 steps per epoch: stop in the middle of epoch 2
    train(killed, tiny, LLC, device=CPU, ckpt=tmp_path / "k.pt", progress=False, stop_after_steps=4)
    assert load_checkpoint(tmp_path / "k.pt")["epoch"] == 1
    resumed = _llc(seed=123)  # a fresh process: different init, everything comes from the checkpoint
    train(resumed, tiny, LLC, device=CPU, ckpt=tmp_path / "k.pt", progress=False)
    for (n, p), q in zip(full.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(p, q), n
    assert load_checkpoint(tmp_path / "k.pt")["epoch"] == 2


@pytest.mark.parametrize(
    "bits,classes,match", [(7, 5, "bits: checkpoint 6 vs model 7"), (6, 9, "num_classes: checkpoint 5 vs model 9")]
)
def test_mismatched_checkpoint_is_refused_and_kept(tiny, tmp_path, bits, classes, match):
    p = tmp_path / "m.pt"
    train(_llc(), tiny, LLC.replace(epochs=1), device=CPU, ckpt=p, progress=False)
    before = _digest(p)
    with pytest.raises(CheckpointError, match=match):
        load_checkpoint(p, _llc(bits=bits, classes=classes))
    with pytest.raises(CheckpointError, match="does not match"):
        train(
            _llc(bits=bits, classes=classes),
            tiny,
            LLC.replace(bits=bits, nested=(), epochs=1),
            device=CPU,
            ckpt=p,
            progress=False,
        )
    assert _digest(p) == before


def test_changed_settings_on_existing_checkpoint_are_refused(tiny, tmp_path):
    p = tmp_path / "m.pt"
    train(_llc(), tiny, LLC.replace(epochs=1), device=CPU, ckpt=p, progress=False)
    before = _digest(p)
    with pytest.raises(CheckpointError, match="other settings"):
        train(_llc(), tiny, LLC.replace(epochs=1, lr=0.1), device=CPU, ckpt=p, progress=False)
    assert _digest(p) == before


def test_diverged_run_stops_and_keeps_the_last_good_checkpoint(tiny, tmp_path):
    p = tmp_path / "m.pt"
    cfg = LLC.replace(epochs=3, lr=1e12)
    with pytest.raises(TrainingDiverged, match="lower lr"):
        train(_llc(), tiny, cfg, device=CPU, ckpt=p, progress=False)
    if p.exists():  # epochs before the divergence may be saved, never a non-finite one
        ck = load_checkpoint(p)
        assert ck["epoch"] < 3 and all(np.isfinite(r["loss"]) for r in ck["history"])
        assert all(torch.isfinite(v).all() for v in ck["model"].values() if v.is_floating_point())


def test_corrupt_checkpoint(tmp_path):
    p = tmp_path / "bad.pt"
    p.write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="could not be read"):
        load_checkpoint(p, _llc())
    assert p.read_bytes() == b"garbage"


def test_phase2_needs_codebook_and_keeps_it_frozen(tiny):
    model = _llc()
    inst = TrainConfig(mode="instance", bits=6, epochs=1, batch_size=16, lr=0.05)
    with pytest.raises(ValueError, match="needs the Phase-1 codebook"):
        train(model, tiny, inst, device=CPU, progress=False)
    codes = cb.random_codebook(5, 6, seed=0)
    train(model, tiny, inst, device=CPU, progress=False, codebook=codes)
    assert np.array_equal(cb.binarize(model.head.codebook), codes)
    assert not model.head.codebook.requires_grad


def test_mode_and_model_must_agree(tiny):
    torch.manual_seed(0)
    real = build_model("real", 5, width=4)
    with pytest.raises(ValueError, match="LLC model"):
        train(real, tiny, LLC, device=CPU, progress=False)
    with pytest.raises(ValueError, match="6 bits"):
        train(_llc(), tiny, LLC.replace(bits=8, nested=()), device=CPU, progress=False)


def test_real_training_learns_something(tiny):
    """On a separable toy problem (class = brightness) the real model must beat chance clearly."""
    from llc_lib.engine.train import evaluate

    imgs = (tiny.labels[:, None, None, None] * 50 + torch.randint(0, 20, (40, 32, 32, 3))).to(torch.uint8)
    ds = type(tiny)(imgs, tiny.labels, tiny.class_names)
    torch.manual_seed(0)
    model = build_model("real", 5, width=4)
    train(model, ds, TrainConfig(mode="real", epochs=15, batch_size=8, lr=0.05), device=CPU, progress=False)
    assert evaluate(model, ds, CPU) >= 0.6


def test_a_non_finite_buffer_stops_training(tiny, tmp_path):
    """BatchNorm's running_var can overflow while the parameters and the (batch-statistics) loss stay finite."""
    model = _llc()
    bn = next(m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    bn.running_var.fill_(float("inf"))
    with pytest.raises(TrainingDiverged, match="running_var"):
        train(model, tiny, LLC.replace(epochs=1), device=CPU, ckpt=tmp_path / "m.pt", progress=False)
    assert not (tmp_path / "m.pt").exists()


def _trained(tiny, path):
    train(_llc(), tiny, LLC.replace(epochs=1), device=CPU, ckpt=path, progress=False)
    return torch.load(path, weights_only=True)


def test_a_checkpoint_with_nan_weights_is_refused_at_load(tiny, tmp_path):
    from llc_lib.engine.ckpt import state_digest

    ck = _trained(tiny, tmp_path / "m.pt")
    name = next(k for k, v in ck["model"].items() if v.is_floating_point() and v.ndim > 1)
    ck["model"][name][0] = float("nan")
    ck["weights_sha256"] = state_digest(ck["model"])  # hashed after the damage: only the finiteness check helps
    torch.save(ck, tmp_path / "m.pt")
    with pytest.raises(CheckpointError, match="NaN or infinite"):
        load_checkpoint(tmp_path / "m.pt", _llc())


def test_bytes_flipped_inside_a_weight_tensor_are_detected(tiny, tmp_path):
    ck = _trained(tiny, tmp_path / "m.pt")
    # a linear layer's weight: its bytes in the file are its row-major bytes (convolutions train in channels_last)
    weight = next(v for v in ck["model"].values() if v.is_floating_point() and v.numel() >= 64 and v.ndim == 2)
    raw = bytearray((tmp_path / "m.pt").read_bytes())
    at = bytes(raw).find(weight.contiguous().view(torch.uint8).numpy().tobytes()[:64])
    assert at > 0
    raw[at : at + 16] = bytes(b ^ 0x5A for b in raw[at : at + 16])
    (tmp_path / "m.pt").write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="corrupt"):
        load_checkpoint(tmp_path / "m.pt", _llc())


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):  # unpickling this calls open(marker, "w"): any code could stand here
        return (open, (str(self.marker), "w"))


def test_loading_a_checkpoint_never_runs_code_from_the_file(tmp_path):
    from llc_lib.engine.official import import_official

    marker, path = tmp_path / "ran", tmp_path / "evil.pt"
    torch.save({"model": {}, "payload": _RunsCode(marker), "state_dict": {}}, path)
    for load in (load_checkpoint, lambda p: import_official(p, backbone="resnet18")):
        with pytest.raises(CheckpointError, match="could not be read safely"):
            load(path)
    assert not marker.exists()


def test_resuming_on_other_data_is_refused(tiny, tmp_path):
    from conftest import synthetic_dataset

    p = tmp_path / "m.pt"
    train(_llc(), tiny, LLC, device=CPU, ckpt=p, progress=False, stop_after_steps=4)  # 3 steps an epoch
    assert load_checkpoint(p)["epoch"] == 1 and load_checkpoint(p)["data_sha256"]
    with pytest.raises(CheckpointError, match="trained on other data"):
        train(_llc(), synthetic_dataset(seed=5), LLC, device=CPU, ckpt=p, progress=False)


def test_resuming_with_another_thread_count_is_refused(tiny, tmp_path):
    p = tmp_path / "m.pt"
    other = torch.get_num_threads() + 1
    train(_llc(), tiny, LLC, device=CPU, ckpt=p, progress=False, stop_after_steps=4, record={"threads": other})
    with pytest.raises(CheckpointError, match=f"OMP_NUM_THREADS={other}"):
        train(_llc(), tiny, LLC, device=CPU, ckpt=p, progress=False)
    assert load_checkpoint(p)["epoch"] == 1  # kept as it was


def test_an_unfinished_run_resumes_after_a_new_knob_at_its_default(tiny, tmp_path):
    """A field added to TrainConfig later keeps the checkpoint's key (graph.canonical) and its resume; set to
    another value it is a changed recipe and refused."""
    import dataclasses

    from llc_lib.config.recipe import TrainConfig

    @dataclasses.dataclass(frozen=True)
    class WithKnob(TrainConfig):
        new_knob: float = 0.0

    p = tmp_path / "m.pt"
    train(_llc(), tiny, LLC, device=CPU, ckpt=p, progress=False, stop_after_steps=4)  # killed in epoch 2
    with pytest.raises(CheckpointError, match=r"other settings \(\['new_knob'\]\)"):
        train(_llc(), tiny, WithKnob(**dataclasses.asdict(LLC), new_knob=0.5), device=CPU, ckpt=p, progress=False)
    train(_llc(), tiny, WithKnob(**dataclasses.asdict(LLC)), device=CPU, ckpt=p, progress=False)
    assert load_checkpoint(p)["epoch"] == LLC.epochs


def test_eval_outputs_do_not_depend_on_the_batch_size(tiny):
    from llc_lib.engine.device import eval_batch_size
    from llc_lib.engine.inference import outputs

    from conftest import synthetic_dataset

    model = _llc()
    train(model, tiny, LLC, device=CPU, progress=False)
    data = synthetic_dataset(n_per_class=60)
    assert len(data) > 2 * eval_batch_size(CPU) > 2  # several batches of the default size
    default, whole = outputs(model, data, CPU), outputs(model, data, CPU, batch_size=len(data))
    assert default.keys() == whole.keys()
    for k in default:
        assert np.array_equal(default[k], whole[k]), k
    # only the outputs asked for, the same numbers
    assert np.array_equal(outputs(model, data, CPU, only=("proj",))["proj"], default["proj"])
    assert list(outputs(model, data, CPU, only=("proj",))) == ["proj"]
    with pytest.raises(ValueError, match="not"):
        outputs(model, data, CPU, only=("embed",))


def test_micro_batches_give_the_batch_gradient_and_ghost_batchnorm(tiny):
    """With BatchNorm on running statistics (eval mode) a step in micro-batches is the one-pass step (same
    mean loss, logits and update); in train mode BatchNorm normalises each micro-batch on its own, so they
    differ."""
    from contextlib import nullcontext

    from llc_lib.engine.train import Objective, train_step

    x = tiny.images[:16].permute(0, 3, 1, 2).float() / 255
    y = tiny.labels[:16]

    def step(micro, train_mode):
        model = _llc()
        objective = Objective(model, LLC)
        model.train(train_mode)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
        loss, logits = train_step(objective, opt, sched, x, y, nullcontext(), micro)
        return float(loss.detach()), logits, torch.cat([p.detach().flatten() for p in model.parameters()])

    whole, split = step(None, False), step(5, False)  # 5 + 5 + 5 + 1 images
    assert split[0] == pytest.approx(whole[0], rel=1e-5)
    assert torch.allclose(split[1], whole[1], atol=1e-5)
    assert torch.allclose(split[2], whole[2], atol=1e-6)
    assert not torch.allclose(step(5, True)[2], step(None, True)[2], atol=1e-6)


def test_micro_batch_settings_are_checked():
    from llc_lib.config import overrides, profiles
    from llc_lib.graph import plan
    from llc_lib.methods import hashnet

    with pytest.raises(ValueError, match="micro_batch must lie in"):
        LLC.replace(micro_batch=LLC.batch_size + 1)
    with pytest.raises(ValueError, match="pairs of a batch"):
        TrainConfig(mode="hashnet", bits=8, nested=(8,), micro_batch=4)
    p = overrides.apply_sets(profiles.get_profile("cpu"), ["instance.micro_batch=64"])
    assert p.instance.micro_batch == 64 and hashnet.recipe(p.instance).micro_batch is None  # whole batches
    assert plan.hashing(p, "csq", 0).cfg.micro_batch is None
    assert overrides.apply_sets(p, ["batch_size=32"]).instance.micro_batch == 32  # never above the batch


def test_cpu_bf16_trains_under_bf16_autocast_and_keeps_float32_weights(tiny):
    def conv_dtypes(model):
        seen = set()
        conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
        conv.register_forward_hook(lambda mod, args, out: seen.add(out.dtype))
        return seen

    fp32, bf16 = _llc(), _llc()
    seen32, seen16 = conv_dtypes(fp32), conv_dtypes(bf16)
    train(fp32, tiny, LLC.replace(epochs=1), device=CPU, progress=False)
    train(bf16, tiny, LLC.replace(epochs=1, cpu_bf16=True), device=CPU, progress=False)
    assert seen32 == {torch.float32} and seen16 == {torch.bfloat16}
    assert all(p.dtype == torch.float32 for p in bf16.parameters())
    assert not torch.equal(fp32.head.proj.weight, bf16.head.proj.weight)
