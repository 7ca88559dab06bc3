"""Customer churn: tabular classification done without leakage.

Preprocessing lives in a Pipeline, models are compared by cross-validation on the training
part, the hold-out test set is scored once at the end.
"""
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import classification_report, roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelEncoder, OneHotEncoder, StandardScaler

SEED = 42

df = pd.read_csv("../input/telco-churn/WA_Fn-UseC_-Telco-Customer-Churn.csv")
df["TotalCharges"] = pd.to_numeric(df["TotalCharges"], errors="coerce")
df = df.drop(columns=["customerID"]).drop_duplicates()
print(df.shape)
print(df.isna().sum())

# Label encoding the target only records the two class names: no statistics.
df["Churn"] = LabelEncoder().fit_transform(df["Churn"])

num_cols = ["tenure", "MonthlyCharges", "TotalCharges"]
cat_cols = [c for c in df.columns if c not in num_cols + ["Churn"]]

X = df[num_cols + cat_cols]
y = df["Churn"]
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.2, stratify=y, random_state=SEED
)

numeric = Pipeline([
    ("impute", SimpleImputer(strategy="median")),
    ("scale", StandardScaler()),
])
categorical = Pipeline([
    ("impute", SimpleImputer(strategy="most_frequent")),
    ("onehot", OneHotEncoder(handle_unknown="ignore")),
])
preprocess = ColumnTransformer([
    ("num", numeric, num_cols),
    ("cat", categorical, cat_cols),
])

candidates = {
    "logreg": LogisticRegression(max_iter=2000),
    "forest": RandomForestClassifier(n_estimators=300, random_state=SEED),
    "gboost": GradientBoostingClassifier(random_state=SEED),
}
cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=SEED)

cv_scores = {}
for name, model in candidates.items():
    pipe = Pipeline([("prep", preprocess), ("model", model)])
    scores = cross_val_score(pipe, X_train, y_train, cv=cv, scoring="roc_auc")
    cv_scores[name] = scores.mean()
    print(f"{name:8s} CV AUC {scores.mean():.4f} +/- {scores.std():.4f}")

best_name = max(cv_scores, key=cv_scores.get)
print("best model by CV:", best_name)

search = GridSearchCV(
    Pipeline([("prep", preprocess), ("model", candidates[best_name])]),
    param_grid={"prep__num__impute__strategy": ["mean", "median"]},
    cv=cv,
    scoring="roc_auc",
)
search.fit(X_train, y_train)
print(search.best_params_, round(search.best_score_, 4))

final = search.best_estimator_
proba = final.predict_proba(X_test)[:, 1]
print("hold-out AUC:", round(roc_auc_score(y_test, proba), 4))
print(classification_report(y_test, final.predict(X_test)))

importances = None
if best_name != "logreg":
    importances = final.named_steps["model"].feature_importances_
    print(np.argsort(importances)[::-1][:10])

submission = pd.DataFrame({"id": X_test.index, "churn_proba": proba})
submission.to_csv("submission.csv", index=False)
