"""One override grammar for the CLI, the notebooks and the recipe variants (``config.overrides.apply_sets``)."""

from __future__ import annotations

import pytest

from llc_lib.config.overrides import SCALED, apply_sets
from llc_lib.config.profiles import get_profile


def test_a_factor_is_relative_to_the_profile_and_recorded_as_the_number_it_gives():
    cpu = get_profile("cpu")
    p = apply_sets(cpu, ["instance.epochs=*2", "llc.lr=*0.5", "width=*2"])
    assert apply_sets(cpu, ["instance.epochs=*0.5"]).instance.epochs == cpu.instance.epochs // 2
    assert p.instance.epochs == 2 * cpu.instance.epochs
    assert p.llc.lr == 0.5 * cpu.llc.lr and p.width == 2 * cpu.width
    assert p.overrides == (
        f"instance.epochs={2 * cpu.instance.epochs}",
        f"llc.lr={0.5 * cpu.llc.lr}",
        f"width={2 * cpu.width}",
    )
    assert p.variant == apply_sets(cpu, list(p.overrides)).variant  # the same recipe, however it was written


@pytest.mark.parametrize(
    "item, message",
    [
        ("instance.epochs=*0.33", "is an integer"),
        ("llc.lr=*x", "must be a number"),
        ("llc_init=*2", "only a number can be scaled"),
        ("epochs=*2", "takes a number, not a factor"),
        ("epochs=0", "positive integer"),
        ("epochs=two", "positive integer"),
    ],
)
def test_bad_factors_and_whole_profile_values_are_refused_in_one_line(item, message):
    with pytest.raises(ValueError, match=message) as e:
        apply_sets(get_profile("cpu"), [item])
    assert "\n" not in str(e.value)


def test_whole_profile_keys_scale_every_run_as_the_command_line_flags_do():
    cpu = get_profile("cpu")
    p = apply_sets(cpu, ["epochs=2", "batch_size=128", "max_steps=3", "subset=5"])
    assert p.real.epochs == p.llc.epochs == 2
    assert p.instance.epochs == max(1, round(cpu.instance.epochs * 2 / cpu.llc.epochs))
    assert p.llc.lr == cpu.llc.lr * 128 / cpu.llc.batch_size and p.instance.micro_batch == min(64, 128)
    assert p.instance.max_steps_per_epoch == 3 and p.per_class == p.test_per_class == 5
    assert p.overrides == ("epochs=2", "batch_size=128", "max_steps=3", "subset=5")
    assert set(SCALED) == {"epochs", "batch_size", "max_steps", "subset"}


def test_the_cli_flags_are_the_same_overrides_as_set():
    from llc_lib.__main__ import get_args_parser, load_profile

    ap = get_args_parser()
    flags = load_profile(ap.parse_args(["train", "--profile", "smoke", "--epochs", "2", "--subset", "4"]))
    sets = load_profile(ap.parse_args(["train", "--profile", "smoke", "--set", "epochs=2", "--set", "subset=4"]))
    assert flags == sets and flags.overrides == ("epochs=2", "subset=4")
