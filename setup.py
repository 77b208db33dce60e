"""The compiled modules: animation frames mapped to a palette (imgproxy/pipeline/_palette.c),
GIF frames packed with LZW (imgproxy/pipeline/_gifpack.c), GIFs decoded
(imgproxy/pipeline/_gifload.c), colour weighted by alpha (imgproxy/pipeline/_alpha.c), the tonal
block through 16-bit CIELAB (imgproxy/pipeline/_labs.c) and rows shrunk by Lanczos 3
(imgproxy/pipeline/_reduce.c). Everything else about the package is in pyproject.toml."""

from setuptools import Extension, setup

# Neither errno nor floating-point traps are read, so square roots compile to the processor's
# own instruction and both sides of a choice between two computed values can be vectorised.
COMPILE_ARGS = ["-O3", "-fno-math-errno", "-fno-trapping-math"]

setup(
    ext_modules=[
        Extension(
            f"imgproxy.pipeline.{name}",
            [f"imgproxy/pipeline/{name}.c"],
            extra_compile_args=COMPILE_ARGS,
        )
        for name in ("_palette", "_gifpack", "_gifload", "_alpha", "_labs", "_reduce")
    ]
)
