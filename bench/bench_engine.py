"""Benchmark (c): conversation engine steps per second, in process, on one core.

Drives whole conversations (consent, every question answered by text or by choice, the
thank-you) through ``surveys.core.engine.step`` and reports steps/s. No database, no I/O.

    ./dev bench bench_engine [--conversations N]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

from surveys.core.catalogue import default_catalogue
from surveys.core.engine import Inbound, Survey, begin, step
from surveys.core.vocabulary import AUDIENCES


def one_conversation(survey: Survey, audience: str) -> int:
    """Answer every question of one conversation; return the number of steps taken."""
    res = begin(survey, audience=audience)
    res = step(survey, res.state, Inbound(choice="yes"))
    steps = 1
    while res.state.stage == "question":
        prompt = res.replies[-1]
        inbound = (
            Inbound(choice=prompt.choices[0][0], question_id=prompt.question_id)
            if prompt.choices
            else Inbound(text="they should listen to us more")
        )
        res = step(survey, res.state, inbound, withdrawal_code="ABCD-EFGH")
        steps += 1
    return steps


def main() -> None:
    """Run the benchmark and print a Markdown row."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cat = default_catalogue()
    survey = Survey("Bench", AUDIENCES, cat.priority_keys, cat)
    one_conversation(survey, "child")  # warm caches
    rates = []
    for _ in range(args.repeats):
        steps = 0
        t0 = time.perf_counter()
        for i in range(args.conversations):
            steps += one_conversation(survey, AUDIENCES[i % len(AUDIENCES)])
        rates.append(steps / (time.perf_counter() - t0))
    print(
        f"python {platform.python_version()}; {args.conversations} conversations x "
        f"{args.repeats} repeats over all 11 priorities"
    )
    print(
        f"engine steps/s: median {statistics.median(rates):,.0f} "
        f"(min {min(rates):,.0f}, max {max(rates):,.0f})"
    )


if __name__ == "__main__":
    main()
