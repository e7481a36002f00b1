"""One exception hierarchy for the whole project.

Every error a user can cause names what is at fault (the capability, the field, the file) and,
where there is one, the fix. Catch :class:`PacketFlowError` to handle all of them.
"""

from __future__ import annotations

from typing import Any


class PacketFlowError(Exception):
    """Root of every error raised on purpose by PacketFlow Arena."""

    def __reduce__(self) -> tuple[Any, ...]:
        # Errors cross process boundaries (sweep workers, Dask). Exception's own pickling calls
        # ``cls(*args)``, i.e. ``cls(message)``, which breaks every subclass whose __init__ takes
        # other arguments; rebuild from the message and the attributes instead.
        return (_rebuild_error, (type(self), self.args, self.__dict__))


def _rebuild_error(cls: type[BaseException], args: tuple, state: dict) -> BaseException:
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class CapabilityNotFound(PacketFlowError, KeyError):
    """A capability was asked for by a name the registry does not hold."""

    def __init__(self, name: str, known: list[str] | None = None):
        self.name = name
        hint = ""
        if known:
            import difflib

            close = difflib.get_close_matches(name, known, n=3)
            if close:
                hint = f"; did you mean {', '.join(repr(c) for c in close)}?"
        super().__init__(f"no capability named {name!r} is registered{hint}")

    def __str__(self) -> str:  # KeyError would quote the message otherwise
        return self.args[0]


class RegistrationError(PacketFlowError):
    """A capability could not be declared: bad signature, duplicate name, bad data."""


class ContractError(PacketFlowError):
    """Inputs or outputs do not match a capability's declared contract.

    ``capability`` and ``field`` say exactly where: the message reads
    ``capability 'x': field 'y': <what is wrong>``.
    """

    def __init__(self, capability: str, field: str | None, problem: str):
        self.capability = capability
        self.field = field
        self.problem = problem
        where = f"capability {capability!r}"
        if field is not None:
            where += f": field {field!r}"
        super().__init__(f"{where}: {problem}")


class PermissionDenied(PacketFlowError):
    """The caller's context lacks a permission the capability needs."""

    def __init__(self, capability: str, permission: str, principal: str | None = None):
        self.capability = capability
        self.permission = permission
        self.principal = principal
        who = f"principal {principal!r}" if principal else "the caller"
        super().__init__(
            f"capability {capability!r}: {who} lacks permission {permission!r}; "
            f"grant {permission!r} (or a permission that implies it) in the Context"
        )


class CircuitOpen(PacketFlowError):
    """A circuit breaker is open: calls are refused until its reset timeout passes."""

    def __init__(self, capability: str, retry_after: float):
        self.capability = capability
        self.retry_after = retry_after
        super().__init__(
            f"capability {capability!r}: circuit breaker is open; retry in {retry_after:.3g}s"
        )


class ExecutionTimeout(PacketFlowError):
    """A capability ran longer than its policy allows."""

    def __init__(self, capability: str, seconds: float):
        self.capability = capability
        self.seconds = seconds
        super().__init__(f"capability {capability!r}: timed out after {seconds:.3g}s")


class EmbeddingError(PacketFlowError):
    """The embedding model could not be loaded or used."""


class WorkflowError(ContractError):
    """A workflow definition breaks a contract; found when the workflow is built, not run.

    ``capability`` is the workflow, ``field`` the data field at fault, ``step`` the step's
    label and ``path`` where it sits in the definition (e.g. ``steps[1].then[0]``).
    """

    def __init__(
        self, workflow: str, field: str | None, problem: str, *, step: str | None, path: str
    ):
        self.step = step
        self.path = path
        self.detail = problem
        where = f"{path} (step {step!r})" if step else path
        super().__init__(workflow, field, f"{where}: {problem}" if where else problem)


class StepFailed(PacketFlowError):
    """A workflow step failed at run time; ``cause`` is the step's own error."""

    def __init__(self, workflow: str, step: str, cause: BaseException | None):
        self.workflow = workflow
        self.step = step
        self.cause = cause
        super().__init__(f"workflow {workflow!r}: step {step!r} failed: {cause}")


class CompositionError(PacketFlowError):
    """No chain of capabilities produces what was asked for.

    ``unreachable`` maps each output that cannot be produced to the inputs that are missing
    for it (fields no capability provides and the caller did not supply).
    """

    def __init__(self, unreachable: dict[str, tuple[str, ...]], detail: str):
        self.unreachable = unreachable
        super().__init__(detail)
