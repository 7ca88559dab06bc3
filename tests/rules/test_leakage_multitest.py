"""leakage-multitest: the test set used to choose models, hyper-parameters or epochs."""
import pytest
from conftest import findings, lines, notebook

RULE = "leakage-multitest"

SPLIT = """\
from sklearn.model_selection import train_test_split
from sklearn.metrics import accuracy_score, f1_score
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
"""

# bentrevett/pytorch-rl: a test reward per run and episode
RL_RUNS = """\
import torch
import matplotlib.pyplot as plt

test_rewards = torch.zeros(n_runs, max_episodes)
for run in range(n_runs):
    policy = MLP(input_dim, hidden_dim, output_dim)
    for episode in range(max_episodes):
        train(train_env, policy, optimizer)
        test_reward = evaluate(test_env, policy)
        test_rewards[run][episode] = test_reward
"""

BUGGY = [
    ("best_c_by_test_score", SPLIT + """\
from sklearn.svm import SVC
best_score, best_c = 0, None
for C in [0.01, 0.1, 1, 10, 100]:
    clf = SVC(C=C).fit(X_train, y_train)
    score = clf.score(X_test, y_test)
    if score > best_score:
        best_score, best_c = score, C
""", [8]),
    ("model_zoo_dict_then_max", SPLIT + """\
results = {}
for name, model in models.items():
    model.fit(X_train, y_train)
    results[name] = accuracy_score(y_test, model.predict(X_test))
best_name = max(results, key=results.get)
""", [7]),
    ("append_then_argmax", SPLIT + """\
import numpy as np
from sklearn.neighbors import KNeighborsClassifier
scores = []
for k in range(1, 30):
    knn = KNeighborsClassifier(n_neighbors=k).fit(X_train, y_train)
    pred = knn.predict(X_test)
    acc = f1_score(y_test, pred, average="macro")
    scores.append(acc)
best_k = np.argmax(scores) + 1
""", [10]),
    ("best_with_max_inside_loop", SPLIT + """\
best = 0
for depth in range(2, 12):
    tree = DecisionTreeClassifier(max_depth=depth).fit(X_train, y_train)
    best = max(best, tree.score(X_test, y_test))
""", [7]),
    ("manual_early_stopping_on_test_loader", """\
import torch

best_acc = 0.0
for epoch in range(50):
    train_one_epoch(model, train_loader)
    acc = evaluate(model, test_loader)
    if acc > best_acc:
        best_acc = acc
        torch.save(model.state_dict(), "best.pt")
""", [6]),
    ("while_loop_search", SPLIT + """\
n, best_n, best = 10, 10, -1
while n <= 500:
    rf = RandomForestClassifier(n_estimators=n).fit(X_train, y_train)
    s = rf.score(X_test, y_test)
    if s >= best:
        best, best_n = s, n
    n += 50
""", [7]),
    ("keras_early_stopping_on_test", """\
from sklearn.model_selection import train_test_split
from tensorflow import keras

X_train, X_test, y_train, y_test = train_test_split(X, y)
stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
model.fit(X_train, y_train, epochs=200,
          validation_data=(X_test, y_test), callbacks=[stop])
test_loss, test_acc = model.evaluate(X_test, y_test)
""", [7]),
    ("keras_best_checkpoint_on_test", """\
from tensorflow.keras.callbacks import ModelCheckpoint
from sklearn.model_selection import train_test_split

x_train, x_test, y_train, y_test = train_test_split(x, y)
ckpt = ModelCheckpoint("best.h5", save_best_only=True)
model.fit(x_train, y_train, validation_data=(x_test, y_test), callbacks=[ckpt])
model.load_weights("best.h5")
print(model.evaluate(x_test, y_test))
""", [6]),
    # sweep 19f (Advanced-Deep-Learning-with-Keras' CIFAR scripts): the best epoch is saved to a
    # file nobody loads; the score is the last epoch's model in memory
    ("keras_best_checkpoint_never_loaded", """\
from tensorflow.keras.callbacks import ModelCheckpoint
from sklearn.model_selection import train_test_split

x_train, x_test, y_train, y_test = train_test_split(x, y)
ckpt = ModelCheckpoint("best.h5", save_best_only=True)
model.fit(x_train, y_train, validation_data=(x_test, y_test), callbacks=[ckpt])
print(model.evaluate(x_test, y_test))
""", []),
    ("xgboost_early_stopping_on_test", """\
from xgboost import XGBClassifier
from sklearn.model_selection import train_test_split
from sklearn.metrics import roc_auc_score

X_train, X_test, y_train, y_test = train_test_split(X, y)
clf = XGBClassifier(n_estimators=2000, early_stopping_rounds=50)
clf.fit(X_train, y_train, eval_set=[(X_test, y_test)])
print(roc_auc_score(y_test, clf.predict_proba(X_test)[:, 1]))
""", [7]),
    ("decision_threshold_tuned_on_test", SPLIT + """\
import numpy as np
proba = clf.fit(X_train, y_train).predict_proba(X_test)[:, 1]
best_t, best_f1 = 0.5, 0.0
for t in np.arange(0.1, 0.9, 0.05):
    f1 = f1_score(y_test, proba > t)
    if f1 > best_f1:
        best_f1, best_t = f1, t
""", [8]),
    ("optuna_objective_returns_test_score", """\
import optuna
from sklearn.model_selection import train_test_split
from sklearn.ensemble import GradientBoostingClassifier

X_train, X_test, y_train, y_test = train_test_split(X, y)

def objective(trial):
    lr = trial.suggest_float("lr", 1e-3, 0.3, log=True)
    clf = GradientBoostingClassifier(learning_rate=lr).fit(X_train, y_train)
    return clf.score(X_test, y_test)

study = optuna.create_study(direction="maximize")
study.optimize(objective, n_trials=50)
""", [10]),
    ("test_scores_plotted_and_the_best_run_kept", RL_RUNS.replace("evaluate(test_env, policy)",
                                                                  "evaluate(policy, test_loader)") + """\
plt.fill_between(range(max_episodes), test_rewards.min(0).values, test_rewards.max(0).values)
best_run = test_rewards.mean(1).argmax()
""", [9]),
    # the max of the test errors kept, then used to choose
    ("max_of_test_scores_kept_then_used_to_choose", """\
import numpy as np
from sklearn import metrics, tree
from sklearn.model_selection import train_test_split

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25)
acc_test = np.zeros(20)
for i, leaves in enumerate(range(2, 22)):
    m = tree.DecisionTreeClassifier(max_leaf_nodes=leaves).fit(X_train, y_train)
    acc_test[i] = metrics.accuracy_score(y_test, m.predict(X_test))
best = np.argmax(acc_test)
final = tree.DecisionTreeClassifier(max_leaf_nodes=best + 2).fit(X_train, y_train)
""", [9]),
    # the checkpoint's model loaded back and scored on the same test data
    ("best_checkpoint_loaded_then_scored", """\
import tensorflow as tf

(x_train, y_train), (x_test, y_test) = tf.keras.datasets.cifar10.load_data()
model = make_small_cnn()
ckpt = tf.keras.callbacks.ModelCheckpoint('cnn.keras', monitor='val_accuracy', save_best_only=True)
model.fit(x_train, y_train, epochs=50, validation_data=(x_test, y_test), callbacks=[ckpt])
best = tf.keras.models.load_model('cnn.keras')
print(best.evaluate(x_test, y_test))
""", [6]),
]

SILENT = [
    # An interpretability course (sweep 20): after early stopping on the test DMatrix, the test
    # rows only give SHAP contributions for a plot; nothing scores the model.
    ("booster_test_rows_only_explained", """\
import numpy as np
import shap
import xgboost as xgb

split = np.random.rand(len(data)) < 0.7
train, test = data[split], data[~split]
dtrain = xgb.DMatrix(train[X], train[y])
dtest = xgb.DMatrix(test[X], test[y])
model = xgb.train(params, dtrain, 1000, evals=[(dtrain, "train"), (dtest, "eval")],
                  early_stopping_rounds=50)
shap_values = model.predict(dtest, pred_contribs=True, iteration_range=(0, model.best_iteration + 1))
shap.summary_plot(shap_values[:, :-1], test[X])
""", []),
    # A stacking lecture (sweep 20): the best single-model test score is only compared with the
    # stacked model's, and the branch keeps nothing.
    ("best_test_score_only_compared", """\
from sklearn.datasets import make_moons
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

for i in range(1, 50):
    X, y = make_moons(noise=.4, random_state=i, n_samples=300)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    lr = LogisticRegression().fit(X_train, y_train)
    tree = DecisionTreeClassifier(max_depth=3).fit(X_train, y_train)
    scores = [lr.score(X_test, y_test), tree.score(X_test, y_test)]
    if stacked_score > max(scores):
        print(i)
""", []),
    # A TensorFlow 1 course (sweep 20): `test_writer` is a TensorBoard writer, not test data;
    # the checkpoint is chosen on the validation score.
    ("test_writer_is_not_test_data", """\
import tensorflow as tf
def do_eval(sess, data_set, accuracy, test_writer, step):
    acc, summary = sess.run([accuracy, merged], feed_dict={x: data_set["x"]})
    test_writer.add_summary(summary, step)
    return acc
test_writer = tf.summary.FileWriter("logs/test")
best = 0.0
for step in range(10000):
    sess.run(train_step, feed_dict={x: next_batch(train_dataset)})
    if step % 500 == 0:
        result = do_eval(sess, validation_dataset, accuracy, test_writer, step)
        if result > best:
            best = result
            saver.save(sess, "best.ckpt")
""", []),
    # GeostatsGuy: the largest test error only sets the height of the plot
    ("max_of_test_scores_kept_for_the_plot_height", """\
import numpy as np
import matplotlib.pyplot as plt
from sklearn import metrics, tree
from sklearn.model_selection import train_test_split

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25)
mse_train = np.zeros(20); mse_test = np.zeros(20)
for i, leaves in enumerate(range(2, 22)):
    m = tree.DecisionTreeRegressor(max_leaf_nodes=leaves).fit(X_train, y_train)
    mse_train[i] = metrics.mean_squared_error(y_train, m.predict(X_train))
    mse_test[i] = metrics.mean_squared_error(y_test, m.predict(X_test))
maxcheck = max(np.max(mse_train), np.max(mse_test))
plt.vlines(5, 0, maxcheck)
plt.ylim([0, maxcheck])
""", []),
    # the best-on-test checkpoint of one model; the final evaluation is another model's
    ("checkpoint_of_one_model_final_score_of_another", """\
import numpy as np
import tensorflow as tf
from sklearn.metrics import accuracy_score

(x_train, y_train), (x_test, y_test) = tf.keras.datasets.cifar10.load_data()
model = make_small_cnn()
ckpt = tf.keras.callbacks.ModelCheckpoint('cnn', monitor='val_accuracy', save_best_only=True)
model.fit(x_train, y_train, epochs=50, validation_data=(x_test, y_test), callbacks=[ckpt])
model_deep = make_deep_cnn()
model_deep.fit(x_train, y_train, epochs=50)
print(accuracy_score(y_test.ravel(), np.argmax(model_deep.predict(x_test), axis=1)))
""", []),
    # bentrevett/pytorch-rl: test rewards per run and episode, only drawn as a band across runs
    ("test_scores_only_plotted", RL_RUNS + """\
fig, ax = plt.subplots(1, figsize=(10, 6))
ax.plot(range(max_episodes), test_rewards.mean(0))
ax.fill_between(range(max_episodes), test_rewards.min(0).values, test_rewards.max(0).values, alpha=0.1)
""", []),
    ("cv_selection_then_one_test_evaluation", SPLIT + """\
from sklearn.model_selection import cross_val_score
best_score, best_model = 0, None
for name, model in models.items():
    s = cross_val_score(model, X_train, y_train, cv=5).mean()
    if s > best_score:
        best_score, best_model = s, model
best_model.fit(X_train, y_train)
print(accuracy_score(y_test, best_model.predict(X_test)))
""", []),
    ("validation_split_selection", SPLIT + """\
X_tr, X_val, y_tr, y_val = train_test_split(X_train, y_train, test_size=0.25)
best = 0
for C in [0.1, 1, 10]:
    m = LogisticRegression(C=C).fit(X_tr, y_tr)
    acc = accuracy_score(y_val, m.predict(X_val))
    if acc > best:
        best, best_C = acc, C
final = LogisticRegression(C=best_C).fit(X_train, y_train)
print(final.score(X_test, y_test))
""", []),
    ("report_only_loop", SPLIT + """\
for name, model in models.items():
    model.fit(X_train, y_train)
    acc = accuracy_score(y_test, model.predict(X_test))
    print(f"{name}: {acc:.3f}")
""", []),
    ("report_table_and_plot", SPLIT + """\
import matplotlib.pyplot as plt
accs = []
for k in ks:
    accs.append(KNN(k).fit(X_train, y_train).score(X_test, y_test))
plt.plot(ks, accs)
print(accs)
""", []),
    ("threshold_check_is_not_selection", SPLIT + """\
for seed in range(5):
    m = make_model(seed).fit(X_train, y_train)
    acc = m.score(X_test, y_test)
    if acc < 0.5:
        print("seed", seed, "looks broken")
""", []),
    ("keras_early_stopping_on_validation", """\
from tensorflow import keras
stop = keras.callbacks.EarlyStopping(patience=5)
model.fit(X_train, y_train, validation_data=(X_val, y_val), callbacks=[stop])
model.evaluate(X_test, y_test)
""", []),
    ("keras_test_monitoring_without_early_stopping", """\
model.fit(X_train, y_train, epochs=20, validation_data=(X_test, y_test))
model.evaluate(X_test, y_test)
""", []),
    ("optuna_objective_cross_validation", """\
import optuna
from sklearn.model_selection import cross_val_score

def objective(trial):
    C = trial.suggest_float("C", 1e-3, 1e3, log=True)
    return cross_val_score(SVC(C=C), X_train, y_train, cv=5).mean()

study = optuna.create_study(direction="maximize")
study.optimize(objective, n_trials=30)
print(SVC(**study.best_params).fit(X_train, y_train).score(X_test, y_test))
""", []),
    ("manual_kfold_named_test", """\
import numpy as np
from sklearn.model_selection import KFold
from sklearn.metrics import accuracy_score
scores = []
for train_index, test_index in KFold(n_splits=5).split(X):
    X_train, X_test = X[train_index], X[test_index]
    y_train, y_test = y[train_index], y[test_index]
    model.fit(X_train, y_train)
    scores.append(accuracy_score(y_test, model.predict(X_test)))
print(np.mean(scores), max(scores))
""", []),
    ("checkpoint_on_validation_loader", """\
best = 0
for epoch in range(10):
    train(model, train_loader)
    val_acc = evaluate(model, val_loader)
    if val_acc > best:
        best = val_acc
        torch.save(model.state_dict(), "best.pt")
test_acc = evaluate(model, test_loader)
""", []),
    ("loop_over_test_batches", """\
accs = []
for images, labels in test_loader:
    accs.append(accuracy(model(images), labels))
print(max(accs))
""", []),
    ("single_final_evaluation", SPLIT + """\
model.fit(X_train, y_train)
print(accuracy_score(y_test, model.predict(X_test)))
""", []),
    ("training_loss_selection", SPLIT + """\
best = 1e9
for epoch in range(10):
    loss = train_step(model, X_train, y_train)
    if loss < best:
        best = loss
""", []),
]


@pytest.mark.parametrize("name,src,expected", BUGGY + SILENT, ids=[c[0] for c in BUGGY + SILENT])
def test_lines(name, src, expected):
    assert lines(src, RULE) == expected


def test_selection_is_related():
    (f,) = findings(BUGGY[0][1], RULE)
    assert [r.location.line + 1 for r in f.related] == [9]
    assert f.confidence == 1.0
    assert f.concept == "model-evaluation-metrics"


def test_name_only_test_data_has_lower_confidence():
    (f,) = findings(BUGGY[4][1], RULE)
    assert f.confidence == 0.6


def test_across_notebook_cells():
    cells = [
        ("from sklearn.model_selection import train_test_split\n"
        "X_train, X_test, y_train, y_test = train_test_split(X, y)\n"),
        ("scores = {}\nfor d in [3, 5, 8]:\n    m = Tree(max_depth=d).fit(X_train, y_train)\n"
        "    scores[d] = m.score(X_test, y_test)\n"),
        "best_depth = max(scores, key=scores.get)\n",
    ]
    (f,) = notebook(cells, RULE)
    assert (f.location.cell, f.location.cell_line + 1) == (1, 4)
    assert [(r.location.cell, r.location.cell_line + 1) for r in f.related] == [(2, 1)]


# kuangliu/pytorch-cifar (sweep 18): `test(epoch)` keeps the best test accuracy in a global and
# saves that checkpoint; the epoch loop calls it. `testloader` (glued) names test data too.
_CIFAR = """\
import torch
import torch.nn as nn

net = nn.Sequential(nn.Flatten(), nn.Linear(3072, 10))
best_acc = 0


def {name}(epoch):
    global best_acc
    net.eval()
    correct = total = 0
    with torch.no_grad():
        for inputs, targets in {loader}:
            correct += net(inputs).argmax(1).eq(targets).sum().item()
            total += targets.size(0)
    acc = 100.0 * correct / total
    if acc > best_acc:
        {keep}


{driver}
"""
_LOOP = "for epoch in range(200):\n    train(epoch)\n    test(epoch)\n"


@pytest.mark.parametrize("name,loader,keep,driver,expected", [
    ("test", "testloader", "torch.save(net.state_dict(), 'ckpt.pth')\n        best_acc = acc", _LOOP, [17]),
    ("test", "test_loader", "best_acc = acc", _LOOP, [17]),
    ("evaluate", "testloader", "best_acc = acc", _LOOP.replace("test(epoch)", "evaluate(epoch)"), [17]),
    # validation data: choosing on it is what it is for
    ("test", "valloader", "best_acc = acc", _LOOP, []),
    # called once, not per epoch: nothing is chosen
    ("test", "testloader", "best_acc = acc", "test(0)\n", []),
    # the comparison only prints
    ("test", "testloader", "print('new best', acc)", _LOOP, []),
    # a pytest test (never called by the file): `test` in its names means the unit test
    ("test_accuracy", "testloader", "best_acc = acc", "", []),
])
def test_a_helper_keeping_the_best_test_score_across_epochs(name, loader, keep, driver, expected):
    src = _CIFAR.format(name=name, loader=loader, keep=keep, driver=driver)
    assert lines(src, RULE) == expected


# Sweep 18 (susanli's Airbnb notebook): early stopping configured through `**fit_params`.
@pytest.mark.parametrize("params,expected", [
    ('{"early_stopping_rounds": 20, "eval_set": [(X_test, y_test)]}', [6]),
    ('{"early_stopping_rounds": 20, "eval_set": [(X_val, y_val)]}', []),
    ('{"eval_set": [(X_test, y_test)]}', []),          # only monitored, nothing stops on it
])
def test_early_stopping_through_a_fit_params_dict(params, expected):
    src = ("from lightgbm import LGBMRegressor\nfrom sklearn.metrics import r2_score\n"
           "from sklearn.model_selection import train_test_split\n\n"
           "X_train, X_test, y_train, y_test = train_test_split(x, y)\n"
           f"fit_params = {params}\nclf = LGBMRegressor(n_estimators=1000)\n"
           "clf.fit(X_train, y_train, **fit_params)\nprint(r2_score(y_test, clf.predict(X_test)))\n")
    assert lines(src, RULE) == expected


def test_a_helper_that_selects_on_validation_and_records_test_is_silent():
    # the adversarial review: "test accuracy at the best validation epoch" is the right protocol
    src = """\
import torch

best_val_acc = 0.0


def evaluate(epoch):
    global best_val_acc, test_at_best
    with torch.no_grad():
        val_acc = sum((net(x).argmax(1) == y).sum().item() for x, y in [])
        for inputs, targets in valloader:
            val_acc += (net(inputs).argmax(1) == targets).sum().item()
        test_acc = 0
        for inputs, targets in testloader:
            test_acc += (net(inputs).argmax(1) == targets).sum().item()
    if val_acc > best_val_acc:
        best_val_acc = val_acc
        test_at_best = test_acc


for epoch in range(200):
    evaluate(epoch)
"""
    assert lines(src, RULE) == []
    # without the validation loop, comparing the test score is the selection
    only_test = src.replace("        for inputs, targets in valloader:\n"
                            "            val_acc += (net(inputs).argmax(1) == targets).sum().item()\n", "")
    only_test = only_test.replace("if val_acc > best_val_acc:", "if test_acc > best_val_acc:")
    assert lines(only_test.replace("best_val_acc", "best_acc"), RULE) == [13]


def test_a_helper_that_trains_then_tests_and_keeps_the_best():
    # the second review: kuangliu's pattern with training and testing in one function
    src = """\
import torch

best_acc = 0


def run_epoch(epoch):
    global best_acc
    for inputs, targets in trainloader:
        opt.zero_grad()
        crit(net(inputs), targets).backward()
        opt.step()
    correct = 0
    with torch.no_grad():
        for inputs, targets in testloader:
            correct += (net(inputs).argmax(1) == targets).sum().item()
    acc = correct / 10000
    if acc > best_acc:
        best_acc = acc


for epoch in range(200):
    run_epoch(epoch)
"""
    assert lines(src, RULE) == [17]


def test_a_helper_keeping_the_best_training_loss_is_silent():
    # the third review: the compared value must come from the test loop
    src = """\
import torch

best_loss = 1e9


def run_epoch(epoch):
    global best_loss
    epoch_loss = 0.0
    for inputs, targets in trainloader:
        loss = crit(net(inputs), targets)
        epoch_loss += loss.item()
    correct = 0
    for inputs, targets in testloader:
        correct += (net(inputs).argmax(1) == targets).sum().item()
    print(correct)
    if epoch_loss < best_loss:
        best_loss = epoch_loss


for epoch in range(10):
    run_epoch(epoch)
"""
    assert lines(src, RULE) == []


def test_a_part_named_x_validate_is_validation_data():
    # sweep 18e (a Digit Recognizer notebook): early stopping on `x_validate`, the test set apart
    src = ("from sklearn.model_selection import train_test_split\nfrom keras.callbacks import EarlyStopping\n\n"
           "x_train, x_validate, y_train, y_validate = train_test_split(x_train, y_train, test_size=0.2)\n"
           "es = EarlyStopping(monitor='val_loss', patience=20)\n"
           "model.fit(x_train, y_train, validation_data=(x_validate, y_validate), callbacks=[es])\n"
           "print(model.evaluate(x_validate, y_validate))\n")
    assert lines(src, RULE) == []
    assert lines(src.replace("x_validate", "x_hold").replace("y_validate", "y_hold"), RULE) == [6]


# Sweep 18e (a Kaggle cirrhosis notebook): the booster APIs stop early on the test split too.
_BOOSTERS = """\
import lightgbm as lgb
import xgboost as xgb
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)
{code}
"""


@pytest.mark.parametrize("code,expected", [
    ("dtest = lgb.Dataset(X_test, label=y_test)\n"
     "model = lgb.train(params, lgb.Dataset(X_train, label=y_train), valid_sets=[dtest], "
     "callbacks=[lgb.early_stopping(50)])\nprint(roc_auc_score(y_test, model.predict(X_test)))", [8]),
    ("dte = xgb.DMatrix(X_test, label=y_test)\n"
     "bst = xgb.train(params, xgb.DMatrix(X_train, label=y_train), 1000, evals=[(dte, 'test')], "
     "early_stopping_rounds=50)\nprint(roc_auc_score(y_test, bst.predict(dte)))", [8]),
    # no early stopping: the test set is only watched
    ("dte = xgb.DMatrix(X_test, label=y_test)\n"
     "bst = xgb.train(params, xgb.DMatrix(X_train, label=y_train), 1000, evals=[(dte, 'test')])\n"
     "print(roc_auc_score(y_test, bst.predict(dte)))", []),
    # a validation split to stop on
    ("X_tr, X_val, y_tr, y_val = train_test_split(X_train, y_train)\ndval = lgb.Dataset(X_val, label=y_val)\n"
     "model = lgb.train(params, lgb.Dataset(X_tr, label=y_tr), valid_sets=[dval], "
     "callbacks=[lgb.early_stopping(50)])\nprint(roc_auc_score(y_test, model.predict(X_test)))", []),
])
def test_booster_api_early_stopping_on_test(code, expected):
    assert lines(_BOOSTERS.format(code=code), RULE) == expected


def test_xgboost_stops_on_the_last_of_its_evals():
    src = _BOOSTERS.format(code=(
        "X_tr, X_val, y_tr, y_val = train_test_split(X_train, y_train)\n"
        "dte = xgb.DMatrix(X_test, label=y_test)\ndval = xgb.DMatrix(X_val, label=y_val)\n"
        "bst = xgb.train(params, xgb.DMatrix(X_tr, label=y_tr), 1000, evals=[(dte, 'test'), (dval, 'val')], "
        "early_stopping_rounds=50)\nprint(roc_auc_score(y_test, bst.predict(dte)))"))
    assert lines(src, RULE) == []
    assert lines(src.replace("[(dte, 'test'), (dval, 'val')]", "[(dval, 'val'), (dte, 'test')]"), RULE) == [10]


# curiousily/Deep-Learning-For-Hackers: keras-tuner ranks its trials on validation_data.
TUNER_MODEL = """\
def build(hp):
    model = keras.Sequential([keras.layers.Dense(hp.Int("units", 8, 128), activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model
"""


@pytest.mark.parametrize("tuner,search,expected", [
    ('from kerastuner.tuners import RandomSearch\n'
     'tuner = RandomSearch(build, objective="val_accuracy", max_trials=20)\n',
     'tuner.search(X_train, y_train, epochs=20, validation_data=(X_test, y_test))\n', [12]),
    ('import keras_tuner as kt\n'
     'tuner = kt.Hyperband(build, objective=kt.Objective("val_auc", direction="max"))\n',
     'tuner.search(X_train, y_train, validation_data=(X_test, y_test))\n', [12]),
    ('from keras_tuner import BayesianOptimization\n'
     'tuner = BayesianOptimization(build, "val_loss", max_trials=5)\n',
     'tuner.search(X_train, y_train, validation_data=[X_test, y_test])\n', [12]),
    # Silent: a validation split, a training objective, an objective we cannot read,
    # validation_split, another library's search().
    ('from keras_tuner import RandomSearch\n'
     'tuner = RandomSearch(build, objective="val_accuracy")\n',
     'X_tr, X_val, y_tr, y_val = train_test_split(X_train, y_train)\n'
     'tuner.search(X_tr, y_tr, validation_data=(X_val, y_val))\n', []),
    ('from keras_tuner import RandomSearch\n'
     'tuner = RandomSearch(build, objective="accuracy")\n',
     'tuner.search(X_train, y_train, validation_data=(X_test, y_test))\n', []),
    ('from keras_tuner import RandomSearch\n'
     'tuner = RandomSearch(build, objective=OBJECTIVE)\n',
     'tuner.search(X_train, y_train, validation_data=(X_test, y_test))\n', []),
    ('from keras_tuner import RandomSearch\n'
     'tuner = RandomSearch(build, objective="val_accuracy")\n',
     'tuner.search(X_train, y_train, validation_split=0.2)\n', []),
    ('from sklearn.neighbors import NearestNeighbors\n'
     'tuner = NearestNeighbors()\n',
     'tuner.search(X_train, y_train, validation_data=(X_test, y_test))\n', []),
])
def test_keras_tuner_search_on_test(tuner, search, expected):
    code = SPLIT + "from tensorflow import keras\n" + tuner + TUNER_MODEL + search + \
        "print(tuner.get_best_models()[0].evaluate(X_test, y_test))\n"
    assert lines(code, RULE) == expected


_KERAS_STOP = SPLIT + """\
from tensorflow.keras.callbacks import EarlyStopping
model = create_model()
model.fit(X_train, y_train, epochs=20, callbacks=[EarlyStopping({monitor}patience=1)],
          validation_data=(X_test, y_test))
{between}print(model.evaluate(X_test, y_test))
"""


@pytest.mark.parametrize("monitor,between,expected", [
    ("", "", [7]),                                    # default monitor: val_loss, the test data
    ('monitor="val_accuracy", ', "", [7]),
    ('monitor="accuracy", ', "", []),                 # a training metric: the test data only logs
    ('monitor="loss", ', "", []),
    # the name is given a fresh model before the final score (buomsoo-kim's callbacks notebook)
    ("", "model = create_model()\nmodel.fit(X_train, y_train, epochs=20)\n", []),
    # sklearn-style `model = model.fit(...)`, or a reloaded checkpoint, is still this model
    ("", "model = model.fit(X_train, y_train)\n", [7]),
    ("", "model = keras.models.load_model('best.h5')\n", [7]),
    # a rebuilt model given the checkpoint the stopped fit saved is that model
    ("", "model = create_model()\nmodel.load_weights('best.h5')\n", [7]),
])
def test_early_stopping_monitor_and_a_rebuilt_model(monitor, between, expected):
    assert lines(_KERAS_STOP.format(monitor=monitor, between=between), RULE) == expected


def test_a_rebuilt_model_trained_for_the_epochs_the_test_set_chose():
    """A Kaggle notebook: early stopping on the test data, then a fresh model retrained for
    `len(history.epoch)` epochs: the test set still chose the epoch count."""
    src = SPLIT + """\
from tensorflow.keras.callbacks import EarlyStopping
model = create_model()
history1 = model.fit(X_train, y_train, validation_data=(X_test, y_test), callbacks=[EarlyStopping()])
epoch = len(history1.epoch)
model = create_model()
model.fit(X_train, y_train, epochs=epoch)
print(model.evaluate(X_test, y_test))
"""
    assert lines(src, RULE) == [6]
    assert lines(src.replace("epoch = len(history1.epoch)\n", "").replace("epochs=epoch", "epochs=20"), RULE) == []


def test_a_subclass_of_a_keras_tuner_tuner():
    src = SPLIT + "import keras_tuner as kt\n" + TUNER_MODEL + """\
class MyTuner(kt.RandomSearch):
    def run_trial(self, trial, *args, **kwargs):
        return super().run_trial(trial, *args, **kwargs)


tuner = MyTuner(build, objective="val_accuracy", max_trials=5)
tuner.search(X_train, y_train, validation_data=(X_test, y_test))
"""
    assert lines(src, RULE) == [16]


# Sweep 19e (aaron-xichen/pytorch-playground's train.py): the CIFAR-script selection written out
# in the epoch loop instead of a `def test(epoch)` helper.
_INLINE_BEST = """\
import torch
import torch.nn.functional as F

best_acc = 0
for epoch in range(40):
    model.train()
    for data, target in train_loader:
        optimizer.zero_grad()
        F.cross_entropy(model(data), target).backward()
        optimizer.step()
    model.eval()
    correct = 0
    with torch.no_grad():
        for data, target in {held_out}:
            correct += model(data).argmax(1).eq(target).sum().item()
    acc = 100.0 * correct / len({held_out}.dataset)
    if {compare}:
        torch.save(model.state_dict(), "best.pth")
        best_acc = acc
"""


@pytest.mark.parametrize("held_out,compare,expected", [
    ("test_loader", "acc > best_acc", [17]),
    ("test_loader", "best_acc < acc", [17]),
    ("val_loader", "acc > best_acc", []),          # selection on validation data
    ("test_loader", "epoch > 30", []),              # no score compared
])
def test_best_epoch_kept_inline_on_test_data(held_out, compare, expected):
    assert lines(_INLINE_BEST.format(held_out=held_out, compare=compare), RULE) == expected


def test_inline_selection_needs_a_training_epoch_loop():
    src = _INLINE_BEST.format(held_out="test_loader", compare="acc > best_acc").replace(
        "        F.cross_entropy(model(data), target).backward()\n        optimizer.step()\n", "        pass\n")
    assert lines(src, RULE) == []


def test_an_epoch_count_read_from_the_stopping_callback_carries_the_selection():
    src = SPLIT + """\
from tensorflow.keras.callbacks import EarlyStopping
model = create_model()
es = EarlyStopping(monitor="val_loss", patience=5)
model.fit(X_train, y_train, validation_data=(X_test, y_test), callbacks=[es])
best_epochs = es.stopped_epoch - 5
model = create_model()
model.fit(X_train, y_train, epochs=best_epochs)
print(model.evaluate(X_test, y_test))
"""
    assert lines(src, RULE) == [7]


@pytest.mark.parametrize("callbacks,after,expected", [
    # early stopping found whatever the list order
    ("[ckpt, EarlyStopping(patience=3)]", "print(model.evaluate(X_test, y_test))\n", [7]),
    # the checkpoint loaded and scored in one expression
    ("[ckpt]", "print(load_model('best.h5').evaluate(X_test, y_test))\n", [7]),
])
def test_checkpoint_and_early_stopping_together(callbacks, after, expected):
    src = SPLIT + ("from tensorflow.keras.callbacks import EarlyStopping, ModelCheckpoint\n"
                   "from tensorflow.keras.models import load_model\n"
                   "ckpt = ModelCheckpoint('best.h5', save_best_only=True)\n"
                   f"model.fit(X_train, y_train, validation_data=(X_test, y_test), callbacks={callbacks})\n" + after)
    assert lines(src, RULE) == expected


def test_a_checkpoint_loaded_with_expect_partial_then_scored():
    src = SPLIT + ("from tensorflow.keras.callbacks import ModelCheckpoint\n"
                   "ckpt = ModelCheckpoint('best', save_best_only=True, save_weights_only=True)\n"
                   "model.fit(X_train, y_train, validation_data=(X_test, y_test), callbacks=[ckpt])\n"
                   "model.load_weights('best').expect_partial()\n"
                   "print(model.evaluate(X_test, y_test))\n")
    assert lines(src, RULE) == [6]


# Sweep 23: `validation_data=` given one dataset object (tf.data, a generator), not an (X, y) pair.
_KERAS_DATASET = """\
import tensorflow as tf
train_ds = tf.keras.utils.image_dataset_from_directory("food/train")
test_ds = tf.keras.utils.image_dataset_from_directory("food/test", shuffle=False)
val_ds = tf.keras.utils.image_dataset_from_directory("food/val")
model = build_model()
ckpt = tf.keras.callbacks.ModelCheckpoint("best.weights.h5", save_weights_only=True, {options})
model.fit(train_ds, epochs=10, validation_data={watched}, callbacks=[ckpt])
{after}model.evaluate(test_ds)
"""


@pytest.mark.parametrize("options,watched,after,expected", [
    ("save_best_only=True", "test_ds", 'model.load_weights("best.weights.h5")\n', [7]),
    ('save_best_only=True, monitor="val_accuracy"', "test_ds", 'model.load_weights("best.weights.h5")\n', [7]),
    ("save_best_only=True", "val_ds", 'model.load_weights("best.weights.h5")\n', []),   # a validation split
    ("save_best_only=False", "test_ds", 'model.load_weights("best.weights.h5")\n', []),  # every epoch saved
    ('save_best_only=True, monitor="accuracy"', "test_ds", 'model.load_weights("best.weights.h5")\n', []),
    ("save_best_only=True", "test_ds", "", []),   # the best epoch never loaded: the last one is scored
])
def test_a_checkpoint_on_a_test_dataset_object(options, watched, after, expected):
    assert lines(_KERAS_DATASET.format(options=options, watched=watched, after=after), RULE) == expected


def test_early_stopping_on_a_test_generator():
    src = """\
from tensorflow.keras.callbacks import EarlyStopping
from tensorflow.keras.preprocessing.image import ImageDataGenerator
gen = ImageDataGenerator(rescale=1 / 255)
train_gen = gen.flow_from_directory("data/train")
test_gen = gen.flow_from_directory("data/test", shuffle=False)
model.fit(train_gen, epochs=30, validation_data=test_gen, callbacks=[EarlyStopping(patience=3)])
print(model.evaluate(test_gen))
"""
    assert lines(src, RULE) == [6]
    assert lines(src.replace("EarlyStopping(patience=3)", "EarlyStopping(monitor='loss')"), RULE) == []


# Sweep 23: PyTorch Lightning validates on the third argument of `trainer.fit` every epoch.
_LIGHTNING = """\
import pytorch_lightning as pl
from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint
from torch.utils.data import DataLoader

train_loader = DataLoader(train_set, batch_size=64, shuffle=True)
val_loader = DataLoader(val_set, batch_size=64)
test_loader = DataLoader(test_set, batch_size=64)
trainer = pl.Trainer(max_epochs=50, callbacks=[{callback}])
model = LitClassifier()
trainer.fit({fit})
{after}"""

_BEST = 'ModelCheckpoint(monitor="val_acc", mode="max")'


@pytest.mark.parametrize("callback,fit,after,expected", [
    (_BEST, "model, train_loader, test_loader", 'trainer.test(ckpt_path="best", dataloaders=test_loader)\n', [10]),
    (_BEST, "model, train_dataloaders=train_loader, val_dataloaders=test_loader",
     ("best = LitClassifier.load_from_checkpoint(trainer.checkpoint_callback.best_model_path)\n"
      "trainer.test(best, dataloaders=test_loader)\n"), [10]),
    # no model given: the trainer reloads its best checkpoint
    (_BEST, "model, train_loader, test_loader", "trainer.test(dataloaders=test_loader)\n", [10]),
    ('EarlyStopping(monitor="val_loss", patience=3)', "model, train_loader, test_loader",
     "trainer.test(model, dataloaders=test_loader)\n", [10]),
    # a real validation split chooses the epoch
    (_BEST, "model, train_loader, val_loader", 'trainer.test(ckpt_path="best", dataloaders=test_loader)\n', []),
    # no monitor (the last epoch is kept), or a training metric
    ("ModelCheckpoint(dirpath='ckpts')", "model, train_loader, test_loader",
     'trainer.test(ckpt_path="best", dataloaders=test_loader)\n', []),
    ('ModelCheckpoint(monitor="train_loss")', "model, train_loader, test_loader",
     'trainer.test(ckpt_path="best", dataloaders=test_loader)\n', []),
    # the model in memory, the last epoch, is scored: the best checkpoint is never loaded
    (_BEST, "model, train_loader, test_loader", "trainer.test(model, dataloaders=test_loader)\n", []),
    (_BEST, "model, train_loader, test_loader", 'trainer.test(model, dataloaders=test_loader, ckpt_path="last")\n', []),
    # the test loader only given to trainer.test
    (_BEST, "model, train_loader", 'trainer.test(ckpt_path="best", dataloaders=test_loader)\n', []),
])
def test_lightning_checkpoint_or_early_stopping_on_the_test_loader(callback, fit, after, expected):
    assert lines(_LIGHTNING.format(callback=callback, fit=fit, after=after), RULE) == expected


# Review of sweep 20: names with log/file/summary words that the flow shows are test data, and
# branches that keep something (append, break, a pickle or joblib dump).
_STILL_SELECTED = [
    ("p7_log_both", """import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.linear_model import Ridge

X_train, X_test, y_train, y_test = train_test_split(X, y)
X_train_log, X_test_log = np.log1p(X_train), np.log1p(X_test)
y_train_log, y_test_log = np.log1p(y_train), np.log1p(y_test)
best, best_a = -1e9, None
for a in [0.1, 1.0, 10.0]:
    model = Ridge(alpha=a).fit(X_train_log, y_train_log)
    r2 = model.score(X_test_log, y_test_log)
    if r2 > best:
        best, best_a = r2, a
"""),
    ("p5_test_summary", """from sklearn.model_selection import train_test_split
X_train, X_test_file, y_train, y_test_file = train_test_split(X, y)
best, best_c = 0, None
for c in [0.01, 0.1, 1, 10]:
    model = LogisticRegression(C=c).fit(X_train, y_train)
    acc = model.score(X_test_file, y_test_file)
    if acc > best:
        best, best_c = acc, c
"""),
    ("p1_test_file", """import torch

def evaluate(model, data_file):
    data = torch.load(data_file)
    return (model(data["x"]).argmax(1) == data["y"]).float().mean().item()

train_file = "data/train.pt"
test_file = "data/test.pt"
best, best_lr = 0, None
for lr in [1e-2, 1e-3, 1e-4]:
    model = train(lr, train_file)
    acc = evaluate(model, test_file)
    if acc > best:
        best, best_lr = acc, lr
"""),
    ("x2_append", """from sklearn.datasets import make_moons
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

for i in range(1, 50):
    X, y = make_moons(noise=.4, random_state=i, n_samples=300)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    lr = LogisticRegression().fit(X_train, y_train)
    tree = DecisionTreeClassifier(max_depth=3).fit(X_train, y_train)
    scores = [lr.score(X_test, y_test), tree.score(X_test, y_test)]
    if stacked_score > max(scores):
        good_seeds.append(i)
"""),
    ("x3_break", """from sklearn.datasets import make_moons
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

for i in range(1, 50):
    X, y = make_moons(noise=.4, random_state=i, n_samples=300)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    lr = LogisticRegression().fit(X_train, y_train)
    tree = DecisionTreeClassifier(max_depth=3).fit(X_train, y_train)
    scores = [lr.score(X_test, y_test), tree.score(X_test, y_test)]
    if stacked_score > max(scores):
        break
"""),
    ("x4_pickle", """from sklearn.datasets import make_moons
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

for i in range(1, 50):
    X, y = make_moons(noise=.4, random_state=i, n_samples=300)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    lr = LogisticRegression().fit(X_train, y_train)
    tree = DecisionTreeClassifier(max_depth=3).fit(X_train, y_train)
    scores = [lr.score(X_test, y_test), tree.score(X_test, y_test)]
    if stacked_score > max(scores):
        pickle.dump(tree, open("m.pkl", "wb"))
"""),
    ("x5_dump", """from sklearn.datasets import make_moons
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

for i in range(1, 50):
    X, y = make_moons(noise=.4, random_state=i, n_samples=300)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    lr = LogisticRegression().fit(X_train, y_train)
    tree = DecisionTreeClassifier(max_depth=3).fit(X_train, y_train)
    scores = [lr.score(X_test, y_test), tree.score(X_test, y_test)]
    if stacked_score > max(scores):
        joblib.dump(tree, "m.joblib")
"""),
]


@pytest.mark.parametrize("name,src", _STILL_SELECTED, ids=[c[0] for c in _STILL_SELECTED])
def test_still_a_selection_on_the_test_set(name, src):
    assert len(lines(src, RULE)) == 1



def test_the_best_of_several_references_of_one_example_is_no_selection():
    """training-data-analyst's QA notebook (sweep 20e): `max(f1(pred, ref1), f1(pred, ref2))`
    scores one answer against its closest human reference."""
    assert lines("""import numpy as np
import pandas as pd

test = pd.read_csv("test.csv")


def f1_score(pred, gold):
    p, g = set(pred.split()), set(gold.split())
    common = len(p & g)
    return 0.0 if common == 0 else 2 * common / (len(p) + len(g))


def model_eval(answers):
    f1 = []
    for k, answer in enumerate(answers):
        # several human reference answers per question: score against the closest one
        f1_k = max(
            f1_score(answer, test.answer1[k]),
            f1_score(answer, test.answer2[k]),
        )
        f1.append(f1_k)
    print("F1:", np.mean(f1))
    return f1
""", RULE) == []


_VAL_AND_TEST = """\
import torch
import torch.nn as nn
import torch.nn.functional as F


def evaluate(model, feats, labels, val_nid, test_nid):
    model.eval()
    with torch.no_grad():
        pred = model(feats)
    model.train()
    return acc(pred[val_nid], labels[val_nid]), acc(pred[test_nid], labels[test_nid])


model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
opt = torch.optim.Adam(model.parameters())
best_val_acc = best_test_acc = final_test_acc = 0.0
for epoch in range(100):
    loss = F.cross_entropy(model(feats[train_nid]), labels[train_nid])
    opt.zero_grad()
    loss.backward()
    opt.step()
    val_acc, test_acc = evaluate(model, feats, labels, val_nid, test_nid)
    if {compared} > {best}:
        {best} = {compared}
        final_test_acc = test_acc
print(final_test_acc)
"""


def test_selected_on_the_validation_score_returned_beside_the_test_score():
    """DGL's ClusterGCN example (sweep 21d): evaluate() returns (val_acc, test_acc); the epoch is
    chosen on val_acc and the test score at that epoch is only recorded."""
    assert lines(_VAL_AND_TEST.format(compared="val_acc", best="best_val_acc"), RULE) == []


def test_selected_on_the_test_score_returned_beside_the_validation_score():
    assert lines(_VAL_AND_TEST.format(compared="test_acc", best="best_test_acc"), RULE) == [22]


_CIFAR_TEST_FN = """\
import torch
import torch.nn as nn

net = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 2))
optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
best_acc = 0


def test(epoch, testloader, net):
    global best_acc
    net.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for xb, yb in testloader:
            correct += (net(xb).argmax(1) == yb).sum().item()
            total += yb.size(0)
    acc = 100. * correct / total
    if acc > best_acc:
        best_acc = acc
        torch.save(net.state_dict(), "best.pth")


for epoch in range(20):
    net.train()
    for xb, yb in train_loader:
        optimizer.zero_grad()
        nn.functional.cross_entropy(net(xb), yb).backward()
        optimizer.step()
    test(epoch, {passed}, net)
"""


def test_a_test_function_only_ever_given_the_validation_loader():
    """A cassava solution (sweep 21a): kuangliu's `test(epoch, testloader, net)` keeps the best
    checkpoint, but its only call passes the validation fold's loader."""
    assert lines(_CIFAR_TEST_FN.format(passed="valid_loader"), RULE) == []


@pytest.mark.parametrize("passed", ["test_loader", "loader"])
def test_a_test_function_given_test_data_or_unknown_data(passed):
    assert lines(_CIFAR_TEST_FN.format(passed=passed), RULE) == [18]


def test_a_validation_named_slot_of_a_call_given_only_test_data():
    """An NBME notebook (sweep 18e): `valid_loss, score = eval_model(model, test_dataloader, ...)`
    names the loss "valid", but the call sees only test data: selecting on it selects on test."""
    src = _VAL_AND_TEST.replace("evaluate(model, feats, labels, val_nid, test_nid)",
                                "evaluate(model, test_loader)")
    assert lines(src.format(compared="val_acc", best="best_val_acc"), RULE) == [22]


def test_an_eval_named_slot_beside_a_test_slot_of_a_call_given_both():
    """DGL's ClusterGCN example as found (sweep 21d): `eval_acc, test_acc, pred = evaluate(model,
    g, labels, val_nid, test_nid, ...)`, the epoch chosen on eval_acc."""
    src = _VAL_AND_TEST.replace("val_acc, test_acc = evaluate", "val_acc, test_acc, pred = evaluate")
    src = src.replace("val_acc", "eval_acc").replace("best_eval_acc", "best_val_acc")
    assert lines(src.format(compared="eval_acc", best="best_val_acc"), RULE) == []
    assert lines(src.format(compared="test_acc", best="best_test_acc"), RULE) == [22]


# Sweep 23: the spread of per-seed test scores, printed as a range, picks nothing; the best
# printed alone, or an argmax that picks a setting, is still the best of many test scores.
_SEEDS = SPLIT + """\
import logging
import numpy as np
from sklearn.ensemble import RandomForestClassifier
scores = []
for seed in range(10):
    model = RandomForestClassifier(random_state=seed).fit(X_train, y_train)
    scores.append(f1_score(y_test, model.predict(X_test)))
print(f"Mean: {np.mean(scores):.3f}  Std: {np.std(scores):.3f}")
"""


@pytest.mark.parametrize("shown,expected", [
    ('print(f"Range: [{min(scores):.3f}, {max(scores):.3f}]")\n', []),
    ('logging.info("range %.3f-%.3f" % (np.min(scores), np.max(scores)))\n', []),
    ('print("worst seed {}, best seed {}".format(np.argmin(scores), np.argmax(scores)))\n', []),
    ('print("best", max(scores))\n', [10]),
    ('print(f"Range: [{min(scores):.3f}, {max(other):.3f}]")\n', [10]),
    ('print(f"{min(scores)}-{max(scores)}")\nbest_seed = int(np.argmax(scores))\n', [10]),
    # the summary logged to wandb as one dict (LeoGrin/tabular-benchmark)
    ('wandb.log({"max_test_score": np.max(scores), "min_test_score": np.min(scores)})\n', []),
    ('wandb.log({"best_test_score": np.max(scores)})\n', [10]),
])
def test_the_range_of_the_test_scores_printed_is_reporting(shown, expected):
    assert lines(_SEEDS + shown, RULE) == expected


# Sweep 23: training until the test accuracy reaches a target the caller gives (the number of
# images needed) is a threshold, like a literal; a parameter the loop reassigns is a kept best.
_TO_TARGET = """\
import torch.nn as nn

def images_to_target(model, train_loader, test_loader, optimizer, {params}):
    seen, needed = 0, None
    for x, y in train_loader:
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        seen += len(y)
        acc = evaluate(model, test_loader)
        if acc >= {threshold}:
            {then}
    return needed
"""


@pytest.mark.parametrize("params,threshold,then,expected", [
    ("target_acc", "target_acc", "needed = seen\n            break", []),
    ("target_acc=0.9", "target_acc", "needed = seen\n            break", []),
    ("best_acc=0.0", "best_acc", "best_acc, needed = acc, seen", [10]),
])
def test_a_target_accuracy_given_as_a_parameter_is_a_threshold(params, threshold, then, expected):
    src = _TO_TARGET.format(params=params, threshold=threshold, then=then)
    assert lines(src, RULE) == expected


# Sweep D: reinforcement learning (Deep-RL-Hands-On, PPO scripts): the "test set" is a second
# copy of the simulator; every evaluation plays new episodes, so keeping the best-evaluated
# checkpoint is no selection on a fixed test set. A test loader in the same loop still is.
_RL_BEST = """\
import gym
import torch

env = gym.make("CartPole-v1")
{bound}
best_reward = None
for step_idx in range(100000):
    train_step(net, env, optimizer)
    if step_idx % 1000 == 0:
        rewards = {score}
        if best_reward is None or best_reward < rewards:
            torch.save(net.state_dict(), "best.dat")
            best_reward = rewards
"""


@pytest.mark.parametrize("bound,score,expected", [
    ('test_env = gym.make("CartPole-v1")', "test_net(net, test_env)", []),
    ('test_env = gym.wrappers.Monitor(gym.make("CartPole-v1"), "videos")', "evaluate(net, test_env)", []),
    ('test_sim = gym.make("CartPole-v1")', "test_net(net, test_sim)", []),
    ('test_sim = CartPoleEnv()', "test_net(net, test_sim)", []),
    ("test_sim = make_env(args)", "test_net(net, test_sim)", []),
    ("test_loader = make_loader(test_ds)", "evaluate(net, test_loader)", [10]),
    # sweep 24 (andri27's PPO): the environment and a count named like test data
    ("test_episodes = 5", 'test_game(gym.make("CartPole-v1"), net, test_episodes)', []),
    ("n_test = -1", "test_game(test_env, net, n_test)", []),
    ("test_episodes = 5", "test_game(test_loader, net, test_episodes)", [10]),
])
def test_an_evaluation_environment_is_no_test_set(bound, score, expected):
    assert lines(_RL_BEST.format(bound=bound, score=score), RULE) == expected


# Sweep D: the scores of each candidate are collected with its model, and a max is taken after
# the loop over the predictions of one model picked by a fixed key (MC-dropout spread): a
# model's outputs are not its scores. Recomputing the scores from those models is selecting.
_KEPT_WITH_MODELS = SPLIT + """\
import numpy as np
from sklearn.neural_network import MLPRegressor
results = {}
for alpha in [0.0, 0.01, 0.1]:
    model = MLPRegressor(alpha=alpha).fit(X_train, y_train)
    results[alpha] = {"f1": f1_score(y_test, model.predict(X_test)), "model": model}
    print(alpha, results[alpha]["f1"])
"""


@pytest.mark.parametrize("after,expected", [
    ('chosen = results[0.1]["model"]\n'
     "preds = np.stack([chosen.predict(X_test + 0.01 * np.random.randn(*X_test.shape)) for _ in range(20)])\n"
     'print("max uncertainty", np.max(preds.std(axis=0)))', []),
    ('probs = results[0.1]["model"].predict_proba(X_test)\nlabels = probs.argmax(axis=1)', []),
    ('best = np.argmax([r["f1"] for r in results.values()])', [9]),
    ('again = [f1_score(y_test, r["model"].predict(X_test)) for r in results.values()]\n'
     "best = np.argmax(again)", [9]),
])
def test_a_max_over_the_predictions_of_a_kept_model_is_no_selection(after, expected):
    assert lines(_KEPT_WITH_MODELS + after + "\n", RULE) == expected


# Sweep C: the comparison kept in a flag, then tested (`is_best = acc > best_acc`, `if is_best:`).
_FLAGGED_BEST = """\
import torch

best_acc = 0.0
for epoch in range(50):
    train_one_epoch(model, train_loader)
    acc = evaluate(model, test_loader)
    is_best = {compare}
    {flag_test}
        best_acc = acc
        torch.save(model.state_dict(), "best.pt")
"""


@pytest.mark.parametrize("compare,flag_test,expected", [
    ("acc > best_acc", "if is_best:", [6]),
    ("acc > best_acc", "if is_best and epoch > 10:", [6]),
    ("acc > best_acc", "if epoch % 10 == 0:", []),   # the flag is never tested
    ("acc > 0.5", "if is_best:", []),                 # a threshold, no kept best
])
def test_a_comparison_kept_in_a_flag_then_tested(compare, flag_test, expected):
    assert lines(_FLAGGED_BEST.format(compare=compare, flag_test=flag_test), RULE) == expected


# Sweep C (pytorch examples' mnist-style scripts): `prec1 = test()`, a helper with no data
# argument whose body loops over the module's test loader.
_NO_ARGUMENT_HELPER = """\
import torch

test_loader = torch.utils.data.DataLoader(test_set, batch_size=64)
{other}

def test({params}):
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in {loader}:
            correct += (model(x).argmax(1) == y).sum().item()
    return correct / len({loader}.dataset)

best_prec1 = 0.0
for epoch in range(10):
    train()
    prec1 = test({passed})
    best_prec1 = max(prec1, best_prec1)
"""


@pytest.mark.parametrize("other,params,loader,passed,expected", [
    ("", "", "test_loader", "", [17]),
    ("", "epoch", "test_loader", "epoch", [17]),
    ("val_loader = torch.utils.data.DataLoader(val_set, batch_size=64)", "", "val_loader", "", []),
    ("val_loader = torch.utils.data.DataLoader(val_set, batch_size=64)", "loader", "loader", "val_loader", []),
])
def test_a_helper_scoring_the_module_test_loader(other, params, loader, passed, expected):
    src = _NO_ARGUMENT_HELPER.format(other=other, params=params, loader=loader, passed=passed)
    assert lines(src, RULE) == expected


# j-saez/YOLOV1: the boxes come from the test loader through one helper, and a helper imported
# from the project's own module scores them (`mean_average_precision`).
_BOXES_THEN_MAP = """\
import torch
from training.utils import get_bboxes, save_checkpoint
from training.metrics import mean_average_precision

best_test_map = 0.0
for epoch in range(100):
    train_one_epoch(model, train_loader, optimizer)
    pred_boxes, true_boxes = get_bboxes({loader}, model, iou_threshold=0.5)
    score = mean_average_precision(pred_boxes, true_boxes, iou_threshold=0.5)
    if score > best_test_map:
        best_test_map = score
        save_checkpoint({{"state_dict": model.state_dict()}}, "best.pt")
"""


@pytest.mark.parametrize("loader,expected", [
    ("test_loader", [9]),
    ("val_loader", []),
    ("train_loader", []),
])
def test_a_score_of_what_a_helper_computed_from_the_test_loader(loader, expected):
    assert lines(_BOXES_THEN_MAP.format(loader=loader), RULE) == expected


# Sweep 26 (andri27-ts' PPO): a helper given an environment and an episode count loops over
# `range(test_episodes)`: episodes played, no test data.
def test_a_helper_looping_over_a_count_of_test_episodes_is_no_test_score():
    src = """\
import gym
import torch

test_env = gym.make("Pendulum-v0")
test_episodes = 5

def test_game(agent):
    total = 0.0
    for _ in range(test_episodes):
        total += play_episode(test_env, agent)
    return total / test_episodes

best = None
for n_iter in range(1000):
    train_step(agent)
    reward = test_game(agent)
    if best is None or reward > best:
        best = reward
        torch.save(agent.state_dict(), "best.pth")
"""
    assert lines(src, RULE) == []


# Sweep 26 (conformal-prediction plots): `max_c = max(max_c, np.max(coverage))` over the test
# curves of several models, used only as the limits of the figure, picks nothing; the same
# running max printed (another figure's `max_c`, bound again) is still the best of them.
_PLOT_LIMITS = """\
import numpy as np
import matplotlib.pyplot as plt
from toolbox.tools import evaluate_coverage

fig, ax = plt.subplots()
max_c = 0
for result in results:
    coverage = evaluate_coverage(test_X, result.pred_sets)
    max_c = max(max_c, np.max(coverage))
    ax.plot(bins, coverage)
ax.set_ylim(0, max_c * 1.2)
{after}
"""


@pytest.mark.parametrize("after,expected", [
    ("", []),
    ("max_c = 0\nfor result in results:\n    max_c = max(max_c, evaluate_coverage(test_X, result.pred_sets))\n"
     "print(max_c)", [14]),
    ('print("best coverage", max_c)', [8]),
])
def test_a_running_max_used_only_as_plot_limits(after, expected):
    assert lines(_PLOT_LIMITS.format(after=after), RULE) == expected


def test_spread_of_a_chosen_models_monte_carlo_predictions_is_no_selection():
    """Shakeri-Lab's dl-course (sweep 26d): the model is picked by a fixed key and its MC-dropout
    predictions' largest spread is printed; a method named for predicting counts like predict."""
    src = """\
import numpy as np
from sklearn.neural_network import MLPRegressor
from sklearn.model_selection import train_test_split

X_train, X_test, y_train, y_test = train_test_split(X, y)


def evaluate_model(model, X_test, y_test):
    return {"rmse": float(np.sqrt(np.mean((model.predict(X_test) - y_test) ** 2)))}


results = {}
for alpha in [0.0, 0.01, 0.1]:
    model = MLPRegressor(alpha=alpha).fit(X_train, y_train)
    metrics = evaluate_model(model, X_test, y_test)
    results[alpha] = {"metrics": metrics, "model": model}
    print(metrics["rmse"])

chosen = results[0.1]["model"]
mc = chosen.monte_carlo_predict(X_test[:10], n_samples=100)
print(f"Max uncertainty: {np.max(mc['std']):.3f}")
"""
    assert lines(src, RULE) == []
    picked = src.replace('print(f"Max uncertainty: {np.max(mc[\'std\']):.3f}")',
                         'best = max(results, key=lambda a: results[a]["metrics"]["rmse"])')
    assert lines(picked, RULE) != []
