"""The fused nested Phase-1 loss equals the per-prefix definition, value and gradients."""

import pytest
import torch

from llc_lib.config.recipe import TrainConfig
from llc_lib.engine.models import build_model
from llc_lib.methods import llc


def _pair(nested, aux_weight, scaled):
    cfg = TrainConfig(mode="llc", bits=16, nested=nested, aux_weight=aux_weight)
    torch.manual_seed(0)
    model = build_model("llc", 10, width=4, bits=16, aux=aux_weight > 0, scaled=scaled).double()
    f = torch.randn(12, model.head.proj.in_features, dtype=torch.float64)
    y = torch.randint(0, 10, (12,))
    out = []
    for loss_fn in (llc.phase1_loss, llc.phase1_loss_per_prefix):
        model.zero_grad()
        loss, logits = loss_fn(model, f, y, cfg)
        loss.backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
        out.append((loss.detach(), logits.detach(), grads))
    return out


@pytest.mark.parametrize("nested", [(), (3, 7, 16), (2, 5, 9)])
@pytest.mark.parametrize("aux_weight", [0.0, 0.7])
@pytest.mark.parametrize("scaled", [True, False])
def test_fused_nested_loss_equals_per_prefix_loss(nested, aux_weight, scaled):
    (l1, z1, g1), (l2, z2, g2) = _pair(nested, aux_weight, scaled)
    assert torch.allclose(l1, l2, rtol=1e-12, atol=1e-12)
    assert torch.allclose(z1, z2, rtol=1e-12, atol=1e-12)
    assert set(g1) == set(g2) and {"head.proj.weight", "head.codebook"} <= set(g1)
    for name in g1:
        assert torch.allclose(g1[name], g2[name], rtol=1e-10, atol=1e-12), name


def test_prefix_logits_rows_are_the_prefix_logits():
    torch.manual_seed(1)
    head = build_model("llc", 7, width=4, bits=12).head
    z, codes = torch.randn(5, 12), head.codes()
    stacked = head.prefix_logits(z, codes, (1, 4, 12))
    for i, p in enumerate((1, 4, 12)):
        assert torch.allclose(stacked[i], head.logits(z, codes, p), atol=1e-6)


def test_nested_real_bottleneck_loss_is_the_mean_of_the_prefix_losses():
    """The real-valued analogue: CE of the classifier restricted to the first p bottleneck dims, averaged."""
    import torch.nn.functional as F

    from llc_lib.methods import real

    torch.manual_seed(2)
    model = build_model("real", 10, width=4, bits=16).double()
    f = torch.randn(12, model.head.bottleneck.in_features, dtype=torch.float64)
    y = torch.randint(0, 10, (12,))
    cfg = TrainConfig(mode="real", bits=16, nested=(3, 7, 16))
    loss, logits = real.loss(model, f, y, cfg)
    e, w, b = model.head.embed(f), model.head.fc.weight, model.head.fc.bias
    ref = [F.cross_entropy(e[:, :p] @ w[:, :p].t() + b, y, label_smoothing=cfg.label_smoothing) for p in (3, 7, 16)]
    assert torch.allclose(loss, torch.stack(ref).mean(), rtol=1e-12)
    assert torch.allclose(logits, model.head(f), rtol=1e-12)
    with pytest.raises(ValueError, match="needs bits"):
        TrainConfig(mode="real", nested=(3,))


def test_phase2_bce_scale_multiplies_the_bce_over_the_chosen_bits():
    import torch.nn.functional as F

    torch.manual_seed(2)
    model = build_model("llc", 10, width=4, bits=16).double()
    f = torch.randn(8, model.head.proj.in_features, dtype=torch.float64)
    y = torch.randint(0, 10, (8,))
    z, codes = model.head.project(f), model.head.codes()
    for bce_bits in (None, 5):
        m = bce_bits or 16
        want = F.binary_cross_entropy_with_logits(z[:, :m], (codes[y, :m] + 1) / 2)
        for scale in (1.0, 3.2):
            cfg = TrainConfig(mode="instance", bits=16, bce_bits=bce_bits, bce_scale=scale)
            got = llc.phase2_loss(model, f, y, cfg)[0].detach()
            assert float(got) == pytest.approx(scale * float(want.detach()), rel=1e-12)
    with pytest.raises(ValueError, match="bce_scale"):
        TrainConfig(mode="instance", bits=16, bce_scale=0.0)


def test_codebook_comparisons_train_with_the_comparison_recipe_and_the_headline_with_its_own():
    from dataclasses import replace

    from llc_lib.config.overrides import apply_sets
    from llc_lib.config.profiles import get_profile
    from llc_lib.graph import plan

    smoke = get_profile("smoke")
    comp = smoke.instance.replace(epochs=2, lr=0.03, micro_batch=None)
    p = replace(smoke, instance=smoke.instance.replace(epochs=6), comparison=comp)
    assert plan.headline(p, 0)[2].cfg.epochs == 6 and plan.ood(p, 0)[2].cfg.epochs == 6
    assert plan.headline(p, 0)[2].cfg.lr == smoke.instance.lr
    runs = [plan.baseline_instance(p, m, 0).cfg for m in ("random", "svd", "cca", "llc")] + [
        plan.fast_codebook(p, 0).cfg
    ]
    assert {(c.epochs, c.lr, c.micro_batch) for c in runs} == {(2, 0.03, None)}  # every codebook alike
    assert {c.bce_scale for c in runs[:4]} == {comp.bce_scale}  # the main code's length: the recipe's BCE scale
    assert plan.baseline_instance(replace(p, comparison=None), "svd", 0).cfg.epochs == 6  # None: Phase 2's recipe
    assert apply_sets(p, ["epochs=4"]).comparison.epochs == 4  # 2 of the profile's 2 Phase-1 epochs -> 4 of 4
    set_ = apply_sets(p, ["comparison.lr=0.07"])
    assert (
        plan.baseline_instance(set_, "cca", 0).cfg.lr == 0.07 and plan.headline(set_, 0)[2].cfg.lr == smoke.instance.lr
    )
    cpu = get_profile("cpu")  # the comparisons keep the baselines' Phase 2, the headline has its own
    assert plan.baseline_instance(cpu, "llc", 0).cfg.lr != cpu.instance.lr
    assert plan.baseline_instance(cpu, "llc", 0).cfg.lr == plan.hashing(cpu, "hashnet", 0).cfg.lr


def test_the_ood_models_train_for_the_ood_epochs_and_the_others_for_their_own():
    from dataclasses import replace

    from llc_lib.config.overrides import apply_sets
    from llc_lib.config.profiles import get_profile
    from llc_lib.graph import plan

    base = get_profile("smoke")
    p = replace(
        base,
        real=base.real.replace(epochs=6),
        llc=base.llc.replace(epochs=6),
        instance=base.instance.replace(epochs=3),
        ood_epochs=4,
    )
    assert [s.cfg.epochs for s in plan.ood(p, 0)] == [4, 4, 2]  # Phase 2 keeps its half of Phase 1's epochs
    assert [s.cfg.epochs for s in plan.headline(p, 0)] == [6, 6, 3]
    assert [s.cfg.epochs for s in plan.ood(replace(p, ood_epochs=None), 0)] == [6, 6, 3]
    assert apply_sets(p, ["epochs=12"]).ood_epochs == 8  # 4 of the profile's 6 Phase-1 epochs -> 8 of 12
    assert get_profile("cpu").ood_epochs == 8 and get_profile("smoke").ood_epochs is None


def test_the_bce_scale_belongs_to_the_main_code_length():
    from llc_lib.config.profiles import get_profile
    from llc_lib.graph import plan

    p = get_profile("cpu")
    assert plan.headline(p, 0)[2].cfg.bce_scale == p.instance.bce_scale > 1
    assert plan.baseline_instance(p, "svd", 0).cfg.bce_scale == p.instance.bce_scale
    # 14-bit codes read at every bit (OOD, the fast codebook) take the plain mean
    assert {plan.ood(p, 0)[2].cfg.bce_scale, plan.fast_codebook(p, 0).cfg.bce_scale} == {1.0}
    # the fast codebook is compared with the codebook comparison's own LLC run (no model of its own)
    assert plan.fast_codebook_reference(p, 0) == plan.baseline_instance(p, "llc", 0)
