"""Ship the checkout's top-level templates/, static/ and migrations/ inside the wheel.

Everything else is in setup.cfg. A built wheel carries copies of the three folders
in learnspace/_shipped/<name>/, where learnspace.config.resource_dir finds them;
an editable install gets no copies and serves straight from the checkout.
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = ("templates", "static", "migrations")  # the same as learnspace.config.SHIPPED
HERE = Path(__file__).resolve().parent


class BuildPyWithShipped(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib, "learnspace", "_shipped")
        shutil.rmtree(target, ignore_errors=True)  # nothing stale from an earlier build in build/
        for name in SHIPPED:
            shutil.copytree(HERE / name, target / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.py[co]", ".*"))


setup(cmdclass={"build_py": BuildPyWithShipped})
