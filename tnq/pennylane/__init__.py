"""tnq inside PennyLane: the ``tnq.qubit`` device.

Installed with ``pip install "tnq[pennylane]"``; PennyLane finds the device
through the ``pennylane.plugins`` entry point, so ``qml.device("tnq.qubit",
wires=...)`` works once both are installed. See docs/pennylane.md.
"""

from .device import TnqDevice

__all__ = ["TnqDevice"]
