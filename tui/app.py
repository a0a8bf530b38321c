"""The cspctl console (placeholder until the console issue lands)."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    print("cspctl console: not built yet")
    return 0
