"""The tests' scratch folder (NLM_TEST_SCRATCH, else /tmp/nlm-python-tests)."""
import os
import pathlib

SCRATCH = pathlib.Path(os.environ.get("NLM_TEST_SCRATCH", "/tmp/nlm-python-tests"))


def scratch(name):
    """A path in the scratch folder, with nothing there yet."""
    SCRATCH.mkdir(parents=True, exist_ok=True)
    p = SCRATCH / name
    if p.exists():
        p.unlink()
    return str(p)
