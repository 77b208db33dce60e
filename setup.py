"""The compiled modules: animation frames mapped to a palette (imgproxy/pipeline/_palette.c),
GIF frames packed with LZW (imgproxy/pipeline/_gifpack.c) and colour weighted by alpha
(imgproxy/pipeline/_alpha.c). Everything else about the package is in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            f"imgproxy.pipeline.{name}", [f"imgproxy/pipeline/{name}.c"], extra_compile_args=["-O3"]
        )
        for name in ("_palette", "_gifpack", "_alpha")
    ]
)
