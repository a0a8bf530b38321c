"""cspctl: an operations console for Apache CloudStack system VMs."""

__version__ = "0.1.0"
