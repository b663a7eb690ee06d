"""Calls under failure against closed forms (:mod:`simperf.analysis.resilience`).

Client timeouts over M/M/1 and M/M/c (abandoned work goes on, so the queue is the same
queue); a timed call retried with backoff, retries cut by the client's deadline, a hedged
call, untimed and timed, and parallel arms each timed, against callees that never queue
(attempts then take independent exponential times); immediate retries of a rejection
from M/M/1/K (they meet the same full queue); injected errors over M/M/1, and retried
over M/M/1 (the successful attempts, each delayed by its backoffs, are still Poisson);
retried errors waiting decorrelated backoffs (their means carried by the chain of
waits); a retry budget under partial failure (the token level from call to call, a
Markov chain); a slow instance behind a random balancer (independent M/M/1 queues), and
behind one with timeouts and retries (attempts that time out independently); a breaker
against a callee that always fails (a renewal cycle). Each check runs on a tenth of its horizon in
``make test`` (intervals about three times wider) and in full under ``make validate``;
every one also holds conservation of requests and of tries, and Little's law."""

from __future__ import annotations

import math
from typing import Any

import pytest

import simperf
from simperf import analysis
from simperf.analysis import resilience
from simperf.experiment.replicate import Replications

from agreement import (
    MEAN_WIDTH,
    TAIL_WIDTH,
    agrees,
    conserved_and_little,
    horizons,
    open_spec,
    replications,
    server,
    values_agree,
    width,
)

MU = 100.0  # exponential service of mean 10 ms
ANSWER = 0.01  # the no-queue callee's mean exponential delay
EXP_CPU = {"dist": "exponential", "mean": 1 / MU}
EXP_DELAY = {"dist": "exponential", "mean": ANSWER}
SHARES = horizons(0.1)  # a tenth: the make test variants together ~12 CPU-s
ROUTE = "calls.front->back"


def tries_conserved(reps: Replications) -> None:
    """Every try of a call is an attempt, a fail-fast or expired, in every replication."""
    for run in reps.runs:
        r = run["calls"]["front->back"]
        assert r["attempts"] + r["fail_fast"] + r["expired"] == (
            r["calls"] + r["retries"] + r["hedges"]
        ), r


def front_and_back(
    call: dict[str, Any], back: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A front whose one step is ``call`` to a back of ample workers whose ``get`` is an
    exponential delay of mean ``ANSWER`` (nothing waits anywhere), or the steps ``back``
    (on its one core)."""
    ample = {"kind": "app_server", "cores": 1, "workers": 100_000}
    delay = [{"delay": {"dist": "exponential", "mean": ANSWER}}]
    return {
        "front": {**ample, "endpoints": {"serve": [{"call": "back.get", **call}]}},
        "back": {**ample, "endpoints": {"get": back or delay}},
    }


def whole_run(component: str, kind: str, **fields: Any) -> list[dict[str, Any]]:
    """One fault of ``kind`` from the start to past the end of any run here."""
    return [{"component": component, "kind": kind, "at": 0, "for": 100_000, **fields}]


MM1, MM4 = (1, 70.0, 0.03, 400), (4, 280.0, 0.02, 300)  # servers, lambda, tau, duration


@pytest.mark.parametrize(
    ("share", "servers", "lam", "timeout", "duration"),
    [  # the same code either way: make test runs the cheaper M/M/1 alone
        pytest.param(0.1, *MM1, id="short-M/M/1"),
        pytest.param(1.0, *MM1, id="full-M/M/1", marks=pytest.mark.validate),
        pytest.param(1.0, *MM4, id="full-M/M/4", marks=pytest.mark.validate),
    ],
)
def test_client_timeout_is_the_sojourn_tail(
    share: float, servers: int, lam: float, timeout: float, duration: float
) -> None:
    """The share recorded ``timeout`` is P(S > tau), the ok latency S given S <= tau (its
    mean, and its p95 the sojourn's 0.95 P(S <= tau) quantile), the client's time in
    system E[min(S, tau)], and the utilisation still lambda / (c mu)."""
    spec = open_spec(
        "client_timeout",
        lam,
        {"app": server(cores=servers)},
        duration=duration * share,
        warmup=5,
    )
    spec["workload"]["classes"][0]["timeout"] = timeout
    reps = replications(spec, 20)
    queue = analysis.mmc(lam, MU, servers)
    theory = resilience.client_timeout(queue, timeout)
    mean_width = width(MEAN_WIDTH, share)
    agrees(reps, "error_rate", theory.timeout_share, max_width=mean_width)
    agrees(reps, "latency.all.mean", theory.mean_ok_latency, max_width=mean_width)
    p95 = queue.sojourn_quantile(0.95 * (1 - theory.timeout_share))
    agrees(reps, "latency.all.p95", p95, max_width=width(TAIL_WIDTH, share))
    client = (1 - theory.timeout_share) * theory.mean_ok_latency + theory.timeout_share * timeout
    agrees(reps, "checks.mean_time_in_system", client, max_width=mean_width)
    agrees(reps, "components.app.utilization", queue.utilization, max_width=mean_width)
    conserved_and_little(reps)


@pytest.mark.parametrize("share", SHARES)
def test_timed_call_with_retries_and_backoff(share: float) -> None:
    """Attempts time out with p = exp(-tau / m); 3 attempts, full jitter capped at the
    second retry: attempts per call (1 - p^3) / (1 - p), p^3 failed, and the mean latency
    of ok calls and of all calls, timeouts and backoffs included."""
    tau, attempts, base, cap = 0.01, 3, 0.005, 0.008
    backoff = {"base": base, "cap": cap, "jitter": "full"}
    call = {"timeout": tau, "retry": {"attempts": attempts, "backoff": backoff}}
    spec = open_spec(
        "retried", 200, front_and_back(call), entry="front", duration=200 * share, warmup=1
    )
    reps = replications(spec, 20)
    p, below = resilience.exponential_below(ANSWER, tau)
    waits = [resilience.backoff_mean(n, base, cap, "full") for n in range(1, attempts)]
    theory = resilience.retried_call(tau, attempts, p, below, waits)
    mean_width = width(MEAN_WIDTH, share)
    agrees(reps, "error_rate", theory.failed_share, max_width=mean_width)
    agrees(reps, f"{ROUTE}.amplification", theory.attempts_per_call, max_width=mean_width)
    agrees(reps, "latency.all.mean", theory.mean_ok_latency, max_width=mean_width)
    agrees(reps, "checks.mean_time_in_system", theory.mean_latency, max_width=mean_width)
    tries_conserved(reps)
    conserved_and_little(reps)


@pytest.mark.parametrize("share", SHARES)
def test_retries_cut_by_the_client_deadline(share: float) -> None:
    """Five attempts of tau = m, no backoff, under a client deadline D = 2.5 tau: two
    whole attempts, a third cut to the 0.5 tau left, and the retry after it finds the
    deadline passed (expired). Failed e^{-2} e^{-0.5}, attempts per call 1 + p + p^2."""
    tau, attempts, deadline = ANSWER, 5, 2.5 * ANSWER
    call = {"timeout": tau, "retry": {"attempts": attempts}}
    spec = open_spec(
        "deadline", 200, front_and_back(call), entry="front", duration=100 * share, warmup=1
    )
    spec["workload"]["classes"][0]["timeout"] = deadline
    reps = replications(spec, 20)
    p = math.exp(-tau / ANSWER)
    mean_width = width(MEAN_WIDTH, share)
    failed = p * p * math.exp(-(deadline - 2 * tau) / ANSWER)
    agrees(reps, "error_rate", failed, max_width=mean_width)
    agrees(reps, f"{ROUTE}.amplification", 1 + p + p * p, max_width=mean_width)
    for run in reps.runs:  # every failed call ran out of time, none out of attempts
        assert run["calls"]["front->back"]["expired"] == run["calls"]["front->back"]["failed"]
    tries_conserved(reps)
    conserved_and_little(reps)


@pytest.mark.parametrize("share", SHARES)
def test_immediate_retries_of_a_rejection_meet_the_same_full_queue(share: float) -> None:
    """A retry with no backoff is made at the instant of its rejection, when the back's
    M/M/1/K queue is still full: every attempt of a blocked call is rejected, so the
    error rate is the Erlang blocking probability B and attempts per call 1 + (n - 1) B;
    the calls let in see M/M/1/K."""
    lam, limit, attempts = 100.0, 2, 3  # K = 3 at load 1: B = 1 / (K + 1)
    back = {**server(queue_limit=limit), "endpoints": {"get": [{"cpu": EXP_CPU}]}}
    components = {**front_and_back({"retry": {"attempts": attempts}}), "back": back}
    spec = open_spec("rejected", lam, components, entry="front", duration=200 * share, warmup=5)
    reps = replications(spec, 20)
    queue = analysis.mmck(lam, MU, 1, 1 + limit)
    blocked = queue.blocking_probability
    mean_width = width(MEAN_WIDTH, share)
    agrees(reps, "error_rate", blocked, max_width=mean_width)
    agrees(reps, f"{ROUTE}.amplification", 1 + (attempts - 1) * blocked, max_width=mean_width)
    agrees(reps, "latency.all.mean", queue.mean_sojourn, max_width=mean_width)
    tries_conserved(reps)
    conserved_and_little(reps)


@pytest.mark.parametrize("share", SHARES)
def test_parallel_arms_each_timed(share: float) -> None:
    """Two exponential arms, each with a timeout tau, and the step waits for both: it
    fails with probability 1 - F(tau)^2 and then takes tau; ok, it takes the larger of two
    draws truncated at tau, mean tau - int_0^tau F(t)^2 dt / F(tau)^2."""
    timeout = 0.015
    arms = {"kind": "app_server", "cores": 1, "workers": 100_000}
    arms["endpoints"] = {"get": [{"delay": {"dist": "exponential", "mean": ANSWER}}]}
    front = {**arms, "endpoints": {"serve": [{"parallel": ["a.get", "b.get"], "timeout": timeout}]}}
    components = {"front": front, "a": arms, "b": arms}
    spec = open_spec("arms", 200, components, entry="front", duration=25 * share, warmup=1)
    reps = replications(spec, 20)
    p, _ = resilience.exponential_below(ANSWER, timeout)
    both = (1 - p) ** 2
    # int_0^tau (1 - e^{-t/m})^2 dt
    square = timeout - 2 * ANSWER * (1 - p) + ANSWER / 2 * (1 - p**2)
    ok_mean = timeout - square / both
    mean_width = width(MEAN_WIDTH, share)
    agrees(reps, "error_rate", 1 - both, max_width=mean_width)
    agrees(reps, "latency.all.mean", ok_mean, max_width=mean_width)
    client = both * ok_mean + (1 - both) * timeout
    agrees(reps, "checks.mean_time_in_system", client, max_width=mean_width)
    conserved_and_little(reps)


@pytest.mark.parametrize(
    ("copies", "shift"), [(3, 0.0), (4, 0.002)], ids=["3-exponential", "4-shifted"]
)
@pytest.mark.parametrize("share", SHARES)
def test_hedged_call_is_the_earliest_of_its_copies(share: float, copies: int, shift: float) -> None:
    """``max_copies`` n, a copy every d: L = min over k < n of (k d + X_k) against a callee
    answering in c + an exponential (no queueing); copy k is sent with P(L > k d)."""
    after = 0.005
    call: dict[str, Any] = {"hedge": {"after": after, "max_copies": copies}}
    answer = {"dist": "exponential", "mean": ANSWER}
    back = [{"delay": shift}, {"delay": answer}] if shift else [{"delay": answer}]
    spec = open_spec(
        "hedged_copies", 200, front_and_back(call, back), entry="front",
        duration=50 * share, warmup=1,
    )  # fmt: skip
    reps = replications(spec, 20)
    theory = resilience.hedged_copies(ANSWER, after, copies, shift)
    mean_width, tail_width = width(MEAN_WIDTH, share), width(TAIL_WIDTH, share)
    agrees(reps, f"{ROUTE}.amplification", theory.copies_per_call, max_width=mean_width)
    agrees(reps, "latency.all.mean", theory.mean, max_width=mean_width)
    for level in (50, 95, 99) if share == 1.0 else (50, 95):  # p99: see the test below
        agrees(reps, f"latency.all.p{level}", theory.quantile(level / 100), max_width=tail_width)
    tries_conserved(reps)
    conserved_and_little(reps)


@pytest.mark.parametrize("timeout", [None, 0.015], ids=["untimed", "timed"])
@pytest.mark.parametrize("share", SHARES)
def test_hedged_call_is_the_earlier_of_two_copies(share: float, timeout: float | None) -> None:
    """Latency L = min(X1, d + X2): mean m (1 - e^{-d/m} / 2), median and p99 from its
    tail, and e^{-d/m} second copies per call. With a timeout tau on the call as well,
    P(L > tau) of calls time out and the ok ones are L given L <= tau."""
    after = 0.01
    call: dict[str, Any] = {"hedge": {"after": after}}
    if timeout is not None:
        call["timeout"] = timeout
    spec = open_spec(
        "hedged", 200, front_and_back(call), entry="front", duration=50 * share, warmup=1
    )
    reps = replications(spec, 20)
    theory = resilience.hedged_exponential(ANSWER, after)
    mean_width, tail_width = width(MEAN_WIDTH, share), width(TAIL_WIDTH, share)
    agrees(reps, f"{ROUTE}.amplification", 1 + theory.hedge_rate, max_width=mean_width)
    ok = 1.0
    if timeout is None:
        agrees(reps, "latency.all.mean", theory.mean, max_width=mean_width)
    else:
        ok = 1.0 - theory.sf(timeout)
        agrees(reps, "error_rate", 1.0 - ok, max_width=mean_width)
        agrees(reps, "latency.all.mean", theory.mean_below(timeout), max_width=mean_width)
    # a tenth of the horizon leaves each run some 20 answers beyond its p99, too few for
    # a t interval over its skewed estimate: p99 is checked on the full horizon only
    for level in (50, 95, 99) if share == 1.0 else (50, 95):
        theory_level = theory.quantile(level / 100 * ok)
        agrees(reps, f"latency.all.p{level}", theory_level, max_width=tail_width)
    tries_conserved(reps)
    conserved_and_little(reps)


@pytest.mark.parametrize("share", SHARES)
def test_injected_errors_thin_an_mm1_queue(share: float) -> None:
    """A fraction p of requests fail fast before they queue: the error rate is p and the
    rest see an M/M/1 queue at (1 - p) lambda, here 0.7 of a load that would saturate."""
    lam, fraction = 100.0, 0.3
    spec = open_spec("errors", lam, {"app": server()}, duration=1300 * share, warmup=10)
    spec["faults"] = whole_run("app", "errors", fraction=fraction)
    reps = replications(spec, 20)
    queue = analysis.mm1(lam * (1 - fraction), MU)
    mean_width, tail_width = width(MEAN_WIDTH, share), width(TAIL_WIDTH, share)
    agrees(reps, "error_rate", fraction, max_width=mean_width)
    agrees(reps, "latency.all.mean", queue.mean_sojourn, max_width=mean_width)
    agrees(reps, "latency.all.p99", queue.sojourn_quantile(0.99), max_width=tail_width)
    agrees(reps, "components.app.utilization", queue.utilization, max_width=mean_width)
    conserved_and_little(reps)


@pytest.mark.parametrize("share", SHARES)
def test_injected_errors_retried_over_mm1(share: float) -> None:
    """Half the attempts to an M/M/1 back fail fast, before its queue; 3 attempts, 5 and
    10 ms apart: 1 - 1/8 of calls succeed after (1 - p^3) / (1 - p) = 1.75 attempts. The
    successful attempts are the arrivals each delayed by its own backoffs, still Poisson
    (displacement), at (1 - p^3) lambda: an M/M/1 queue at 0.7, plus the mean backoff."""
    lam, fraction, attempts, base = 80.0, 0.5, 3, 0.005
    backoff = {"base": base, "cap": 1.0, "jitter": "none"}
    call = {"retry": {"attempts": attempts, "when": ["injected_error"], "backoff": backoff}}
    components = front_and_back(call, [{"cpu": EXP_CPU}])
    spec = open_spec(
        "retried_errors", lam, components, entry="front", duration=600 * share, warmup=10
    )
    spec["faults"] = whole_run("back", "errors", fraction=fraction)
    reps = replications(spec, 20)
    queue = analysis.mm1(lam * (1 - fraction**attempts), MU)
    waits = [resilience.backoff_mean(n, base, 1.0, "none") for n in range(1, attempts)]
    theory = resilience.retried_call(0.0, attempts, fraction, queue.mean_sojourn, waits)
    mean_width = width(MEAN_WIDTH, share)
    agrees(reps, "error_rate", theory.failed_share, max_width=mean_width)
    agrees(reps, f"{ROUTE}.amplification", theory.attempts_per_call, max_width=mean_width)
    agrees(reps, "components.back.utilization", queue.utilization, max_width=mean_width)
    agrees(reps, "latency.all.mean", theory.mean_ok_latency, max_width=mean_width)
    tries_conserved(reps)
    conserved_and_little(reps)


@pytest.mark.parametrize("share", SHARES)
def test_slow_instance_behind_a_random_balancer(share: float) -> None:
    """One of three instances slowed 1.5 times for the whole run: random balancing makes
    each an independent M/M/1 at lambda / 3, so the mean is sum_i (1/3) / (mu_i - lambda/3)
    and the slow instance is busy lambda / 3 x 1.5 / mu of the time."""
    lam, n, factor = 120.0, 3, 1.5
    components = {
        "lb": {"kind": "load_balancer", "policy": "random", "backends": "app"},
        "app": server(replicas=n),
    }
    spec = open_spec("slow", lam, components, entry="lb", duration=400 * share, warmup=10)
    spec["faults"] = whole_run("app", "slow", instance=0, factor=factor)
    reps = replications(spec, 20)
    rates = [MU / factor] + [MU] * (n - 1)
    mean = sum(analysis.mm1(lam / n, mu).mean_sojourn for mu in rates) / n
    mean_width = width(MEAN_WIDTH, share)
    agrees(reps, "latency.all.mean", mean, max_width=mean_width)
    slow = "components.app.per_instance.app[0].utilization"
    agrees(reps, slow, lam / n * factor / MU, max_width=mean_width)
    conserved_and_little(reps)


@pytest.mark.parametrize("share", SHARES)
def test_decorrelated_backoff_between_retried_errors(share: float) -> None:
    """Half the attempts fail fast; 3 attempts, decorrelated jitter from 4 ms capped at
    20 ms (the cap binds from the second retry, 3^2 x 4 > 20): the ok latency is the
    answer plus the mean waits before the successful attempt (linear in the waits, so their
    means suffice, however correlated), the failed calls' time the sum of two waits."""
    fraction, attempts, base, cap, answer = 0.5, 3, 0.004, 0.02, 0.001
    backoff = {"base": base, "cap": cap, "jitter": "decorrelated"}
    call = {"retry": {"attempts": attempts, "when": ["injected_error"], "backoff": backoff}}
    components = front_and_back(call, [{"delay": answer}])
    spec = open_spec("decorrelated", 200, components, entry="front", duration=100 * share, warmup=1)
    spec["faults"] = whole_run("back", "errors", fraction=fraction)
    reps = replications(spec, 20)
    waits = [resilience.backoff_mean(n, base, cap, "decorrelated") for n in range(1, attempts)]
    theory = resilience.retried_call(0.0, attempts, fraction, answer, waits)
    mean_width = width(MEAN_WIDTH, share)
    agrees(reps, "error_rate", theory.failed_share, max_width=mean_width)
    agrees(reps, f"{ROUTE}.amplification", theory.attempts_per_call, max_width=mean_width)
    agrees(reps, "latency.all.mean", theory.mean_ok_latency, max_width=mean_width)
    agrees(reps, "checks.mean_time_in_system", theory.mean_latency, max_width=mean_width)
    tries_conserved(reps)
    conserved_and_little(reps)


@pytest.mark.parametrize("share", SHARES)
def test_retry_budget_under_partial_failure(share: float) -> None:
    """Half the attempts fail fast, 3 attempts, a budget of 0.7 retries a call with a
    burst of 2: unlimited calls would make 0.75 retries each, so the bucket empties and
    fills, and the chain of its level from call to call (retries made at once, so calls
    take their turns) gives the attempts, the calls denied a retry, and the failed share
    1 - (1 - p) x attempts (a call stops at its one success)."""
    fraction, attempts, ratio, burst = 0.5, 3, 0.7, 2.0
    budget = {"ratio": ratio, "burst": burst}
    call = {"retry": {"attempts": attempts, "when": ["injected_error"], "budget": budget}}
    spec = open_spec(
        "budget", 200, front_and_back(call), entry="front", duration=100 * share, warmup=1
    )
    spec["faults"] = whole_run("back", "errors", fraction=fraction)
    reps = replications(spec, 20)
    theory = resilience.budgeted_retries(fraction, attempts, ratio, burst)
    mean_width = width(MEAN_WIDTH, share)
    agrees(reps, "error_rate", theory.failed_share, max_width=mean_width)
    agrees(reps, f"{ROUTE}.amplification", theory.attempts_per_call, max_width=mean_width)
    denied = [r["calls"]["front->back"]["budget_denied"] / r["calls"]["front->back"]["calls"]
              for r in reps.runs]  # fmt: skip
    values_agree(denied, "denied per call", theory.denied_share, max_width=mean_width)
    tries_conserved(reps)
    conserved_and_little(reps)


@pytest.mark.parametrize("share", SHARES)
def test_slow_instance_behind_a_balancer_with_timeouts_and_retries(share: float) -> None:
    """One of four instances answers four times slower (exponential, no queueing); a call
    timed at 20 ms is retried 3 times in all, 5 then 10 ms apart, each attempt to an
    instance drawn at random: attempts time out with p = (e^-0.5 + 3 e^-2) / 4, and the ok
    latency is a mixture over the attempt that answered, whose tail has gaps (tau and a
    wait) between attempts."""
    mean, factor, n, timeout, attempts = ANSWER, 4.0, 4, 0.02, 3
    backoff = {"base": 0.005, "cap": 1.0, "jitter": "none"}
    call = {
        "call": "lb.get",
        "timeout": timeout,
        "retry": {"attempts": attempts, "backoff": backoff},
    }
    ample = {"kind": "app_server", "cores": 1, "workers": 100_000}
    components = {
        "front": {**ample, "endpoints": {"serve": [call]}},
        "lb": {"kind": "load_balancer", "policy": "random", "backends": "app"},
        "app": {**ample, "replicas": n, "endpoints": {"get": [{"delay": EXP_DELAY}]}},
    }
    spec = open_spec("slow_retried", 200, components, entry="front", duration=100 * share, warmup=1)
    spec["faults"] = whole_run("app", "slow", instance=0, factor=factor)
    reps = replications(spec, 20)
    waits = [resilience.backoff_mean(k, 0.005, 1.0, "none") for k in range(1, attempts)]
    theory = resilience.slow_instance(mean, factor, n, timeout, attempts, waits)
    mean_width, tail_width = width(MEAN_WIDTH, share), width(TAIL_WIDTH, share)
    route = "calls.front->lb"
    timed_out = [r["calls"]["front->lb"]["timeouts"] / r["calls"]["front->lb"]["attempts"]
                 for r in reps.runs]  # fmt: skip
    values_agree(timed_out, "timeouts per attempt", theory.call.failure_probability,
                 max_width=mean_width)  # fmt: skip
    agrees(reps, f"{route}.amplification", theory.call.attempts_per_call, max_width=mean_width)
    agrees(reps, "latency.all.mean", theory.call.mean_ok_latency, max_width=mean_width)
    agrees(reps, "checks.mean_time_in_system", theory.call.mean_latency, max_width=mean_width)
    for level in (50, 90, 99) if share == 1.0 else (50, 90):
        agrees(reps, f"latency.all.p{level}", theory.quantile(level / 100), max_width=tail_width)
    conserved_and_little(reps)


@pytest.mark.parametrize("share", SHARES)
def test_breaker_against_a_callee_that_always_fails(share: float) -> None:
    """Every attempt fails fast: the breaker opens, fails calls fast for ``wait``, lets the
    next call through as its probe, which fails and opens it again. A cycle is ``wait``
    plus the wait for the next Poisson arrival, 1 / lambda, with lambda wait + 1 calls
    and one attempt: attempts per call 1 / (lambda wait + 1) (renewal reward), and
    the breaker opens once a cycle."""
    lam, wait, duration, warmup = 100.0, 0.2, 50 * share, 1.0
    components = front_and_back({})
    components["front"]["breakers"] = {"back": {"window": 20, "min_calls": 10, "wait": wait}}
    spec = open_spec("breaker", lam, components, entry="front", duration=duration, warmup=warmup)
    spec["faults"] = whole_run("back", "errors", fraction=1.0)
    reps = replications(spec, 20)
    mean_width = width(MEAN_WIDTH, share)
    agrees(reps, f"{ROUTE}.amplification", 1 / (lam * wait + 1), max_width=mean_width)
    cycles = (duration - warmup) / (wait + 1 / lam)
    agrees(reps, f"{ROUTE}.breaker_opens", cycles, max_width=mean_width)
    for run in reps.runs:
        assert run["error_rate"] == 1.0
        assert run["calls"]["front->back"]["breaker_open_share"] == pytest.approx(1.0)
    tries_conserved(reps)
    conserved_and_little(reps)


@pytest.mark.validate
def test_hedged_copies_sharing_a_queue_agree_with_the_estimate() -> None:
    """100 calls/s hedged after 5 ms to four cores of 10 ms (exponential): the copies go
    out when the cores are busy and queue behind their siblings, so they wait far more
    than Erlang C says; the estimate's batch form (simperf.estimate.hedging) gives the
    copies' load and the answer's mean and tail."""
    spec = open_spec(
        "hedged_queue", 100,
        {
            "front": {"kind": "app_server", "workers": 1000, "endpoints": {"serve": [
                {"call": "back.serve", "hedge": {"after": "5ms"}}]}},
            "back": {"kind": "app_server", "cores": 4, "endpoints": {"serve": [
                {"cpu": {"dist": "exponential", "mean": "10ms"}}]}},
        },
        entry="front", duration=200, warmup=10,
    )  # fmt: skip
    scenario = simperf.from_dict(spec)
    found = simperf.estimate(scenario)
    reps = replications(scenario, 10)
    agrees(reps, "latency.all.mean", found.mean())
    agrees(reps, "latency.all.p99", float(found.classes.set_index("class").loc["all", "p99"]),
           max_width=TAIL_WIDTH)  # fmt: skip
    busy = float(found.components.set_index("component").loc["back", "utilization"])
    agrees(reps, "components.back.utilization", busy)
