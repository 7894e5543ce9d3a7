"""Exceptions of the mcrx package: one class per library status.

Every failure the C library reports as a status becomes an instance of a
subclass of :class:`Error`, carrying ``status`` (the negative code),
``status_name`` (``"MCRX_E_PORT_ZERO"``) and the library's message.

Groups, each also a subclass of the built-in exception Python code expects:

* :class:`InvalidConfig` (``ValueError``): a rule of the configuration was
  broken (``PortZero``, ``GroupNotMulticast``, ..., ``Duplicate``,
  ``BadAddress``, ``UnknownInterface``).
* :class:`NotFound` (``LookupError``), :class:`NotJoined`,
  :class:`AlreadyJoined`, :class:`OwnedByContext`: object state.
* :class:`InvalidSocket` (``ValueError``): a caller's socket of the wrong
  family, type or port.
* :class:`OsError` (``OSError``, with ``errno`` and ``strerror``): the
  operating system refused (socket, join, receive, ...).
  :class:`BackendUnavailable` is one of them.

Bad Python arguments (wrong type, out-of-range numbers) raise plain
``TypeError`` / ``ValueError`` before the library is called.
"""

from __future__ import annotations

import os as _os

from . import _mcrx

__all__ = [
    "Error", "InvalidArgument", "InvalidConfig", "BadOption", "NotFound",
    "NotJoined", "AlreadyJoined", "OwnedByContext", "InvalidSocket", "OsError",
    "FamilyMismatch", "Interrupted", "WrongThread",
    "ConcurrentUseError", "ClosedError", "error_for_status",
]


class Error(Exception):
    """Base class of every mcrx exception."""

    #: the library's status code (negative), 0 for Python-level errors
    status: int = 0
    #: the status's symbol, e.g. ``"MCRX_E_NOT_JOINED"``
    status_name: str = ""


class InvalidArgument(Error, ValueError):
    """MCRX_E_INVALID_ARG: an argument the library cannot use."""


class InvalidConfig(Error, ValueError):
    """A subscription configuration broke a validation rule."""


class FamilyMismatch(InvalidConfig):
    """The SSM source or the interface is of another family than the group
    (SourceFamilyMismatch, InterfaceFamilyMismatch)."""


class Interrupted(Error, InterruptedError):
    """MCRX_E_INTERRUPTED: a signal interrupted a wait. Context.wait() itself
    retries after running the signal handlers (PEP 475), so this is seen
    only when a handler does not raise and the library reports it elsewhere."""


class WrongThread(Error):
    """MCRX_E_WRONG_THREAD: an io_uring Context created with coalesce_us is
    bound to the thread that created it; this call came from another."""


class BadOption(Error, ValueError):
    """MCRX_E_BAD_OPTION: a Context option out of range."""


class NotFound(Error, LookupError):
    """MCRX_E_NOT_FOUND: no subscription with that id (removed or taken)."""


class NotJoined(Error):
    """MCRX_E_NOT_JOINED: leave or receive on a subscription that is not joined."""


class AlreadyJoined(Error):
    """MCRX_E_ALREADY_JOINED: join on a joined subscription."""


class OwnedByContext(Error):
    """MCRX_E_OWNED_BY_CONTEXT: needs a subscription taken out of its context."""


class InvalidSocket(Error, ValueError):
    """A caller-provided socket is unusable (wrong family/type, wrong port)."""


class OsError(Error, OSError):
    """The operating system refused; ``errno`` holds its error (0 if unknown)."""


class ConcurrentUseError(Error, RuntimeError):
    """A second thread called into a Context (or one of its subscriptions)
    while another thread was inside the library. Contexts are not
    thread-safe; nothing was done."""


class ClosedError(Error, ValueError):
    """The Context or Subscription was closed."""


# status -> (class name, parent). Every status of include/mcrx/mcrx.h.
_STATUSES = {
    -1: ("InvalidArgument", None),
    -2: ("PortZero", InvalidConfig),
    -3: ("GroupNotMulticast", InvalidConfig),
    -4: ("SourceMulticast", InvalidConfig),
    -5: ("SourceUnspecified", InvalidConfig),
    -6: ("SourceBroadcast", InvalidConfig),
    -7: ("SourceFamilyMismatch", FamilyMismatch),
    -8: ("SsmGroupV4Range", InvalidConfig),
    -9: ("AsmOnSsmGroup", InvalidConfig),
    -10: ("SsmGroupV6Range", InvalidConfig),
    -11: ("InterfaceIndexZero", InvalidConfig),
    -12: ("InterfaceIndexV4", InvalidConfig),
    -13: ("Duplicate", InvalidConfig),
    -14: ("BadAddress", InvalidConfig),
    -15: ("UnknownInterface", InvalidConfig),
    -16: ("BadOption", None),
    -17: ("FamilyUnspec", InvalidConfig),
    -18: ("InterfaceFamilyMismatch", FamilyMismatch),
    -19: ("V6SsmNeedsInterface", InvalidConfig),  # macOS: IPv6 SSM without an interface
    -20: ("NotFound", None),
    -21: ("NotJoined", None),
    -22: ("AlreadyJoined", None),
    -23: ("OwnedByContext", None),
    -24: ("Interrupted", None),
    -25: ("WrongThread", None),  # io_uring + coalesce_us: the creating thread only
    -30: ("SocketCreateError", OsError),
    -31: ("SocketOptionError", OsError),
    -32: ("SocketBindError", OsError),
    -33: ("LocalAddrError", OsError),
    -34: ("SocketFamily", InvalidSocket),
    -35: ("SocketPort", InvalidSocket),
    -36: ("JoinError", OsError),
    -37: ("LeaveError", OsError),
    -40: ("RecvError", OsError),
    -41: ("WaitError", OsError),
    -42: ("NoMemory", OsError),
    -43: ("BackendUnavailable", OsError),
    -60: ("MetricsDisabled", Error),
    -61: ("MetricsWrongThread", Error),
}

_BY_STATUS: dict[int, type[Error]] = {}
for _st, (_name, _parent) in _STATUSES.items():
    _cls = globals().get(_name)
    if _cls is None:
        _doc = f"{_mcrx.status_name(_st)}: {_mcrx.strerror(_st)}."
        _cls = type(_name, (_parent,), {"__doc__": _doc, "__module__": __name__})
        globals()[_name] = _cls
        __all__.append(_name)
    _cls.status = _st
    _cls.status_name = _mcrx.status_name(_st)
    _BY_STATUS[_st] = _cls
del _st, _name, _parent, _cls


def error_for_status(status: int, os_errno: int = 0) -> Error:
    """The exception instance the library's ``status`` maps to (not raised).

    The message is the library's (``mcrx_strerror``) followed by the status
    symbol; OS errors add the OS message and carry ``errno``.
    """
    cls = _BY_STATUS.get(status, Error)
    msg = f"{_mcrx.strerror(status)} ({_mcrx.status_name(status)})"
    if issubclass(cls, OSError):
        if os_errno:
            exc = cls(os_errno, f"{msg}: {_os.strerror(os_errno)}")
        else:
            exc = cls(msg)
    else:
        exc = cls(msg)
    exc.status = status
    exc.status_name = _mcrx.status_name(status)
    return exc
