"""The component spec union: every ``kind`` a scenario's components may be."""

from __future__ import annotations

from typing import Annotated, get_args

from pydantic import Field

from simperf.spec.app_server import AppServerSpec
from simperf.spec.cache import CacheSpec
from simperf.spec.cdn import CdnSpec
from simperf.spec.database import DatabaseSpec, ShardedDatabaseSpec
from simperf.spec.load_balancer import LoadBalancerSpec

AnyComponentSpec = (
    AppServerSpec | LoadBalancerSpec | CacheSpec | DatabaseSpec | ShardedDatabaseSpec | CdnSpec
)
ComponentSpec = Annotated[AnyComponentSpec, Field(discriminator="kind")]
COMPONENT_TAGS = frozenset(
    tag
    for kind in get_args(AnyComponentSpec)
    for tag in get_args(kind.model_fields["kind"].annotation)
)
"""Every component ``kind``, read off the union (a new kind is added there only)."""
