"""Leaderboard tables and pages from hand-made result records: numbers, CIs, best marks, pages."""

import numpy as np
import pytest
from scipy import stats

from cellbench.leaderboard.audit import leak_audit
from cellbench.leaderboard.intervals import ci95
from cellbench.leaderboard.tables import collect, fmt_mean_ci, markdown_table, summarize
from cellbench.leaderboard.pages import hsc_page, sim2real_page, synthetic_page
from cellbench.leaderboard.synthetic import options_of
from tests.helpers import random_walk_tracks


def _record(model, dataset, seed, rmse, r2, frac=1.0, split="time", refs=None):
    test = {"rmse_dx_um": rmse, "rmse_dy_um": rmse, "rmse_abs_d_um": rmse, "mae_abs_d_um": rmse / 2, "r2": r2, "n_targets": 100}
    return {
        "key": f"{model}-{dataset}-{seed}-{frac}",
        "status": "done",
        "label": model,
        "spec": {"model": model, "dataset": [dataset], "seed": seed, "train_fraction": frac, "split": split, "model_options": {}},
        "metrics": {"dataset": dataset, "split": split, "test": test, "references": refs or {}},
        "data_sha256": "ab" * 32,
        "code_version": "test",
        "finished_at": "2026-01-01T00:00:00",
    }


def test_ci_is_students_t_and_best_is_bold_but_never_the_oracle():
    recs = []
    for seed, (a, b) in enumerate([(1.0, 2.0), (1.2, 2.2), (1.1, 2.1)]):
        recs += [_record("physattn", "sim:x", seed, a, 0.5), _record("zero", "sim:x", seed, b, 0.0)]
        recs.append(_record("oracle", "sim:x", seed, 0.5, 0.9))
    summary = summarize(collect(recs))
    mean, ci, n = ci95(np.array([1.0, 1.2, 1.1]))
    assert n == 3 and mean == pytest.approx(1.1)
    assert ci == pytest.approx(stats.t.ppf(0.975, 2) * np.std([1.0, 1.2, 1.1], ddof=1) / np.sqrt(3))
    md = markdown_table(summary, "sim:x")
    physattn_row = next(l for l in md.splitlines() if l.startswith("| physattn"))
    oracle_row = next(l for l in md.splitlines() if l.startswith("| oracle"))
    assert "**1.10 ± 0.25**" in physattn_row and "**" not in oracle_row


@pytest.mark.parametrize("mean, ci, text", [
    (0.84751, 0.00123, "0.8475 ± 0.0012"), (17.349, 1.52, "17.3 ± 1.5"), (0.00029881, 5.1e-05, "0.000299 ± 0.000051"),
    (1234.5, 150.0, "1234 ± 150"), (0.5, 0.0, "0.5 ± 0"), (0.5, float("nan"), "0.5"), (float("nan"), 0.1, "-"),
    (-0.0071, 0.0031, "-0.0071 ± 0.0031"),
])
def test_mean_and_ci_share_their_last_decimal(mean, ci, text):
    assert fmt_mean_ci(mean, ci) == text


def test_embedded_references_are_used_once_when_the_sweep_did_not_run_them():
    refs = {"zero": {"rmse_dx_um": 3.0, "r2": 0.0}}
    recs = [_record("ar", "d", 0, 1.0, 0.1, refs=refs), _record("physattn", "d", 0, 1.0, 0.1, refs=refs)]
    df = collect(recs)
    assert (df.label == "zero").sum() == 1


def test_newest_record_per_spec_wins():
    old = _record("ar", "d", 0, 9.0, 0.1)
    new = {**_record("ar", "d", 0, 1.0, 0.1), "key": "other", "finished_at": "2026-02-01T00:00:00"}
    df = collect([old, new])
    assert list(df[df.label == "ar"].rmse_dx_um) == [1.0]


def test_pages_have_sample_efficiency_paper_and_audit():
    recs = [_record(m, "sim:default:seed0", s, r, 0.3, frac=f) for m, r in (("ar", 1.0), ("physattn", 0.8)) for s in (0, 1) for f in (0.25, 1.0)]
    page = synthetic_page(recs)
    assert "Sample efficiency" in page and "25% of train" in page
    hsc = [_record("ar", "BF-C2DL-HSC_02", s, 2.0, 0.004) for s in (0, 1)]
    t = random_walk_tracks(n_tracks=10, n_frames=80)
    page = hsc_page(hsc, [("walk", leak_audit(t, (5,)), {"lag1_corr_dx": 0.01, "std_dx_um": 1.0})])
    assert "paper, test (as reported)" in page and "0.638" in page
    assert "best test R^2 in the tables above is 0.004 (ar on BF-C2DL-HSC_02)" in page
    assert "Leakage audit" in page and "displacement-to-next-spot" in page


def _s2r(model, train_on, seed, r2):
    rec = _record(model, "BF-C2DL-HSC_02", seed, 1.0 - r2, r2, refs={"zero": {"r2": -0.001, "rmse_um": 1.0}})
    rec["metrics"]["test"]["rmse_um"] = 1.0 - r2
    rec["metrics"]["test"]["skill_vs_zero"] = r2
    if train_on != "real":
        rec["spec"].update(train_on=train_on, sim_source="like")
        rec["label"] = f"{model} ({train_on})"
        rec["key"] += train_on
    return rec


def test_sim2real_reading_follows_the_confidence_intervals():
    recs = []
    for seed, eps in enumerate((0.0, 0.001, -0.001)):
        recs += [_s2r("gat", "real", seed, 0.01 + eps), _s2r("gat", "sim+real", seed, 0.03 + eps),  # clearly better
                 _s2r("lstm", "real", seed, 0.01 + eps), _s2r("lstm", "sim+real", seed, -0.02 + eps),  # clearly worse
                 _s2r("physattn", "real", seed, 0.01 + eps), _s2r("physattn", "sim+real", seed, 0.01 - eps),  # same
                 _s2r("physattn", "sim", seed, -0.05 + eps)]
    page = sim2real_page(recs)
    assert "helps gat (fitted sim + real: 0.0300" in page and "hurts lstm (fitted sim + real: -0.0200" in page
    assert "no difference the CIs can resolve for physattn (fitted sim + real" in page
    assert "measurably helps 1 of 3 models on BF-C2DL-HSC_02 and hurts 1." in page
    assert "physattn (fitted sim) falls below it" in page  # sim-only below the zero predictor
    assert "| gat | fitted sim + real | 3 | **0.0300 ± 0.0025** |" in page
    hsc = hsc_page(recs)
    assert "(sim" not in hsc.split("## The paper")[0].replace("(sim-to-real.md)", "")


def test_ablation_rows_are_named_by_what_the_prior_does_and_read_against_neither():
    recs = []
    for seed, eps in enumerate((0.0, 0.001, -0.001)):
        for label, r2 in (("physattn", 0.40), ("physattn[prior_bias=True,train.eta_max=0]", 0.41),
                          ("physattn[prior_bias=False,train.eta_max=0.1]", 0.45),
                          ("transformer", 0.45),
                          ("physattn[prior_bias=False,prior_transform=abs]", 0.46),
                          ("physattn[gamma=0.1]", 0.45)):
            rec = _record(options_of(label)[0], "sim:default:seed0", seed, 1 - r2, r2 + eps)
            rec["label"], rec["key"] = label, rec["key"] + label
            rec["spec"]["model_options"] = options_of(label)[1]
            recs.append(rec)
    page = synthetic_page(recs)
    ablation = page.split("### physattn ablation")[1].split("data sha256")[0]
    rows = [l for l in ablation.splitlines() if l.startswith("| ") and not l.startswith("| variant")]
    assert [r.split(" | ")[0] for r in rows] == ["| KL only, abs(c) prior", "| KL only, signed C~", "| bias only, signed C~",
                                                 "| both: bias + KL (the paper), signed C~",
                                                 "| both: bias + KL (the paper), signed C~, gamma 0.1",
                                                 "| neither (TransformerConv + LSTM)"]
    assert "worse: 'bias only, signed C~', 'both: bias + KL (the paper), signed C~'" in ablation
    assert "better: 'KL only, abs(c) prior'" in ablation and "no resolvable difference: 'KL only, signed C~'" in ablation


def test_readme_paragraph_is_written_from_the_results(tmp_path):
    from cellbench.errors import ConfigError
    from cellbench.leaderboard.readme import END, START, splice, what_they_say, write_readme

    recs = []
    for seed, eps in enumerate((0.0, 0.002, -0.002)):
        recs += [_record("physattn", "sim:default:seed0", seed, 0.8, 0.41 + eps),
                 _record("transformer", "sim:default:seed0", seed, 0.79, 0.44 + eps),
                 _record("ar", "BF-C2DL-HSC_02", seed, 2.0, 0.004), _record("lstm", "BF-C2DL-HSC_02", seed, 2.0, 0.011 + eps)]
    text = what_they_say(recs)
    assert "the c(r) prior hurts on default (-0.0300" in text
    assert "BF-C2DL-HSC_02: best model lstm R^2 0.011" in text and "best trivial reference ar 0.004" in text
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\nbefore\n\n{START}\nold numbers 0.999\n{END}\n\nafter\n")
    assert write_readme(recs, readme)
    new = readme.read_text()
    assert "old numbers" not in new and "lstm R^2 0.011" in new and new.startswith("# x\n\nbefore") and new.endswith("after\n")
    assert not write_readme(recs, readme)  # the same results: nothing to change
    with pytest.raises(ConfigError, match="no generated block"):
        splice("# no markers\n", text)
