"""Compatibility alias: ``capabilities.model`` moved to :mod:`capabilities.core.model`.

Kept only because ``arena/sweep.py`` still imports ``capabilities.model.import_dotted``; the
arena switches to ``capabilities.import_dotted`` and this module is then deleted.
"""

from capabilities.core.model import Capability, Field, import_dotted

__all__ = ["Capability", "Field", "import_dotted"]
