# Entry point of a case run (see caserun.py). Kept to one line: micropython compiles
# the main script in RAM, and a small heap should not pay for that.
import caserun  # noqa: F401
