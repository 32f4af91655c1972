"""Fixtures of the teaching tests: every test's figures are closed after it."""
import matplotlib.pyplot as plt
import pytest


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")
