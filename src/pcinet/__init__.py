"""pcinet: a control plane for PCI pass-through networking."""

__version__ = "0.1.0"
