"""Advisor evaluation: chaos incidents with a known root cause, asked to the advisor.

    python benchmarks/advisor_eval.py [--only NAME] [--workdir DIR]

Builds one clean baseline lake, then for each incident in `shared.advisor.incidents` a copy
of it broken in one known way; asks the advisor (offline unless LAKEHOUSE_LLM says
otherwise) about the incident's run or question, and prints per incident the expected and
given root-cause category, the confidence, whether every cited piece of evidence exists in
the lake or the contracts, and the time taken; then the accuracy.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.advisor.evaluation import evaluate  # noqa: E402
from shared.advisor.incidents import INCIDENTS  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run only incidents whose name contains this")
    parser.add_argument("--workdir", help="keep the lakes here (default: a temporary folder)")
    args = parser.parse_args()
    incidents = [i for i in INCIDENTS if not args.only or args.only in i.name]
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="advisor-eval-"))
    started = time.perf_counter()
    results = evaluate(incidents, workdir, progress=lambda r: print(r.line(), flush=True))
    correct = sum(r.correct for r in results)
    grounded = sum(r.grounded for r in results)
    print(
        f"\naccuracy {correct}/{len(results)} = {correct / len(results):.1%}; "
        f"answers citing only existing evidence {grounded}/{len(results)}; "
        f"{time.perf_counter() - started:.0f} s in {workdir}"
    )
    return 0 if correct / len(results) >= 0.9 and grounded == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
