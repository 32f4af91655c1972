"""Matting Anything workbench."""
