"""A program that must touch nothing outside its directory (the example under test).

    python3 tidy.py DIR [--buggy]

Removes DIR's *.tmp files and writes DIR/tidy.log listing them.  ``--buggy``
also "tidies" the parent directory: the mistake the test must catch.
"""

from __future__ import annotations

import glob
import os
import sys


def main() -> None:
    directory = os.path.abspath(sys.argv[1])
    patterns = [f"{directory}/*.tmp"]
    if "--buggy" in sys.argv:
        patterns.append(f"{directory}/../*.tmp")
    removed = []
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):
            os.unlink(path)
            removed.append(os.path.basename(path))
    with open(f"{directory}/tidy.log", "w") as log:
        log.write("\n".join(removed) + "\n")


if __name__ == "__main__":
    main()
