"""imgproxy: an on-the-fly image CDN proxy speaking Imagizer's query-parameter API."""

__version__ = "0.1.0"
