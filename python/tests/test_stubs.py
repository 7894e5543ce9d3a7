"""The type stubs (mcrx/__init__.pyi) name what the module has, and the
module has nothing public the stubs forget."""

import ast
import inspect
from pathlib import Path

import mcrx

STUB = Path(mcrx.__file__).with_name("__init__.pyi")


def stub_classes():
    tree = ast.parse(STUB.read_text())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            out[node.name] = {n.name for n in node.body
                              if isinstance(n, ast.FunctionDef) and n.name != "__init__"}
    return out


def test_stub_classes_and_members_exist():
    for name, members in stub_classes().items():
        cls = getattr(mcrx, name)
        for m in members:
            assert hasattr(cls, m), f"{name}.{m} is in the stub but not in the module"


def test_runtime_members_are_in_the_stub():
    stubs = stub_classes()
    for name in ("Context", "Subscription", "Packet", "ReceiveMetadata"):
        runtime = {m for m, _ in inspect.getmembers(getattr(mcrx, name))
                   if not m.startswith("_")}
        assert runtime <= stubs[name], f"{name}: {runtime - stubs[name]} missing in the stub"


def test_docstrings():
    for name in ("Context", "Subscription", "Packet", "ReceiveMetadata"):
        cls = getattr(mcrx, name)
        assert cls.__doc__
        for m, v in inspect.getmembers(cls):
            if not m.startswith("_"):
                assert getattr(v, "__doc__", None), f"{name}.{m} has no docstring"


def test_error_stubs_name_every_class():
    from mcrx import errors
    tree = ast.parse(STUB.with_name("errors.pyi").read_text())
    stub = {n.name: [ast.unparse(b) for b in n.bases] for n in tree.body
            if isinstance(n, ast.ClassDef)}
    runtime = {n: getattr(errors, n) for n in errors.__all__ if isinstance(getattr(errors, n), type)}
    assert set(stub) == set(runtime)
    for name, cls in runtime.items():
        assert stub[name] == [b.__name__ for b in cls.__bases__], name
