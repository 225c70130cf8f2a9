"""The named estimators a study spec can call, with parameters read from their signatures.

An estimator is a function ``f(df, study, *, fast=False, <params>) -> {value name: number}``
registered with :func:`register`. Its spec parameters are the keyword-only parameters after
``fast``, read with :func:`inspect.signature` (as :func:`plmresearch.models.multilevel` checks
its engines' keywords): a parameter without a default is required in the spec, one with a
default is optional. ``register`` adds only what a signature cannot say: which parameters
name dataset columns (checked against the dataset when a spec loads) and which values the
estimator returns (checked against the spec's targets).

Estimators live in :mod:`plmresearch.reproduce.estimators` (generic ones) and in one module
per study under :mod:`plmresearch.reproduce.studies`; :func:`all_estimators` imports them all.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from plmresearch.errors import SpecError
from plmresearch.validation import closest

_REGISTRY: dict[str, StudyEstimator] = {}
_LEADING = ("df", "study")


@dataclass(frozen=True)
class StudyEstimator:
    """A registered estimator: its function and what a spec may give and ask of it."""

    name: str
    func: Callable[..., dict[str, float]]
    params: dict[str, Any]
    """Spec parameters in signature order; the default, or :data:`REQUIRED` when there is none."""
    column_params: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    module: str = ""
    doc: str = field(default="", compare=False)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(p for p, d in self.params.items() if d is REQUIRED)


REQUIRED: Any = inspect.Parameter.empty


def _spec_params(name: str, func: Callable) -> dict[str, Any]:
    sig = inspect.signature(func)
    params = list(sig.parameters.values())
    leading = [p.name for p in params[:2]]
    if leading != list(_LEADING) or any(p.kind is p.KEYWORD_ONLY for p in params[:2]):
        raise TypeError(f"estimator '{name}': the signature must start with (df, study, *, fast=False, ...), got {sig}.")
    rest = params[2:]
    if not rest or rest[0].name != "fast" or rest[0].kind is not rest[0].KEYWORD_ONLY:
        raise TypeError(f"estimator '{name}': the first keyword-only parameter must be `fast`, got {sig}.")
    out = {}
    for p in rest[1:]:
        if p.kind is not p.KEYWORD_ONLY:
            raise TypeError(f"estimator '{name}': spec parameter '{p.name}' must be keyword-only (after `*`), got {sig}.")
        out[p.name] = p.default
    return out


def register(name: str | None = None, *, columns: tuple[str, ...] = (), values: tuple[str, ...] = ()):
    """Register ``func`` as the estimator ``name`` (default: the function's name).

    Parameters
    ----------
    name : the name spec files use (``estimator: <name>``).
    columns : spec parameters whose value is a dataset column or a list of columns.
    values : the keys of the returned mapping that targets may pick; empty when they vary
        with the parameters (e.g. one per model term), and then any value name is accepted.
    """

    def deco(func):
        key = name or func.__name__
        params = _spec_params(key, func)
        unknown = [c for c in columns if c not in params]
        if unknown:
            raise TypeError(f"estimator '{key}': columns {unknown} are not parameters of {func.__qualname__}.")
        old = _REGISTRY.get(key)
        if old is not None and (old.module, old.func.__qualname__) != (func.__module__, func.__qualname__):
            raise TypeError(f"estimator '{key}' is registered twice ({_REGISTRY[key].module} and {func.__module__}).")
        _REGISTRY[key] = StudyEstimator(key, func, params, tuple(columns), tuple(values), func.__module__,
                                        inspect.getdoc(func) or "")
        return func

    return deco


_loaded = False


def _load() -> None:
    """Import the generic estimators and every study module (each registers its own)."""
    global _loaded
    if _loaded:
        return
    importlib.import_module("plmresearch.reproduce.estimators")  # registers on import
    studies = importlib.import_module("plmresearch.reproduce.studies")
    for mod in pkgutil.iter_modules(studies.__path__):
        importlib.import_module(f"{studies.__name__}.{mod.name}")
    _loaded = True


def all_estimators() -> dict[str, StudyEstimator]:
    """Every registered estimator, by name."""
    _load()
    return dict(_REGISTRY)


def get_estimator(name: str) -> StudyEstimator:
    """The estimator ``name``; an unknown name suggests the closest known one."""
    known = all_estimators()
    if name not in known:
        raise SpecError(f"Unknown estimator '{name}'.{closest(name, known)} Known: {sorted(known)}.")
    return known[name]
