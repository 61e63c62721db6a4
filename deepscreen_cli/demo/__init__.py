"""The built-in demo behind `deepscreen demo` (the README's `make demo`).

No downloads and no shared data: :mod:`deepscreen_cli.demo.clip` films two public-domain portraits
shipped in ``engine/assets`` (Grace Hopper's US Navy portrait and NASA's astronaut portrait
from scikit-image, stored as JPEG so that nothing but OpenCV is needed to read it) with a slow
pan and zoom, and adds a face-swapped version of each made by :mod:`deepscreen_cli.demo.face_swap`
(landmark-aligned similarity warp, feathered elliptical mask, Lab colour transfer, alpha
blend). :mod:`deepscreen_cli.demo.run` screens that clip with the streaming engine and scores every
segment against its ground truth.

It sits beside the command line, not in ``engine/``: the runtime screens video, and a clip
builder with its own face swapper is no part of that. It uses only what the runtime installs
(numpy, OpenCV and the engine), so `make demo` still needs nothing else.
"""
