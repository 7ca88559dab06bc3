"""Fitting a preprocessing step on all the data before cross-validation leaks the test folds
into training. Here the features are pure noise, so the honest score is chance (0.5); picking
the 20 "best" of 5000 features on all rows first makes the same model look far better than it is.
Put the scaler and the selector inside a Pipeline so each fold fits them on its training rows only.
"""

from __future__ import annotations

SAMPLES = 60
FEATURES = 5000
KEEP = 20


def demo(ctx) -> dict[str, float]:
    import numpy as np
    from sklearn.feature_selection import SelectKBest, f_classif
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    X = rng.normal(size=(SAMPLES, FEATURES))  # noise: no feature says anything about y
    y = np.repeat([0, 1], SAMPLES // 2)
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)

    # Leaky: scaler and selector see every row, including each fold's test rows.
    X_leaky = SelectKBest(f_classif, k=KEEP).fit_transform(StandardScaler().fit_transform(X), y)
    leaky = cross_val_score(LogisticRegression(solver="liblinear"), X_leaky, y, cv=cv)

    # Honest: the same steps inside a Pipeline are refitted on each fold's training rows.
    pipe = make_pipeline(StandardScaler(), SelectKBest(f_classif, k=KEEP),
                         LogisticRegression(solver="liblinear"))
    honest = cross_val_score(pipe, X, y, cv=cv)

    ctx.say(f"{SAMPLES} samples, {FEATURES} pure-noise features, keep the {KEEP} best, 5-fold CV")
    ctx.say(f"selector fitted on all data, then CV: accuracy {leaky.mean():.2f} (leak)")
    ctx.say(f"selector inside the Pipeline:        accuracy {honest.mean():.2f} (chance is 0.50)")

    fig, ax = ctx.figure()
    if fig is not None:
        folds = np.arange(1, 6)
        ax.bar(folds - 0.2, leaky, width=0.4, label=f"fit on all data ({leaky.mean():.2f})")
        ax.bar(folds + 0.2, honest, width=0.4, label=f"inside Pipeline ({honest.mean():.2f})")
        ax.axhline(0.5, ls="--", color="gray", label="chance")
        ax.set(title="Cross-validated accuracy on pure noise", xlabel="fold", ylabel="accuracy",
               ylim=(0, 1.05))
        ax.legend(fontsize=8, loc="lower right")

    return {
        "leaky_cv_accuracy": leaky.mean(),
        "honest_cv_accuracy": honest.mean(),
        "chance": 0.5,
        "inflation": leaky.mean() - honest.mean(),
    }
