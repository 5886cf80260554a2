"""Runs one test module of the Python package under unittest; exit 77
(skipped) when numpy or torch, which it needs, is not installed.

    /usr/bin/python3 run.py MODULE [needs...]"""

import importlib
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
module, needs = sys.argv[1], sys.argv[2:]
for n in needs:
    try:
        importlib.import_module(n)
    except ImportError as e:
        print(f"skipped: {n} is not installed ({e})")
        sys.exit(77)
suite = unittest.defaultTestLoader.loadTestsFromName(module)
result = unittest.TextTestRunner(verbosity=2).run(suite)
if not result.wasSuccessful():
    sys.exit(1)
if result.testsRun and len(result.skipped) == result.testsRun:
    sys.exit(77)
