"""One set of vectors (sync_vectors.json), two implementations: the patrol app's JavaScript (run here with
`node --test`, so CI runs it) and the reference client sync/device/client.py with sync/hlc.py."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from sync.device.client import DeviceClient, RETRY_STATUSES, SyncError, _Shrink
from sync.hlc import Clock, parse

HERE = Path(__file__).parent
VECTORS = json.loads((HERE / "sync_vectors.json").read_text(encoding="utf-8"))
IN_CI = __import__("os").environ.get("CI", "").lower() in ("1", "true", "yes")


def test_javascript_unit_tests_pass_under_node():
    node = shutil.which("node")
    if node is None:
        if IN_CI:
            pytest.fail("node is not installed (CI=true: the JS tests must run)")
        pytest.skip("node is not installed")
    run = subprocess.run([node, "--test", str(HERE / "js")], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "# fail 0" in run.stdout


@pytest.mark.parametrize("case", VECTORS["hlc_parse"], ids=lambda c: str(c["text"]))
def test_hlc_parse(case):
    if case.get("error"):
        with pytest.raises(ValueError):
            parse(case["text"])
    else:
        assert list(parse(case["text"])) == case["ok"]


def test_hlc_compare():
    for a, b, want in VECTORS["hlc_compare"]:
        pa, pb = tuple(parse(a)), tuple(parse(b))
        assert (pa > pb) - (pa < pb) == want, (a, b)


@pytest.mark.parametrize("case", VECTORS["hlc_clock"], ids=lambda c: c["name"])
def test_hlc_clock(case):
    walls = iter(step[1] for step in case["steps"])
    clock = Clock(case["node"], last=parse(case["start"]) if case["start"] else None, wall=lambda: next(walls))
    got = [str(clock.tick() if step[0] == "tick" else clock.receive(parse(step[2]))) for step in case["steps"]]
    assert got == case["expect"]


@pytest.mark.parametrize("case", VECTORS["results"], ids=lambda c: c["name"])
def test_result_handling_of_the_reference_client(case):
    client = DeviceClient(":memory:")
    record_id = "0d6b8c1e-7f3a-4b2d-9e8f-1a2b3c4d5e6f"
    if case["replica"] is not None:
        client._store(case["collection"], record_id, 1, case["replica"])
    client._apply_result(case["collection"], record_id, case["op"], case["fields"], case["result"])
    row = client.db.execute("SELECT fields FROM records WHERE collection = ? AND id = ?",
                            (case["collection"], record_id)).fetchone()
    stored = json.loads(row[0]) if row else None
    assert stored == (case["replica"] if case["record"] == "unchanged" else case["record"])
    conflicts = client.conflicts()
    if case["conflict"] is None:
        assert conflicts == []
    else:
        (logged,) = conflicts
        assert {k: v for k, v in logged.items() if k not in ("op_id", "collection", "id")} == case["conflict"]


class _Scripted:
    def __init__(self, statuses):
        self.statuses = list(statuses)

    def post(self, body):
        status = self.statuses.pop(0)
        if status is None:
            from sync.device.client import TransportError
            raise TransportError("timed out")
        return status, {"ok": True} if status == 200 else {"error": "x", "message": "x"}


@pytest.mark.parametrize("case", VECTORS["retry"], ids=lambda c: f"{c['status']}-{c['batch']}")
def test_retry_policy_of_the_reference_client(case):
    client = DeviceClient(":memory:", transport=_Scripted([case["status"], 200]), max_attempts=2, sleep=lambda s: None)
    body = {"changes": [{}] * case["batch"]}
    expect = case["expect"]
    if expect == "ok":
        assert client._request(body) == {"ok": True}
    elif expect == "retry":
        assert client._request(body) == {"ok": True}  # the same body went again and got through
        assert case["status"] is None or case["status"] in RETRY_STATUSES
    elif expect == "shrink":
        with pytest.raises(_Shrink):
            client._request(body)
    else:
        with pytest.raises(SyncError):
            client._request(body)
