"""``scaling: {alpha, beta}`` on app servers and database servers: bounds and paths."""

from __future__ import annotations

import math
from typing import Any

import pytest

import simperf
from simperf.errors import SpecError


def spec(scaling: Any, *, on: str = "app") -> dict[str, Any]:
    app: dict[str, Any] = {"kind": "app_server", "endpoints": {"serve": [{"cpu": "1ms"}]}}
    components: dict[str, Any] = {"app": app}
    if on == "app":
        app["scaling"] = scaling
    else:
        components["db"] = {
            "kind": "database",
            "primary": {"cores": 4, "scaling": scaling},
            "tables": {"kv": {"rows": 1, "row_size": 100}},
            "queries": {"get": {"table": "kv", "where": ["id"]}},
        }
    return {
        "name": "scaling",
        "workload": {
            "arrival": {"kind": "poisson", "rate": 10},
            "classes": [{"name": "r", "entry": "app", "endpoint": "serve"}],
        },
        "components": components,
        "run": {"duration": 1},
    }


@pytest.mark.parametrize(
    ("scaling", "message"),
    [
        ({"alpha": 1.01}, "components.app.scaling.alpha: must be <= 1"),
        ({"alpha": -0.1}, "components.app.scaling.alpha: must be >= 0"),
        ({"beta": -1e-6}, "components.app.scaling.beta: must be >= 0"),
        ({"beta": math.inf}, "components.app.scaling.beta"),
        ({"alpha": math.nan}, "components.app.scaling.alpha"),
        ({"gamma": 0.1}, "components.app.scaling.gamma"),
    ],
)
def test_bad_scaling_is_named_by_path(scaling: dict[str, float], message: str) -> None:
    with pytest.raises(SpecError, match=message.replace(".", r"\.")):
        simperf.from_dict(spec(scaling))


def test_database_servers_take_scaling_too() -> None:
    with pytest.raises(SpecError, match=r"components\.db\.primary\.scaling\.alpha"):
        simperf.from_dict(spec({"alpha": 2}, on="db"))
    scenario = simperf.from_dict(spec({"alpha": 0.1, "beta": 0.001}, on="db"))
    assert scenario.components["db"].primary.scaling.alpha == 0.1
    assert scenario.components["db"].replica_spec.scaling.alpha == 0.1


def test_defaults_are_linear() -> None:
    scenario = simperf.from_dict(spec({}))
    assert scenario.components["app"].scaling.linear
