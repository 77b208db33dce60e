"""The one compiled module: animation frames mapped to a palette (imgproxy/pipeline/_palette.c).
Everything else about the package is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "imgproxy.pipeline._palette",
            ["imgproxy/pipeline/_palette.c"],
            extra_compile_args=["-O3"],
        )
    ]
)
