"""Call options under failure: timeouts, retries, hedges, fallbacks, breakers, deadlines."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml

import simperf
from simperf import SpecError, from_dict
from simperf.cli import main
from simperf.spec.resilience import Cause


def spec(call: dict[str, Any], **app: Any) -> dict[str, Any]:
    """app calls back.get with the options in ``call``."""
    return {
        "name": "calls",
        "workload": {
            "arrival": {"kind": "poisson", "rate": 50},
            "classes": [{"name": "req", "entry": "app", "endpoint": "serve"}],
        },
        "components": {
            "app": {
                "kind": "app_server",
                "endpoints": {"serve": [{"call": "back.get", **call}]},
                **app,
            },
            "back": {"kind": "app_server", "endpoints": {"get": [{"cpu": "5ms"}]}},
            "other": {"kind": "app_server", "endpoints": {"get": [{"cpu": "5ms"}]}},
        },
        "run": {"duration": 1},
    }


def test_a_full_call_is_accepted_with_units() -> None:
    scenario = from_dict(
        spec(
            {
                "timeout": "50ms",
                "retry": {
                    "attempts": 3,
                    "when": ["timeout", "rejected"],
                    "backoff": {"base": "10ms", "cap": "1s", "jitter": "decorrelated"},
                    "budget": {"ratio": 0.1},
                },
                "hedge": {"after": "20ms"},
                "fallback": {"cpu": "1ms"},
            },
            breakers={"back": {"window": 20, "slow_call": "40ms", "slow_ratio": 0.5}},
        )
    )
    call = scenario.components["app"].endpoints["serve"][0]
    assert call.timeout == 0.05 and call.retry.backoff.base == 0.01
    assert scenario.components["app"].breakers["back"].slow_call == 0.04


@pytest.mark.parametrize(
    ("call", "app", "message"),
    [
        ({"timeout": 0}, {}, "endpoints.serve[0].call.timeout: must be > 0"),
        ({"retry": {"attempts": 1}}, {}, "call.retry.attempts: must be >= 2"),
        (
            {"retry": {"attempts": 2, "when": []}},
            {},
            "call.retry.when: must have at least 1 item(s)",
        ),
        (
            {"retry": {"attempts": 2, "when": ["bad"]}},
            {},
            "call.retry.when[0]: Input should be 'timeout', 'rejected'",
        ),
        (
            {"retry": {"attempts": 2, "backoff": {"base": "1s", "cap": "10ms"}}},
            {},
            "call.retry.backoff.cap: must be >= base",
        ),
        ({"fallback": {}}, {}, "call.fallback: give exactly one of skip: true or cpu"),
        (
            {},
            {"breakers": {"back": {"window": 5, "min_calls": 10}}},
            "components.app.breakers.back.min_calls: must be <= window",
        ),
        (
            {"timeout": "10ms", "retry": {"attempts": 2, "budget": {"ratio": 2}}},
            {},
            "call.retry.budget.ratio: must be <= 1.0",
        ),
    ],
)
def test_bad_fields_name_their_path(
    call: dict[str, Any], app: dict[str, Any], message: str
) -> None:
    with pytest.raises(SpecError, match=r"components\.app") as info:
        from_dict(spec(call, **app))
    assert message in str(info.value)


def test_a_retry_only_on_timeout_needs_a_timeout() -> None:
    with pytest.raises(SpecError) as info:
        from_dict(spec({"retry": {"attempts": 3, "when": ["timeout"]}}))
    assert (
        "components.app.endpoints.serve[0].retry.when: retries only on timeout, "
        "but the call has no timeout"
    ) in str(info.value)
    from_dict(spec({"retry": {"attempts": 3, "when": ["timeout", "rejected"]}}))


def test_a_call_timeout_longer_than_the_class_deadline_is_refused() -> None:
    data = spec({"timeout": "2s"})
    data["workload"]["classes"][0]["timeout"] = "1s"
    with pytest.raises(SpecError) as info:
        from_dict(data)
    assert (
        "components.app.endpoints.serve[0].timeout: 2 s is longer than the timeout of "
        "class 'req' (1 s), which reaches it"
    ) in str(info.value)
    data["workload"]["classes"][0]["timeout"] = "3s"
    from_dict(data)


def test_dropping_expired_requests_needs_a_class_deadline_that_reaches_the_queue() -> None:
    data = spec({}, queue={"drop_expired": True})
    with pytest.raises(SpecError) as info:
        from_dict(data)
    assert (
        "components.app.queue.drop_expired: no request class or call with a timeout or a "
        "hedge reaches 'app', so no request it queues has a deadline to pass or a caller to "
        "cancel it"
    ) in str(info.value)
    data["workload"]["classes"][0]["timeout"] = "1s"
    assert from_dict(data).components["app"].queue.drop_expired


def test_a_timed_call_gives_the_queues_it_reaches_a_deadline_to_drop_on() -> None:
    data = spec({}, queue={"drop_expired": True})
    data["components"]["back"]["queue"] = {"drop_expired": True}
    data["components"]["back"]["endpoints"]["get"] = [{"call": "other.get"}]
    with pytest.raises(SpecError) as info:
        from_dict(data)
    assert "components.back.queue.drop_expired: no request class or call" in str(info.value)
    # app's timed call to back reaches back and, through back's call, other; not app
    data["components"]["app"]["endpoints"]["serve"][0]["timeout"] = "50ms"
    data["components"]["other"]["queue"] = {"drop_expired": True}
    with pytest.raises(SpecError) as info:
        from_dict(data)
    problems = str(info.value)
    assert "components.app.queue.drop_expired" in problems
    assert "components.back.queue" not in problems and "components.other" not in problems
    del data["components"]["app"]["queue"]
    assert from_dict(data).components["other"].queue.drop_expired


def test_a_hedged_call_gives_the_queues_it_reaches_copies_to_cancel() -> None:
    # no deadline, but the losing copies are cancelled: dropping them is what it is for
    data = spec({"hedge": {"after": "10ms"}})
    data["components"]["back"]["queue"] = {"drop_expired": True}
    assert from_dict(data).components["back"].queue.drop_expired


def test_a_breaker_on_a_route_that_does_not_exist_is_refused() -> None:
    with pytest.raises(SpecError) as info:
        from_dict(spec({}, breakers={"other": {}}))
    assert "components.app.breakers.other: 'app' never calls 'other' (it calls: back)" in str(
        info.value
    )


def test_bad_call_options_exit_2_with_the_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = spec({"timeout": "2s"}, breakers={"nowhere": {}})
    data["workload"]["classes"][0]["timeout"] = "1s"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "components.app.endpoints.serve[0].timeout: 2 s is longer" in err
    assert "components.app.breakers.nowhere: 'app' never calls 'nowhere'" in err
    assert "Traceback" not in err


def test_every_cause_the_runtime_records_can_be_retried() -> None:
    # retry.when names outcome codes; one the runtime records but `when` refuses cannot be
    # retried at all (an errors fault's injected_error, a partition, a load shed)
    recorded: set[str] = set()
    for source in Path(simperf.__file__).parent.rglob("*.py"):
        for args in re.findall(r"\.cause\(([^)]*)\)", source.read_text(encoding="utf-8")):
            recorded.update(re.findall(r'"([a-z_]+)"', args))
    assert "injected_error" in recorded and "safety_cap" in recorded  # the scan works
    # but a cancellation: only a call whose own caller no longer waits for it is
    # cancelled, and a retry of it would be sent for nobody
    assert "cancelled" in recorded and "cancelled" not in get_args(Cause)
    recorded.discard("cancelled")
    assert recorded == set(get_args(Cause)), sorted(recorded ^ set(get_args(Cause)))
