import os

# Two CPU devices for the JAX backend's data-parallel tests. XLA reads this when JAX first starts,
# so it is set here, before any test runs (and by .ci/run).
if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2").strip()

from hypothesis import HealthCheck, Phase, settings  # noqa: E402

settings.register_profile(
    "default",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    # no "explain" phase: tracing a failing example can take minutes
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci" if os.environ.get("CI") else "default")


import subprocess  # noqa: E402
import sys  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture
def derivkit_cli():
    """Run ``python -m derivkit ARGS`` in a fresh process: ``run(*args, input=None, env=None)``."""

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None, timeout: float = 120):
        full_env = {**os.environ, **(env or {})}
        return subprocess.run([sys.executable, "-m", "derivkit", *args], input=input, capture_output=True,
                              text=True, env=full_env, timeout=timeout)

    return run
