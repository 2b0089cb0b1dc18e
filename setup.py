"""The one packaging fact pyproject.toml cannot state: the built-in widgets live in ``plugins/``
and install as ``layoutserver.plugins``, a name no other distribution can take.

``[tool.setuptools.packages.find]`` names a package after its directory and does not see one
mapped elsewhere with ``[tool.setuptools.package-dir]``; so the package list is computed here,
beside the mapping. Everything else is in pyproject.toml.
"""

from setuptools import find_namespace_packages, setup

setup(
    packages=[
        *find_namespace_packages(include=["layoutserver", "layoutserver.*"]),
        *(f"layoutserver.{name}"
          for name in find_namespace_packages(include=["plugins", "plugins.*"])),
    ],
    package_dir={"layoutserver.plugins": "plugins"},
)
