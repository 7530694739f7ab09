"""The warm-start row's control for its pretrained backbone. The warm starts of notebook 02 begin from the
real-valued model's trained backbone and an LLC head (SVD or CCA codebook and its projection) made from it; the
scratch run they beat begins from random weights. This trains the missing control, LLC Phase 1 at the table's k
for the warm starts' epochs from the same trained backbone with the LLC head at its default initialisation, as
in the scratch run (``plan.llc(init='real')``), scores it as notebook 02 scores the warm
starts (``studies.accuracy.phase1_scores``), and prints it beside
the committed rows of figures/02_accuracy_vs_bits.json. One seed (0). Needs the cpu weights installed
(``python -m llc_lib weights --profile cpu``); trains one model (the profile's ``warm_epochs``), or loads it.

Does a warm start's SVD / CCA head help beyond its backbone? By the one-seed rule of the measurements beside this
script (``cost_rule.costs``): the control costs against a warm start when its class-code accuracy falls by two
seed standard deviations or more, the sd being that of the main Phase 1 at the same k over the seed study
(figures/seeds.json).

    python docs/measurements/logs/warm_start_control.py OUT.json
"""
import json
import sys
from pathlib import Path

from llc_lib.graph import plan
from llc_lib.core.paths import REPO_ROOT
from llc_lib.core.files import write_json
from llc_lib.notebook import setup
from llc_lib.studies import run_record
from llc_lib.studies.accuracy import phase1_scores

from cost_rule import costs  # the script's folder

out = Path(sys.argv[1])
ctx = setup("cpu", 0, (), True, notebook="02_accuracy_vs_bits")
prof, seed = ctx.profile, 0
committed = json.loads((REPO_ROOT / "figures" / "02_accuracy_vs_bits.json").read_text())["warm_start"]
spec = plan.llc(prof, seed, bits=prof.table_bits, init="real", epochs=prof.warm_epochs)
control = {"checkpoint": spec.name, "epochs": prof.warm_epochs, "bits": prof.table_bits,
           **phase1_scores(ctx.fit(spec), ctx.test(seed), ctx.ws.device), "history": ctx.ws.history(spec),
           "training_seconds": round(sum(r["seconds"] for r in ctx.ws.history(spec)), 1)}
rows = [("SVD codebook, trained backbone", committed["svd"]["after_class_code_acc"], committed["svd"]["after_sign_mhd"]),
        ("CCA codebook, trained backbone", committed["cca"]["after_class_code_acc"], committed["cca"]["after_sign_mhd"]),
        ("default LLC head, trained backbone (control)", control["class_code_acc"], control["sign_mhd"]),
        ("scratch (random backbone and codebook)", committed["scratch"]["class_code_acc"], committed["scratch"]["sign_mhd"])]
print(f"LLC Phase 1, {prof.table_bits} bits, {prof.warm_epochs} epochs, seed {seed}, cpu profile (test images)\n")
print("| start | class-code accuracy (%) | MHD of sign(P(f)) (%) |")
print("|---|---:|---:|")
for name, acc, mhd in rows:
    print(f"| {name} | {100 * acc:.1f} | {100 * mhd:.1f} |")
print(f"\ncontrol: {spec.name}, {control['training_seconds']:.0f} s of training, {control['unique']} unique class codes")
sd = json.loads((REPO_ROOT / "figures" / "seeds.json").read_text())["numbers"][f"llc_class_code_acc@{prof.table_bits}"]["std"]
verdicts = {}
for name in ("svd", "cca"):
    change = control["class_code_acc"] - committed[name]["after_class_code_acc"]
    verdicts[name] = {"class_code_change": change, "seed_sd": sd, "control_costs": costs(change, sd)}
    print(f"control - {name.upper()} warm start: class-code accuracy {100 * change:+.2f} points, MHD "
          f"{100 * (control['sign_mhd'] - committed[name]['after_sign_mhd']):+.2f}; 2 seed sds = {200 * sd:.2f} points: "
          + ("the SVD / CCA head helps beyond the backbone" if verdicts[name]["control_costs"] else
             "the SVD / CCA head adds nothing beyond the backbone that one seed can tell"))
print(f"warm starts and control - scratch, MHD: SVD {100 * (committed['svd']['after_sign_mhd'] - committed['scratch']['sign_mhd']):+.1f}, "
      f"CCA {100 * (committed['cca']['after_sign_mhd'] - committed['scratch']['sign_mhd']):+.1f}, "
      f"control {100 * (control['sign_mhd'] - committed['scratch']['sign_mhd']):+.1f} points")
write_json({"what": "warm-start control: LLC Phase 1 from the trained real-valued backbone with a default-initialised LLC head",
            "command": f"python docs/measurements/logs/warm_start_control.py {out}", "control": control,
            "verdicts": verdicts,
            "committed_warm_start": committed, "run": run_record(prof, ctx.ws)}, out)
