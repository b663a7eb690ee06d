"""The kind protocol: what every component spec says about its place in the topology.

A component kind answers four questions, and nothing outside its own spec module asks
them by testing its type:

* :meth:`ComponentKind.endpoint_names`: the endpoints it answers;
* :meth:`ComponentKind.forwards`: what one of its endpoints goes on to (calls, parallel
  arms, queries, cache backing reads and writes, balancer backends, CDN origins), each
  with its expected number per call;
* :meth:`ComponentKind.problems`: its own cross-reference problems (a component with
  steps includes each step's :meth:`StepKind.problems`);
* :meth:`ComponentKind.location`: the region it runs in.

:mod:`simperf.spec.topology` walks a scenario through these answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from simperf.spec.base import SpecModel

if TYPE_CHECKING:  # pragma: no cover
    from simperf.spec.scenario import Scenario

CALL, PARALLEL, QUERY, BACKING, WRITE, BACKEND, ORIGIN = (
    "call",
    "parallel",
    "query",
    "backing",
    "write",
    "backend",
    "origin",
)
"""How one component reaches another (:attr:`Forward.via`)."""


class Forward(NamedTuple):
    """One component endpoint that another one's endpoint forwards to.

    ``weight`` is the expected number of forwards per call of the endpoint (a query
    step's ``repeat``, a backend's share of a balancer's traffic); a cache's ``backing``
    read happens on a miss, so its weight is per miss of ``cache``. ``path`` is where the
    reference is written, relative to the component (for messages); ``variant`` holds a
    query step's page options ``(limit, offset, pagination)``.
    """

    component: str
    endpoint: str
    via: str = CALL
    weight: float = 1.0
    path: str = ""
    cache: str | None = None
    variant: tuple[Any, ...] = ()


class ComponentKind(SpecModel):
    """Base of component specs: the kind protocol, with the answers of a leaf."""

    is_database: ClassVar[bool] = False
    """Whether its endpoints are queries of a catalogue of tables (databases)."""

    fault_kinds: ClassVar[frozenset[str]] = frozenset()
    """Fault kinds its instances can take on the ``faults:`` timeline (``crash``,
    ``slow``, ``errors``; see :mod:`simperf.spec.faults`). The one place a kind opts in:
    its runtime component then implements the matching :class:`~simperf.components.base.
    Component` methods (``fail``/``recover``, ``slow``, ``inject_errors``)."""

    connect_timeouts: ClassVar[bool] = False
    """Whether a crash of its instances can make callers wait a ``connect_timeout``."""

    checked_calls: ClassVar[frozenset[str]] = frozenset({CALL, PARALLEL, BACKING, WRITE})
    """Forwards whose target and endpoint the scenario checks (queries are checked
    against the database's catalogue by the database's own checks)."""

    @property
    def instance_count(self) -> int:
        """Identical instances behind the component's name (what a balancer counts)."""
        return 1

    @property
    def fault_instances(self) -> int:
        """Instances a fault can name (``instance: i``): its identical instances, unless
        the kind numbers its servers otherwise (a database's primaries and replicas)."""
        return self.instance_count

    @property
    def priced_groups(self) -> list[tuple[int, int, str | None]]:
        """Groups of identical servers as prices count them: (instances, cores per
        instance, instance type or None). A leaf: one instance, no cores modelled."""
        return [(1, 0, None)]

    @property
    def server_count(self) -> int:
        """Servers a run holds for it (what the run-size check counts): those a fault can
        name, unless the kind runs more (a CDN's shield)."""
        return self.fault_instances

    def endpoint_names(self, scenario: Scenario, seen: frozenset[str] = frozenset()) -> set[str]:
        """Endpoint names it answers (none: it is used by steps, not called).

        ``seen``: the components asked already on the way here (balancers or CDNs that
        point at each other answer nothing rather than recurse).
        """
        return set()

    def forwards(self, scenario: Scenario, endpoint: str) -> list[Forward]:
        """What ``endpoint`` goes on to."""
        return []

    def endpoint_steps(self) -> dict[str, list[StepKind]]:
        """Endpoint -> the steps it runs, in the order written (none: a kind without steps)."""
        return {}

    def steps(self, endpoint: str) -> list[StepKind]:
        """The steps ``endpoint`` runs (none for an endpoint it does not have)."""
        return list(self.endpoint_steps().get(endpoint, []))

    def problems(self, scenario: Scenario, name: str) -> list[str]:
        """Its own cross-reference problems, each as ``components.<name>...: message``."""
        return []

    def location(self, regions: list[str]) -> int | None:
        """Index of the region it runs in (None: wherever its caller is); default the first."""
        return 0


class StepKind(SpecModel):
    """Base of app server endpoint steps: what a step forwards to."""

    keyed: ClassVar[bool] = False
    """Whether the step acts on the request's key (its class needs a key space)."""

    def forwards(self) -> list[Forward]:
        """The components this step reaches (none by default)."""
        return []

    def problems(self, scenario: Scenario, path: str) -> list[str]:
        """Its own cross-reference problems, each as ``<path>...: message``; ``path`` is
        where the step is written (``components.app.endpoints.get[0]``)."""
        return []

    def calls(self) -> list[str]:
        """Targets this step calls, as ``component.endpoint`` (the checked forwards)."""
        return [
            f"{f.component}.{f.endpoint}"
            for f in self.forwards()
            if f.via in ComponentKind.checked_calls
        ]
