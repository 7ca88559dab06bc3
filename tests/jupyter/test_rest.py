"""The server extension's REST API, on a real JupyterLab started on 127.0.0.1."""
from __future__ import annotations

import pytest

requests = pytest.importorskip("requests")


@pytest.fixture(scope="module")
def http(lab):
    s = requests.Session()
    s.get(f"{lab.url}/lab", timeout=30)  # sets the _xsrf cookie that POSTs must echo
    s.headers["X-XSRFToken"] = s.cookies.get("_xsrf", "")
    s.base = f"{lab.url}/nntutor/api"
    return s


def test_quiz_for_the_example_notebook_starts_with_its_diagnostics(http):
    r = http.get(f"{http.base}/quiz", params={"path": "notebook.ipynb", "limit": 5})
    assert r.status_code == 200, r.text
    data = r.json()
    assert [c["id"] for c in data["concepts"]][:3] == ["softmax", "data-leakage", "train-eval-mode"]
    assert len(data["items"]) == 5
    assert data["items"][0]["concept"] == "softmax"
    assert "answer" not in data["items"][0]
    assert data["scores"] == []


def test_answer_is_checked_and_recorded_server_side(http, lab):
    r = http.post(f"{http.base}/answer", json={"item_id": "dropout-4", "choice": False})
    assert r.status_code == 200, r.text
    fb = r.json()
    assert fb["correct"] is True
    assert fb["explanations"][1].startswith("Right")
    assert fb["interview_question"] == {"id": "000#16", "text": "What is dropout?"}
    assert fb["demo"] == "dropout"
    r = http.post(f"{http.base}/answer", json={"item_id": "dropout-1", "choice": 2})
    assert r.json()["correct"] is False
    progress = http.get(f"{http.base}/progress").json()["scores"]
    assert progress == [{"concept": "dropout", "title": "Dropout", "answered": 2, "correct": 1}]
    assert lab.progress_db.is_file()  # under the (temp) Jupyter data dir


def test_demo_source(http):
    r = http.get(f"{http.base}/demo", params={"concept": "dropout"})
    assert r.status_code == 200
    assert 'run("dropout")' in r.json()["source"]
    assert http.get(f"{http.base}/demo", params={"concept": "bfs-dfs"}).status_code == 404


@pytest.mark.parametrize("body,status", [
    ({"item_id": "no-such-item", "choice": 0}, 404),
    ({"item_id": "dropout-1", "choice": "zero"}, 400),
    ({"item_id": "dropout-1"}, 400),
    ("not json", 400),
])
def test_bad_answers(http, body, status):
    if isinstance(body, str):
        r = http.post(f"{http.base}/answer", data=body)
    else:
        r = http.post(f"{http.base}/answer", json=body)
    assert r.status_code == status
    assert r.json()["message"]


def test_quiz_errors(http):
    assert http.get(f"{http.base}/quiz", params={"path": "missing.ipynb"}).status_code == 404
    assert http.get(f"{http.base}/quiz", params={"path": "x.py"}).status_code == 400
    assert http.get(f"{http.base}/quiz", params={"limit": "many"}).status_code == 400
    # No notebook: spaced repetition over the whole catalog.
    assert len(http.get(f"{http.base}/quiz").json()["items"]) == 10


def test_post_without_xsrf_is_refused(lab):
    r = requests.post(f"{lab.url}/nntutor/api/answer", json={"item_id": "dropout-1", "choice": 0})
    assert r.status_code == 403
