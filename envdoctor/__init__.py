"""envdoctor tells whether a saved Keras/TensorFlow model loads in a Python environment.

Reads a saved model's own metadata and an environment's installed distributions without
importing TensorFlow, Keras, JAX or torch, and without executing anything in the model file.
"""

from __future__ import annotations

__version__ = "0.1.0"
