"""A scikit-learn pipeline with a classic leak."""
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from data import tabular

X, y = tabular()
scaler = StandardScaler()
X_scaled = scaler.fit_transform(X)  # statistics computed on test rows too
X_train, X_test, y_train, y_test = train_test_split(X_scaled, y, test_size=0.2, random_state=0)
clf = LogisticRegression().fit(X_train, y_train)
print("test accuracy:", clf.score(X_test, y_test))
