"""Sessions, rate_limit and leaderboard specs: forms, defaults, errors with paths, exit 2."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

import simperf
from simperf.cli import main
from simperf.errors import SpecError
from simperf.spec.cache_ops import LeaderboardStep, RateLimitStep
from simperf.spec.sessions import SharedSessionStore

SPEC: dict[str, Any] = {
    "name": "redis_uses",
    "keyspaces": {"none": {"keys": 1, "popularity": {"model": "uniform"}}},
    "workload": {
        "arrival": {"kind": "poisson", "rate": 100},
        "clients": {"addresses": 100},
        "classes": [
            {"name": "page", "entry": "app", "endpoint": "page"},
            {"name": "score", "entry": "app", "endpoint": "score"},
        ],
    },
    "components": {
        "app": {
            "kind": "app_server",
            "replicas": 2,
            "sessions": {"store": {"cache": "redis"}, "idle_timeout": "10min", "reauth": "login"},
            "endpoints": {
                "page": [
                    {"rate_limit": {"cache": "redis", "rate": "50/s", "burst": 10}},
                    {"cpu": "1ms"},
                ],
                "score": [{"leaderboard": {"cache": "redis", "board": "scores", "op": "add"}}],
                "login": [{"cpu": "10ms"}],
            },
        },
        "redis": {"kind": "cache", "keyspace": "none", "capacity": 10},
    },
    "faults": [{"component": "app", "instance": 1, "at": 2, "for": 1}],
    "run": {"duration": 5, "warmup": 1},
}


def spec(**changes: Any) -> dict[str, Any]:
    """SPEC with ``a__b__0__c=value`` changes (None deletes the field)."""
    data = copy.deepcopy(SPEC)
    for path, value in changes.items():
        node: Any = data
        *parents, last = path.split("__")
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        key: Any = int(last) if last.isdigit() else last
        if value is None:
            del node[key]
        else:
            node[key] = value
    return data


def test_the_example_validates_with_defaults() -> None:
    scenario = simperf.from_dict(SPEC)
    app = scenario.components["app"]
    assert app.sessions is not None
    assert app.sessions.store == SharedSessionStore(cache="redis")
    assert app.sessions.idle_timeout == 600
    page = app.endpoints["page"][0]
    assert isinstance(page, RateLimitStep)
    assert (page.rate_limit.rate, page.rate_limit.burst, page.rate_limit.per) == (50, 10, "client")
    board = app.endpoints["score"][0]
    assert isinstance(board, LeaderboardStep)
    assert (board.leaderboard.count, board.leaderboard.log_cost) == (10, 100e-9)


def test_local_store_is_the_default() -> None:
    scenario = simperf.from_dict(spec(components__app__sessions={"idle_timeout": 60}))
    assert scenario.components["app"].sessions.store == "local"


BAD: dict[str, tuple[dict[str, Any], str]] = {
    "zero rate": (
        {"components__app__endpoints__page__0__rate_limit__rate": 0},
        "components.app.endpoints.page[0].rate_limit.rate: must be > 0",
    ),
    "zero burst": (
        {"components__app__endpoints__page__0__rate_limit__burst": 0},
        "components.app.endpoints.page[0].rate_limit.burst: must be >= 1",
    ),
    "limit on an unknown cache": (
        {"components__app__endpoints__page__0__rate_limit__cache": "memcache"},
        "components.app.endpoints.page[0].rate_limit.cache: unknown cache 'memcache' "
        "(caches: redis)",
    ),
    "limit on something that is not a cache": (
        {"components__app__endpoints__page__0__rate_limit__cache": "app"},
        "components.app.endpoints.page[0].rate_limit.cache: 'app' is not a cache",
    ),
    "per client without addresses": (
        {"workload__clients": None},
        "components.app.endpoints.page[0].rate_limit.per: per client needs "
        "workload.clients.addresses",
    ),
    "bad per": (
        {"components__app__endpoints__page__0__rate_limit__per": "user"},
        "components.app.endpoints.page[0].rate_limit.per:",
    ),
    "window with a token bucket": (
        {"components__app__endpoints__page__0__rate_limit__window": "1s"},
        "components.app.endpoints.page[0].rate_limit.window: only applies to algorithm "
        "sliding_window",
    ),
    "burst with a sliding window": (
        {"components__app__endpoints__page__0__rate_limit__algorithm": "sliding_window"},
        "components.app.endpoints.page[0].rate_limit.burst: only applies to algorithm token_bucket",
    ),
    "sliding window admitting nothing": (
        {
            "components__app__endpoints__page__0__rate_limit": {
                "cache": "redis",
                "rate": "0.5/s",
                "algorithm": "sliding_window",
                "window": "1s",
            }
        },
        "components.app.endpoints.page[0].rate_limit.window: rate x window must allow at "
        "least 1 request",
    ),
    "session store on an unknown cache": (
        {"components__app__sessions__store": {"cache": "nope"}},
        "components.app.sessions.store.cache: unknown cache 'nope' (caches: redis)",
    ),
    "session store neither local nor a cache": (
        {"components__app__sessions__store": "redis"},
        "components.app.sessions.store: expected local or {cache: NAME}",
    ),
    "session store with an unknown field": (
        {"components__app__sessions__store": {"cache": "redis", "ttl": 5}},
        "components.app.sessions.store.ttl: unknown field",
    ),
    "sessions without addresses": (
        {
            "workload__clients": None,
            "components__app__endpoints__page": [{"cpu": "1ms"}],
            "components__app__endpoints__score": [{"cpu": "1ms"}],
        },
        "components.app.sessions: sessions are per client address: needs "
        "workload.clients.addresses",
    ),
    "unknown reauth endpoint": (
        {"components__app__sessions__reauth": "signin"},
        "components.app.sessions.reauth: 'app' has no endpoint 'signin' "
        "(it has: login, page, score)",
    ),
    "zero idle timeout": (
        {"components__app__sessions__idle_timeout": 0},
        "components.app.sessions.idle_timeout: must be > 0",
    ),
    "reauth using sessions": (
        {"components__app__sessions__endpoints": ["page", "login"]},
        "components.app.sessions.endpoints[1]: the reauth endpoint cannot use sessions itself",
    ),
    "leaderboard on an unknown cache": (
        {"components__app__endpoints__score__0__leaderboard__cache": "nope"},
        "components.app.endpoints.score[0].leaderboard.cache: unknown cache 'nope'",
    ),
    "bad leaderboard op": (
        {"components__app__endpoints__score__0__leaderboard__op": "pop"},
        "components.app.endpoints.score[0].leaderboard.op:",
    ),
    "fault on a missing app instance": (
        {"faults__0__instance": 2},
        "faults[0].instance: 'app' has 2 instance(s), numbered from 0",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_specs_name_the_path(case: str) -> None:
    changes, message = BAD[case]
    with pytest.raises(SpecError) as raised:
        simperf.from_dict(spec(**changes))
    assert message in str(raised.value)


def test_balancers_cannot_slow_down() -> None:
    data = spec(faults__0__component="lb")
    data["faults"][0].update(kind="slow", factor=2, instance=None)
    data["components"]["lb"] = {"kind": "load_balancer", "backends": "app"}
    with pytest.raises(SpecError) as raised:
        simperf.from_dict(data)
    assert (
        "faults[0].component: 'lb' cannot take a slow fault (its kind is load_balancer; "
        "it supports: crash, errors)" in str(raised.value)
    )


def test_one_limiter_name_one_set_of_settings() -> None:
    data = spec()
    data["components"]["app"]["endpoints"]["score"].insert(
        0, {"rate_limit": {"cache": "redis", "rate": 5, "name": "app_page"}}
    )
    with pytest.raises(SpecError) as raised:
        simperf.from_dict(data)
    assert "components.app.endpoints.score[0].rate_limit: the limiter 'app_page' is also " in str(
        raised.value
    )


def test_a_board_lives_in_one_cache() -> None:
    data = spec()
    data["components"]["cache2"] = {"kind": "cache", "keyspace": "none", "capacity": 1}
    data["components"]["app"]["endpoints"]["page"].append(
        {"leaderboard": {"cache": "cache2", "board": "scores", "op": "rank"}}
    )
    with pytest.raises(SpecError) as raised:
        simperf.from_dict(data)
    assert "leaderboard.cache: the board 'scores' is kept in 'cache2' at " in str(raised.value)


@pytest.mark.parametrize("case", ["zero rate", "session store on an unknown cache"])
def test_simperf_run_exits_2_without_a_traceback(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    changes, message = BAD[case]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(spec(**changes)))
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_the_example_runs_and_reports_every_section() -> None:
    result = simperf.run(simperf.from_dict(SPEC), seed=1).to_dict()
    assert set(result["sessions"]["app"]) >= {"active", "lost", "reauthentications"}
    assert set(result["rate_limits"]["app_page"]) >= {"admitted", "rejected"}
    assert result["leaderboards"]["scores"]["add"] > 0
    assert "rate_limited" in result["requests"]["errors"]
    # report-only state is not a row of the component table
    assert set(result["components"]) == {"app", "redis"}


def test_the_summary_shows_sessions_limits_and_boards() -> None:
    text = simperf.run(simperf.from_dict(SPEC), seed=1).summary()
    assert "sessions app (shared): active " in text
    assert "rate limit app_page: admitted " in text
    assert "leaderboard scores: members " in text
