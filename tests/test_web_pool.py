"""The worker pool's hard limits, and how one request's failure becomes an HTTP status.

The pool tests give the workers endpoints of their own (sleep, allocate, crash), so each
limit is met on purpose and exactly: the workers are forked from this process
(``start_method="fork"``) after the endpoints are registered.
"""

from __future__ import annotations

import asyncio
import json
import os
import time

import pytest

from derivkit.errors import InputError, LimitError
from derivkit.web import endpoints as endpoints_module
from derivkit.web.endpoints import Endpoint, NotAvailable
from derivkit.web.fields import Field
from derivkit.web.limits import GRACE, ServerLimits, describe_size, parse_size
from derivkit.web.pool import Busy, WorkerPool
from derivkit.web.worker import answer


def _sleep(body):
    time.sleep(body["seconds"])
    return {"slept": body["seconds"], "pid": os.getpid()}


def _spin(body):
    end = time.process_time() + body["seconds"]
    while time.process_time() < end:
        pass
    time.sleep(body["then_sleep"] or 0)
    return {"spun": body["seconds"], "pid": os.getpid()}


def _hog(body):
    block = bytearray(body["mib"] * 2**20)
    return {"bytes": len(block)}


def _crash(body):
    os._exit(3)


def _raise(body):
    raise {
        "limit": LimitError("the thing is too big: the limit is 5", limit="size", value=5),
        "input": InputError("'y' is not a variable here"),
        "missing": NotAvailable("not in this version"),
        "deep": RecursionError("maximum recursion depth exceeded"),
        "digits": ValueError("Exceeds the limit (4300 digits) for integer string conversion"),
        "bug": KeyError("boom"),
    }[body["what"]]


TEST_ENDPOINTS = {
    "sleep": Endpoint("sleep", "Sleep", "", (Field("seconds", "expr", required=True),), _sleep),
    "spin": Endpoint("spin", "Spin", "", (Field("seconds", "expr", required=True), Field("then_sleep", "expr")), _spin),
    "hog": Endpoint("hog", "Hog", "", (Field("mib", "integer", required=True),), _hog),
    "crash": Endpoint("crash", "Crash", "", (), _crash),
    "raise": Endpoint("raise", "Raise", "", (Field("what", "text", required=True),), _raise),
}


@pytest.fixture
def test_endpoints(monkeypatch):
    for name, endpoint in TEST_ENDPOINTS.items():
        monkeypatch.setitem(endpoints_module.ENDPOINTS, name, endpoint)


def run_pool(limits: ServerLimits, scenario):
    """Run ``scenario(pool)`` against a started pool of forked workers, then close it."""

    async def main():
        pool = WorkerPool(limits, start_method="fork")
        await pool.start()
        try:
            return await scenario(pool)
        finally:
            await pool.close()

    return asyncio.run(main())


def reply(pair):
    status, body = pair
    return status, json.loads(body)


# --- answer(): failures become statuses ---------------------------------------------------------


@pytest.mark.parametrize("what, status, keys", [
    ("limit", 422, {"error": "the thing is too big: the limit is 5", "limit": "size", "value": 5}),
    ("input", 400, {"error": "'y' is not a variable here"}),
    ("missing", 501, {"error": "not in this version"}),
    ("deep", 422, {"error": "the input is too deeply nested to work on", "limit": "depth"}),
    ("digits", 422, {"error": "a number in the result has too many digits to write out (over 4300)",
                     "limit": "size"}),
])
def test_answer_maps_errors_to_statuses(test_endpoints, what, status, keys):
    assert reply(answer("raise", {"what": what})) == (status, keys)


def test_a_bug_is_500_without_a_traceback_and_is_logged(test_endpoints, caplog):
    status, body = reply(answer("raise", {"what": "bug"}))
    assert status == 500 and set(body) == {"error"} and "boom" not in body["error"] and "Traceback" not in body["error"]
    assert "internal error in /api/raise" in caplog.text and "KeyError: 'boom'" in caplog.text


def test_answer_replaces_non_finite_floats_by_null(monkeypatch):
    monkeypatch.setitem(endpoints_module.ENDPOINTS, "nan", Endpoint("nan", "", "", (), lambda b: {"v": float("nan")}))
    assert reply(answer("nan", {})) == (200, {"v": None})


# --- the pool's limits ----------------------------------------------------------------------------------


def test_a_job_past_the_time_limit_is_killed_and_its_worker_replaced(test_endpoints):
    async def scenario(pool):
        start = time.monotonic()
        status, body = reply(await pool.run("sleep", {"seconds": 30}))
        elapsed = time.monotonic() - start
        after = reply(await pool.run("sleep", {"seconds": 0}))
        return status, body, elapsed, after, pool.stats()

    status, body, elapsed, after, stats = run_pool(ServerLimits(workers=1, time=0.5, demote_after=0.1), scenario)
    assert status == 422 and body["limit"] == "seconds" and body["value"] == 0.5
    assert body["error"] == "the work took longer than this server allows one request (0.5 s) and was stopped"
    assert 0.5 + GRACE <= elapsed < 0.5 + GRACE + 2
    assert after[0] == 200
    assert stats["timed_out"] == 1 and stats["replaced"] == 1


def test_a_job_past_the_memory_limit_is_422_and_the_worker_replaced(test_endpoints):
    async def scenario(pool):
        big = reply(await pool.run("hog", {"mib": 256}))
        small = reply(await pool.run("hog", {"mib": 4}))
        return big, small, pool.stats()

    big, small, stats = run_pool(ServerLimits(workers=1, memory=64 * 2**20), scenario)
    assert big[0] == 422 and big[1]["limit"] == "memory" and big[1]["value"] == 64 * 2**20
    assert "(64 MiB)" in big[1]["error"]
    assert small == (200, {"bytes": 4 * 2**20})
    assert stats["out_of_memory"] == 1 and stats["replaced"] == 1


def test_a_crashed_worker_is_500_and_replaced(test_endpoints):
    async def scenario(pool):
        return reply(await pool.run("crash", {})), reply(await pool.run("sleep", {"seconds": 0})), pool.stats()

    crashed, after, stats = run_pool(ServerLimits(workers=1), scenario)
    assert crashed[0] == 500 and "stopped unexpectedly" in crashed[1]["error"]
    assert after[0] == 200 and stats["crashed"] == 1


def test_a_long_job_is_demoted_and_short_ones_do_not_wait_for_it(test_endpoints):
    async def scenario(pool):
        # 0.3 s of CPU (demoted at 0.1 s), then 1.5 s of waiting
        long_job = asyncio.ensure_future(pool.run("spin", {"seconds": 0.3, "then_sleep": 1.5}))
        while not pool.counts["demoted"]:
            await asyncio.sleep(0.02)
        demoted_pid = next(iter(pool._busy))
        nice = os.getpriority(os.PRIO_PROCESS, demoted_pid)
        start = time.monotonic()
        short = reply(await pool.run("sleep", {"seconds": 0}))
        waited = time.monotonic() - start
        return reply(await long_job), short, waited, nice, demoted_pid, pool.stats()

    long_reply, short, waited, nice, demoted_pid, stats = run_pool(
        ServerLimits(workers=1, time=5, demote_after=0.1), scenario)
    assert long_reply == (200, {"spun": 0.3, "pid": demoted_pid})
    assert short[0] == 200 and short[1]["pid"] != demoted_pid
    assert waited < 0.8, "the short job waited for the long one"
    assert nice == 19 and stats["demoted"] == 1


def test_waiting_is_not_computing(test_endpoints):
    """A request that waits (here: sleeps) uses no CPU and is not demoted, however long it takes."""

    async def scenario(pool):
        return reply(await pool.run("sleep", {"seconds": 0.6})), pool.stats()

    slept, stats = run_pool(ServerLimits(workers=1, time=5, demote_after=0.1, set_aside_after=0.1), scenario)
    assert slept[0] == 200 and stats["demoted"] == 0 and stats["set_aside"] == 0  # nobody was waiting


def test_a_request_that_others_wait_for_is_set_aside(test_endpoints):
    async def scenario(pool):
        first = asyncio.ensure_future(pool.run("sleep", {"seconds": 1.5}))
        await asyncio.sleep(0.05)
        start = time.monotonic()
        second = reply(await pool.run("sleep", {"seconds": 0}))
        waited = time.monotonic() - start
        return reply(await first), second, waited, pool.stats()

    first, second, waited, stats = run_pool(ServerLimits(workers=1, time=5, set_aside_after=0.2), scenario)
    assert first[0] == 200 and second[0] == 200 and first[1]["pid"] != second[1]["pid"]
    assert waited < 1.0, "the waiting request was not given a fresh worker"
    assert stats["set_aside"] == 1 and stats["demoted"] == 0


def test_a_full_queue_is_busy(test_endpoints):
    async def scenario(pool):
        first = asyncio.ensure_future(pool.run("sleep", {"seconds": 0.5}))
        await asyncio.sleep(0.1)
        with pytest.raises(Busy):
            await pool.run("sleep", {"seconds": 0})
        return reply(await first), pool.stats()

    first, stats = run_pool(ServerLimits(workers=1, queue=0, max_demoted=0), scenario)
    assert first[0] == 200 and stats["turned_away"] == 1


def test_waiting_requests_are_served_in_turn(test_endpoints):
    async def scenario(pool):
        jobs = [pool.run("sleep", {"seconds": 0.05}) for _ in range(6)]
        return [reply(r)[0] for r in await asyncio.gather(*jobs)]

    assert run_pool(ServerLimits(workers=2, max_demoted=0), scenario) == [200] * 6


def test_a_worker_retires_after_max_jobs(test_endpoints):
    async def scenario(pool):
        return [reply(await pool.run("sleep", {"seconds": 0}))[1]["pid"] for _ in range(5)]

    pids = run_pool(ServerLimits(workers=1, max_jobs=2), scenario)
    assert pids[0] == pids[1] != pids[2] == pids[3] != pids[4]


def test_close_stops_every_worker(test_endpoints):
    async def scenario(pool):
        await pool.run("sleep", {"seconds": 0})
        return [w.process for w in pool._idle]

    processes = run_pool(ServerLimits(workers=2), scenario)
    for p in processes:
        p.join(5)
        assert not p.is_alive()


# --- limits ------------------------------------------------------------------------------------


def test_limits_refuse_nonsense():
    with pytest.raises(InputError, match="at least one worker"):
        ServerLimits(workers=0)
    with pytest.raises(InputError, match="at least 16 MiB"):
        ServerLimits(memory=2**20)
    with pytest.raises(InputError, match="expected a size such as 512M"):
        parse_size("lots")
    assert parse_size("1.5G") == 3 * 2**29 and describe_size(1536 * 2**20) == "1.5 GiB"
