"""Session journal, redaction and exporters."""

from cspctl.sessionlog.journal import Journal, state_dir
from cspctl.sessionlog.redact import MASK, Scrubber, redact_params

__all__ = ["MASK", "Journal", "Scrubber", "redact_params", "state_dir"]
