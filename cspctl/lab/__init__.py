"""The embedded lab: a simulated CloudStack (management server API, KVM hosts and system VMs
over real SSH) reproducing real incidents. Entry point: :class:`Lab` (runner.py)."""

from cspctl.lab.clock import LabClock
from cspctl.lab.faults import Faults
from cspctl.lab.runner import Lab
from cspctl.lab.scenarios import SCENARIOS, build_world, scenario_names
from cspctl.lab.world import LabHost, LabSystemVm, World

__all__ = ["SCENARIOS", "Faults", "Lab", "LabClock", "LabHost", "LabSystemVm", "World",
           "build_world", "scenario_names"]
