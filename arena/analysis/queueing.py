"""Queueing theory the arena is checked against: Erlang's formulas and their discrete-time twin.

With the physics bypassed, a zone is a textbook multi-server queue, so its measured wait and
utilisation have known values. Two descriptions of the same queue are provided:

- **Continuous time** (:func:`mmc`, :func:`erlang_b`, :func:`erlang_c`): the M/M/c queue of
  Erlang, in any time unit.
- **Discrete time** (:class:`DiscreteMMc`, :class:`DiscreteOverflow`): exactly what the arena
  simulates. Time advances in steps; at each step, finished services free their slots first,
  then a Poisson(``arrival_rate``) batch of intents arrives and starts service at once on free
  slots (the rest queue, FIFO). Service lasts a Geometric(``p = 1/mean_service``) number of
  steps (>= 1), the discrete memoryless law, so the number of intents in the zone is a Markov
  chain. Its stationary law is solved numerically (the chain is truncated where the remaining
  probability is below ``1e-12``), which gives the arena's figures *exactly*, at any step size.

The two agree as the step shrinks. For a finite step the one difference that matters is the
service law: a geometric time has squared coefficient of variation ``Cs² = 1 - p`` instead of
the exponential's 1, and mean waits scale with ``(1 + Cs²) / 2 = 1 - p/2``. For one server this
is exact (Pollaczek-Khinchine: ``Wq = λ E[S²] / (2 (1 - ρ))`` with ``E[S²] = (2 - p) / p²``);
for c servers it is the Lee-Longton two-moment approximation of M/G/c (see
:func:`geometric_service_correction`). Utilisation needs no correction: ``ρ = λ · mean / c``
exactly, in both.

Sources: L. Kleinrock, *Queueing Systems* vol. 1 (1975), §3.5 (Erlang C) and §5.6
(Pollaczek-Khinchine); A. M. Lee & P. A. Longton, "Queueing processes associated with airline
passenger check-in", *Operational Research Quarterly* 10 (1959) (M/G/c approximation);
H. Takagi, *Queueing Analysis* vol. 3, *Discrete-Time Systems* (1993) (slotted queues); S. Asmussen
& P. Glynn, *Stochastic Simulation* (2007), §IV.4 (asymptotic variance of a time average from the
Poisson equation, used by :meth:`DiscreteMMc.standard_errors`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

TAIL = 1e-12  # probability mass a truncated chain may leave out


@dataclass(frozen=True)
class QueueFigures:
    """Long-run figures of a queue, in the time unit of its rates (steps for the discrete ones).

    ``wq``: mean wait before service; ``w``: mean time in the system; ``lq`` / ``l``: mean
    number waiting / in the system (Little: ``lq = λ wq``); ``p_wait``: share of arrivals that
    wait; ``utilisation``: mean share of busy slots.
    """

    utilisation: float
    p_wait: float
    wq: float
    w: float
    lq: float
    l: float  # noqa: E741 - the textbook name


# -- continuous time -----------------------------------------------------------------------------
def erlang_b(servers: int, offered_load: float) -> float:
    """Erlang B: the share of arrivals lost by an M/M/c/c system (c slots, no queue).

    ``B(c, a) = (a^c / c!) / sum_k a^k / k!`` with offered load ``a = λ / μ``, computed by the
    stable recursion ``B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1))`` (Kleinrock §3.6). Insensitive
    to the service-time law in continuous time.
    """
    _check_servers(servers)
    if offered_load < 0:
        raise ValueError(f"offered_load must be >= 0, got {offered_load}")
    b = 1.0
    for k in range(1, servers + 1):
        b = offered_load * b / (k + offered_load * b)
    return b


def erlang_c(servers: int, offered_load: float) -> float:
    """Erlang C: the probability that an arrival to an M/M/c queue has to wait.

    ``C(c, a) = B / (1 - ρ (1 - B))`` with ``B = erlang_b(c, a)`` and ``ρ = a / c < 1``.
    """
    _check_servers(servers)
    rho = offered_load / servers
    if not 0 <= rho < 1:
        raise ValueError(f"the queue is unstable: utilisation {rho:.4g} must be < 1")
    b = erlang_b(servers, offered_load)
    return b / (1 - rho * (1 - b))


def mmc(arrival_rate: float, service_rate: float, servers: int) -> QueueFigures:
    """The M/M/c queue: ``ρ = λ / (c μ)``, ``Wq = C(c, λ/μ) / (c μ - λ)``, ``W = Wq + 1/μ``."""
    if service_rate <= 0:
        raise ValueError(f"service_rate must be > 0, got {service_rate}")
    a = arrival_rate / service_rate
    p_wait = erlang_c(servers, a)
    wq = p_wait / (servers * service_rate - arrival_rate)
    return QueueFigures(
        utilisation=a / servers,
        p_wait=p_wait,
        wq=wq,
        w=wq + 1 / service_rate,
        lq=arrival_rate * wq,
        l=arrival_rate * (wq + 1 / service_rate),
    )


def geometric_service_correction(mean_service: float) -> float:
    """``(1 + Cs²) / 2 = 1 - 1/(2 mean)``: how much shorter waits are with geometric service.

    Multiply an Erlang-C wait by it to predict the arena's wait at a finite step: exact for one
    slot (Pollaczek-Khinchine), within about 1% of the exact discrete chain for a few slots, and
    off by up to ~5% for many slots at low load with a very coarse step (mean service of 2);
    :class:`DiscreteMMc` is exact everywhere.
    """
    if mean_service < 1:
        raise ValueError(f"mean_service must be >= 1 step, got {mean_service}")
    return 1 - 1 / (2 * mean_service)


# -- discrete time (what the arena simulates) ----------------------------------------------------
class DiscreteMMc:
    """The arena's one-zone queue as an exact Markov chain on the number of intents in the zone.

    State ``n`` = intents in the zone (in service + queued) just after a step's arrivals were
    admitted, which is when the arena's DataCollector looks. One step: each of ``min(n, c)``
    services ends with probability ``p = 1 / mean_service`` (Binomial departures), then
    ``Poisson(arrival_rate)`` intents arrive. An intent that waits ``w`` steps is counted in the
    queue at ``w`` observations and one served ``s`` steps at ``s`` observations, so Little's law
    holds exactly per step: ``Wq = Lq / λ`` and utilisation ``= E[min(n, c)] / c = λ mean / c``.
    """

    def __init__(self, arrival_rate: float, mean_service: float, servers: int):
        _check_servers(servers)
        if mean_service < 1:
            raise ValueError(f"mean_service must be >= 1 step, got {mean_service}")
        if arrival_rate <= 0:
            raise ValueError(f"arrival_rate must be > 0, got {arrival_rate}")
        rho = arrival_rate * mean_service / servers
        if rho >= 1:
            raise ValueError(f"the queue is unstable: utilisation {rho:.4g} must be < 1")
        self.arrival_rate = arrival_rate
        self.mean_service = mean_service
        self.servers = servers
        p = 1 / mean_service
        arrivals = _poisson_pmf(arrival_rate)
        # the queue's tail decays about geometrically; size the chain so it holds all but TAIL
        size = servers + len(arrivals) + int(math.log(TAIL) / math.log(max(rho, 1e-3)) * 1.5) + 50
        n = np.arange(size)
        transition = np.zeros((size, size))
        for state in range(size):
            busy = min(state, servers)
            change = np.convolve(_binomial_pmf(busy, p)[::-1], arrivals)  # -busy .. +K
            _add_clipped(transition[state], state - busy, change)
        self.states = n
        self.transition = transition
        self.stationary = _stationary(transition)
        if self.stationary[-max(1, size // 20) :].sum() > TAIL:
            raise ValueError(
                f"the chain truncated at {size} states leaves out more than {TAIL:g} of the mass "
                f"(utilisation {rho:.4g} is too close to 1)"
            )

    def figures(self) -> QueueFigures:
        pi, n, c, lam = self.stationary, self.states, self.servers, self.arrival_rate
        lq = float(pi @ np.maximum(n - c, 0))
        busy = float(pi @ np.minimum(n, c))
        wq = lq / lam
        return QueueFigures(
            utilisation=busy / c,
            p_wait=self._p_wait(),
            wq=wq,
            w=wq + self.mean_service,
            lq=lq,
            l=lq + busy,
        )

    def _p_wait(self) -> float:
        """Share of arrivals that wait: the ``j``-th of a batch finding ``x`` intents present
        (after the step's departures) waits iff ``x + j - 1 >= c``."""
        c, p = self.servers, 1 / self.mean_service
        present = np.zeros(len(self.states))  # law of the number present before arrivals
        for state, prob in enumerate(self.stationary):
            busy = min(state, c)
            _add_clipped(present, state - busy, prob * _binomial_pmf(busy, p)[::-1])
        arrivals = _poisson_pmf(self.arrival_rate)
        k = np.arange(len(arrivals))
        free = np.maximum(c - np.arange(len(present)), 0)
        waiting_per_step = np.maximum(k[None, :] - free[:, None], 0) @ arrivals
        return float(present @ waiting_per_step) / self.arrival_rate

    def standard_errors(self, steps: int) -> dict[str, float]:
        """Standard errors of the mean wait and the utilisation measured over ``steps``
        steady-state steps (of one zone, or summed over independent identical zones).

        ``sqrt(σ² / steps)``, with ``σ²`` the asymptotic variance of a time average:
        ``σ² = 2 π((f - πf) g) - π((f - πf)²)`` where ``g`` solves the Poisson equation
        ``(I - P + 1π) g = f - πf`` (Asmussen & Glynn §IV.4). Waits are strongly correlated
        from one intent to the next, so this is many times the naive ``sd / sqrt(n)``; it tells
        a test how long a run must be for its tolerance to mean something.
        """
        n, c = self.states, self.servers
        queued = np.maximum(n - c, 0).astype(float)
        busy = np.minimum(n, c).astype(float)
        return {
            "wq": _standard_error(self.transition, self.stationary, queued, steps)
            / self.arrival_rate,
            "utilisation": _standard_error(self.transition, self.stationary, busy, steps) / c,
        }


@dataclass(frozen=True)
class OverflowFigures:
    """Long-run figures of a loss zone A that overflows into a queueing zone B (in steps).

    ``blocking``: share of arrivals that find A full and go to B; ``utilisation_a`` /
    ``utilisation_b``: mean share of busy slots; ``wq_b``: mean wait of the intents that
    overflowed (the only ones that can wait); ``wq``: mean wait over all arrivals.
    """

    blocking: float
    utilisation_a: float
    utilisation_b: float
    wq_b: float
    wq: float


class DiscreteOverflow:
    """Two zones in the arena's discrete time: A (``primary`` slots, no queue) takes every
    arrival it has a free slot for; the rest overflow to B (``secondary`` slots, unbounded FIFO
    queue). The exact chain on ``(in A, in B)`` after admission, as :class:`DiscreteMMc`.

    A alone is a loss system whose blocking tends to Erlang B as the step shrinks; B sees the
    overflow stream, which is burstier than Poisson, so it waits longer than an M/M/c with the
    same rate would: the reason this is solved as one chain rather than as two queues.
    """

    def __init__(self, arrival_rate: float, mean_service: float, primary: int, secondary: int):
        _check_servers(primary)
        _check_servers(secondary)
        if mean_service < 1:
            raise ValueError(f"mean_service must be >= 1 step, got {mean_service}")
        if arrival_rate <= 0:
            raise ValueError(f"arrival_rate must be > 0, got {arrival_rate}")
        self.arrival_rate = arrival_rate
        self.mean_service = mean_service
        self.primary = primary
        self.secondary = secondary
        p = 1 / mean_service
        overflow_load = arrival_rate * mean_service * erlang_b(primary, arrival_rate * mean_service)
        rho_b = overflow_load / secondary
        if rho_b >= 0.97:
            raise ValueError(f"zone B is (nearly) unstable: utilisation about {rho_b:.3g}")
        arrivals = _poisson_pmf(arrival_rate)
        # the overflow stream is bursty: give B's queue a generous geometric-tail allowance
        b_size = secondary + len(arrivals) + int(math.log(TAIL) / math.log(max(rho_b, 0.05)) * 3)
        a_size = primary + 1
        size = a_size * b_size
        transition = np.zeros((size, size))
        for a in range(a_size):
            da = _binomial_pmf(a, p)
            for b in range(b_size):
                db = _binomial_pmf(min(b, secondary), p)
                row = transition[a * b_size + b]
                for dep_a, pa in enumerate(da):
                    room = primary - (a - dep_a)
                    into_a = np.minimum(np.arange(len(arrivals)), room)
                    spill = np.arange(len(arrivals)) - into_a
                    for dep_b, pb in enumerate(db):
                        base_b = b - dep_b
                        nb = np.minimum(base_b + spill, b_size - 1)
                        na = a - dep_a + into_a
                        np.add.at(row, na * b_size + nb, pa * pb * arrivals)
        self.b_size = b_size
        self.transition = transition
        self.stationary = _stationary(transition)
        tail = self.stationary.reshape(a_size, b_size)[:, -max(1, b_size // 20) :].sum()
        if tail > TAIL:
            raise ValueError(f"the chain truncated at {b_size} intents in B leaves out {tail:.2g}")

    def figures(self) -> OverflowFigures:
        a_size = self.primary + 1
        pi = self.stationary.reshape(a_size, self.b_size)
        in_a = np.arange(a_size)[:, None]
        in_b = np.arange(self.b_size)[None, :]
        busy_a = float((pi * in_a).sum())
        busy_b = float((pi * np.minimum(in_b, self.secondary)).sum())
        lq_b = float((pi * np.maximum(in_b - self.secondary, 0)).sum())
        lam = self.arrival_rate
        # Little per zone: A's served rate is busy_a / mean, so the overflow rate is the rest
        overflow_rate = lam - busy_a / self.mean_service
        return OverflowFigures(
            blocking=overflow_rate / lam,
            utilisation_a=busy_a / self.primary,
            utilisation_b=busy_b / self.secondary,
            wq_b=lq_b / overflow_rate,
            wq=lq_b / lam,
        )

    def standard_errors(self, steps: int) -> dict[str, float]:
        """Standard errors of :meth:`figures` over ``steps`` steady-state steps, as
        :meth:`DiscreteMMc.standard_errors` (blocking through ``1 - busy_a / (λ mean)``)."""
        a_size = self.primary + 1
        in_a = np.repeat(np.arange(a_size), self.b_size).astype(float)
        in_b = np.tile(np.arange(self.b_size), a_size)
        f = self.figures()
        lam, pi, P = self.arrival_rate, self.stationary, self.transition
        busy_a = _standard_error(P, pi, in_a, steps)
        return {
            "blocking": busy_a / (lam * self.mean_service),
            "utilisation_a": busy_a / self.primary,
            "utilisation_b": _standard_error(
                P, pi, np.minimum(in_b, self.secondary).astype(float), steps
            )
            / self.secondary,
            "wq_b": _standard_error(
                P, pi, np.maximum(in_b - self.secondary, 0).astype(float), steps
            )
            / (lam * f.blocking),
        }


# -- helpers -------------------------------------------------------------------------------------
def _check_servers(servers: int) -> None:
    if isinstance(servers, bool) or not isinstance(servers, int) or servers < 1:
        raise ValueError(f"servers must be a positive integer, got {servers!r}")


def _poisson_pmf(rate: float) -> np.ndarray:
    """P(K = k) for k = 0.. until the remaining tail is below TAIL / 1000 (renormalised)."""
    probs = [math.exp(-rate)]
    total = probs[0]
    k = 0
    while 1 - total > TAIL / 1000 and k < 10_000:
        k += 1
        probs.append(probs[-1] * rate / k)
        total += probs[-1]
    out = np.array(probs)
    return out / out.sum()


def _binomial_pmf(n: int, p: float) -> np.ndarray:
    return np.array([math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n + 1)])


def _add_clipped(row: np.ndarray, start: int, probs: np.ndarray) -> None:
    """``row[start + j] += probs[j]``, with whatever falls past the end added to the last cell."""
    end = len(row) - 1
    inside = max(0, min(len(probs), end - start))
    row[start : start + inside] += probs[:inside]
    row[end] += probs[inside:].sum()


def _stationary(transition: np.ndarray) -> np.ndarray:
    """``π P = π``, ``Σ π = 1``, solved directly (one balance equation replaced by the sum)."""
    size = len(transition)
    system = transition.T - np.eye(size)
    system[-1, :] = 1.0
    rhs = np.zeros(size)
    rhs[-1] = 1.0
    pi = np.linalg.solve(system, rhs)
    pi = np.maximum(pi, 0.0)
    return pi / pi.sum()


def _standard_error(transition: np.ndarray, pi: np.ndarray, f: np.ndarray, steps: int) -> float:
    """Standard error of the time average of ``f(state)`` over ``steps`` steps of the chain."""
    centred = f - pi @ f
    size = len(pi)
    g = np.linalg.solve(np.eye(size) - transition + np.outer(np.ones(size), pi), centred)
    variance = float(2 * pi @ (centred * g) - pi @ (centred**2))
    return math.sqrt(max(variance, 0.0) / steps)
