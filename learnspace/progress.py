"""Progress bars for long CLI work."""
from __future__ import annotations


class ProgressBar:
    """A tqdm bar driven by the ``progress(done, total)`` callback that long operations accept."""

    def __init__(self, desc: str, unit: str):
        from tqdm import tqdm

        self.bar = tqdm(desc=desc, unit=unit, dynamic_ncols=True)

    def __call__(self, done: int, total: int | None) -> None:
        self.bar.total = total
        self.bar.n = done
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()
