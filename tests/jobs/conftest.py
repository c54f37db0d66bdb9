from tests.jobs.handlers import runs_table  # noqa: F401
