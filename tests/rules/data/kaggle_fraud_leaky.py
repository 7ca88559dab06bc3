"""Credit-card fraud detection, the way many public notebooks do it (with the leaks).

Every leak planted here is listed, with its line, in tests/rules/test_leakage_kaggle_scripts.py.
"""
import numpy as np
import pandas as pd
from imblearn.over_sampling import SMOTE
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import classification_report, f1_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler
from xgboost import XGBClassifier

RANDOM_STATE = 7

df = pd.read_csv("../input/creditcardfraud/creditcard.csv")
print(df.shape, df["Class"].value_counts(normalize=True))

df["Amount"] = df["Amount"].fillna(df["Amount"].median())
df["Hour"] = (df["Time"] // 3600) % 24
X = df.drop(columns=["Class", "Time"])
y = df["Class"]

# quick baseline on the raw features
Xb_train, yb_train, Xb_test, yb_test = train_test_split(X, y, test_size=0.3)
baseline = LogisticRegression(max_iter=500)
baseline.fit(Xb_train, yb_train)

scaler = StandardScaler()
X_scaled = scaler.fit_transform(X)

# the classes are very imbalanced: oversample the frauds
sm = SMOTE(random_state=RANDOM_STATE)
X_res, y_res = sm.fit_resample(X_scaled, y)
print(np.bincount(y_res))

X_train, X_test, y_train, y_test = train_test_split(
    X_res, y_res, test_size=0.25, stratify=y_res, random_state=RANDOM_STATE
)

pca = PCA(n_components=12, random_state=RANDOM_STATE)
X_train_p = pca.fit_transform(X_train)
X_test_p = pca.fit_transform(X_test)

models = {
    "logreg": LogisticRegression(max_iter=1000),
    "forest": RandomForestClassifier(n_estimators=200, n_jobs=-1),
    "knn": KNeighborsClassifier(n_neighbors=5),
}

results = {}
for name, model in models.items():
    model.fit(X_train_p, y_train)
    preds = model.predict(X_test_p)
    results[name] = f1_score(y_test, preds)
    print(f"{name}: F1 = {results[name]:.4f}")

best_name = max(results, key=results.get)
print("best:", best_name)

xgb = XGBClassifier(n_estimators=400, max_depth=5, learning_rate=0.05)
xgb.fit(X_train_p, y_train, eval_set=[(X_train_p, y_train)], verbose=100)
proba = xgb.predict_proba(X_test_p)[:, 1]
print("XGB AUC:", roc_auc_score(y_test, proba))
print(classification_report(y_test, xgb.predict(X_test_p)))
