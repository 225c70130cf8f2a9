"""ASSISTments 2009-10 skill builder on Piech et al.'s train/test split: held-out BKT fit
(the pyBKT-examples protocol, as in Khajah, Lindsey & Mozer 2016)."""

from __future__ import annotations

from plmresearch.reproduce.registry import register


@register(values=("auc", "rmse", "log_loss", "n_test", "n_skills"))
def bkt_heldout(df, study, *, fast=False, forgets=False, n_restarts=20, random_seed=0):
    """One BKT model per skill fitted on the train students, pooled AUC/RMSE/log-loss over every
    test response (the pyBKT-examples protocol; reproduction_targets.md section 7).

    ``fast`` changes nothing: the full protocol (20 restarts) takes seconds."""
    from plmresearch.mastery import fit_bkt

    train = df[df["split"] == "train"]
    test = df[df["split"] == "test"]
    test = test[test["skill"].isin(set(train["skill"]))]
    model = fit_bkt(train, skill="skill", student="student", correct="correct", order="position",
                    forgets=forgets, n_restarts=n_restarts, random_seed=random_seed, n_jobs=-1)
    scores = model.evaluate(test, by_skill=False).loc["overall"]
    return {"auc": float(scores["auc"]), "rmse": float(scores["rmse"]), "log_loss": float(scores["log_loss"]),
            "n_test": float(len(test)), "n_skills": float(len(model.params))}
