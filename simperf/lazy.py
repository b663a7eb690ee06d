"""Package attributes imported on first use (PEP 562), so that importing a package is cheap.

``import simperf`` used to load pandas, scipy and the database model (about 1 s) before
anything was asked of it; a package that re-exports its modules' names lists them here
instead, and each module is imported when one of its names is first read. A module
that needs a library only on some calls (scipy's root finders, special functions)
names it with :func:`lazy_module`, so that a run which never calls them never loads it.
"""

from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType
from typing import Any


def lazy_exports(package: str, exports: dict[str, list[str]]) -> None:
    """Make ``package`` re-export its modules' names, each imported on first use.

    Parameters
    ----------
    package
        The package's ``__name__`` (called from its ``__init__.py``).
    exports
        Module -> the names it gives the package.

    Notes
    -----
    A name shared with a subpackage (``simperf.estimate``, the function and the package)
    stays the name: importing the subpackage does not rebind it, as an eager
    ``from simperf.estimate import estimate`` in ``__init__.py`` would have ensured.
    """
    module = sys.modules[package]
    where = {name: source for source, names in exports.items() for name in names}

    class LazyPackage(ModuleType):
        def __getattr__(self, name: str) -> Any:
            source = where.get(name)
            if source is None:
                raise AttributeError(f"module {package!r} has no attribute {name!r}")
            value = getattr(import_module(source), name)
            self.__dict__[name] = value  # imported once: a plain attribute from now on
            return value

        def __setattr__(self, name: str, value: Any) -> None:
            if name in where and isinstance(value, ModuleType):
                return  # the subpackage, bound by its import: the exported name wins
            super().__setattr__(name, value)

        def __dir__(self) -> list[str]:
            return sorted(set(self.__dict__) | set(where))

    module.__class__ = LazyPackage


def lazy_module(name: str) -> ModuleType:
    """Module ``name``, imported when one of its attributes is first read.

    Parameters
    ----------
    name
        The module's full name (``"scipy.optimize"``).

    Returns
    -------
    ModuleType
        The module itself if it is already imported, else a stand-in whose attributes
        are the module's (each read once through the import, then a plain attribute).

    Examples
    --------
    >>> special = lazy_module("scipy.special")  # imported at the first attribute read
    >>> round(float(special.gammaln(5.0)), 6)
    3.178054
    """
    loaded = sys.modules.get(name)
    if loaded is not None:
        return loaded

    class LazyModule(ModuleType):
        def __getattr__(self, attribute: str) -> Any:
            value = getattr(import_module(name), attribute)
            self.__dict__[attribute] = value  # imported once: a plain attribute from now on
            return value

    return LazyModule(name)
