"""python3 -m mcrx: version and compiled backends (the receiver demo is
python3 -m mcrx.recv)."""
import mcrx

print(f"mcrx {mcrx.__version__} (library {mcrx.LIB_VERSION}); backends: "
      f"{', '.join(mcrx.backends())}; receiver demo: python3 -m mcrx.recv --help")
