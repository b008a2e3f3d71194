"""Numba kernels: plain functions over arrays, named <op>_forward / <op>_backward.

Kernels know nothing of layers. Their compilation options come from ``_jit.py`` alone.
"""
