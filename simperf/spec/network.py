"""Network spec: regions, one-way latencies between them, jitter, and links with bandwidth.

Components live in regions (``region:`` on a component, by default the first region
listed here); clients come from regions (``workload.clients.regions``). A call from one
region to another pays the one-way latency (plus jitter) on the way there and back, and,
where a link between the two regions is given, the transfer time of the payload
(size / bandwidth). Latencies and links are symmetric unless both directions are given;
within a region the latency is 0 unless given.
"""

from __future__ import annotations

from typing import Annotated, TypeVar

from pydantic import Field, model_validator

from simperf.spec.base import (
    IDENTIFIER,
    MAX_BANDWIDTH,
    MAX_TIME,
    Bandwidth,
    SpecModel,
    Time,
)
from simperf.spec.distributions import Distribution

T = TypeVar("T")

RegionName = Annotated[str, Field(pattern=IDENTIFIER, max_length=64)]


class LinkSpec(SpecModel):
    """The capacity of the path between two regions, in each direction.

    Without ``shared`` every transfer gets the full bandwidth (the link is never the
    bottleneck, only a delay); with it, each direction carries one transfer at a time in
    FIFO order, so a busy link queues like a single server.
    """

    bandwidth: Bandwidth = Field(
        gt=0, le=MAX_BANDWIDTH, description="bytes per second, or e.g. 1Gbit/s, 100MB/s"
    )
    shared: bool = Field(
        False, description="transfers share the link one at a time (and queue when it is busy)"
    )


class NetworkSpec(SpecModel):
    """Regions and what it costs to go between them.

    Examples
    --------
    >>> net = NetworkSpec(regions=["eu", "us"], latency={"eu": {"us": "40ms"}})
    >>> net.latency_between("us", "eu"), net.latency_between("eu", "eu")
    (0.04, 0.0)
    """

    regions: list[RegionName] = Field(
        min_length=1,
        max_length=1000,
        description="region names; components without a region live in the first",
    )
    latency: dict[RegionName, dict[RegionName, Annotated[Time, Field(ge=0, le=MAX_TIME)]]] = Field(
        default_factory=dict,
        description="one-way latency: {from: {to: 40ms}}; symmetric unless both are given",
    )
    jitter: Distribution | None = Field(
        None, description="extra delay drawn for every one-way trip between two regions"
    )
    links: dict[RegionName, dict[RegionName, LinkSpec]] = Field(
        default_factory=dict,
        description="bandwidth between regions: {from: {to: {bandwidth: 1Gbit/s}}}; symmetric "
        "unless both are given",
    )

    @model_validator(mode="after")
    def _check(self) -> NetworkSpec:
        duplicates = sorted({r for r in self.regions if self.regions.count(r) > 1})
        if duplicates:
            raise ValueError(f"regions: duplicate region(s) {', '.join(duplicates)}")
        known = set(self.regions)
        for section, table in (("latency", self.latency), ("links", self.links)):
            for a, row in table.items():
                for region in (a, *row):
                    if region not in known:
                        raise ValueError(
                            f"{section}: unknown region {region!r} "
                            f"(regions: {', '.join(self.regions)})"
                        )
        return self

    def latency_between(self, source: str, target: str) -> float:
        """One-way latency from ``source`` to ``target`` in seconds (without jitter)."""
        value = _pair_lookup(self.latency, source, target)
        return 0.0 if value is None else float(value)

    def link_between(self, source: str, target: str) -> LinkSpec | None:
        """The link carrying traffic from ``source`` to ``target``, if one is given."""
        return _pair_lookup(self.links, source, target)


def _pair_lookup(table: dict[str, dict[str, T]], source: str, target: str) -> T | None:
    """``table[source][target]``, else the reverse direction, else None."""
    value = table.get(source, {}).get(target)
    if value is None:
        value = table.get(target, {}).get(source)
    return value
