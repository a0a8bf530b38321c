"""The lab is written independently of the client: nothing in cspctl/lab imports the
client's signing/parsing code (cspctl.cloudstack), so a bug cannot hide on both sides."""

from __future__ import annotations

import ast
from pathlib import Path

import httpx

from cspctl.lab import Lab

LAB = Path(__file__).resolve().parents[1] / "cspctl" / "lab"


def test_no_lab_module_imports_the_client() -> None:
    offenders = []
    for path in sorted(LAB.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names
                          if n == "cspctl.cloudstack" or n.startswith("cspctl.cloudstack.")]
    assert offenders == []


async def test_error_text_echoing_input_is_a_safe_header() -> None:
    async with Lab("seed", time_scale=0.01) as lab:
        from test_lab_api import signed

        async with httpx.AsyncClient() as client:
            resp = await client.get(lab.url, params=signed(lab, "rebootSystemVm",
                                                           id="é\r\nX-Evil: 1"))
        assert resp.status_code == 431
        assert "X-Evil" not in resp.headers
        assert "\n" not in resp.headers["X-Description"]
        assert "é\r\nX-Evil: 1" in resp.json()["rebootsystemvmresponse"]["errortext"]
