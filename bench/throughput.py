"""Questions per minute that one running Enclave answers: several people asking at once.

Each simulated person signs in through the login form and asks the demo questions one after the
other, reading every answer's stream to the end, as the page does. Run it against a server started
with the production settings (deploy/smoke.sh starts one; or `make run`):

    .venv/bin/python bench/throughput.py --url http://127.0.0.1:8000 --people 3 --questions 4

Prints a table: answers, wall time, answers per minute, and latency percentiles by verdict.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import statistics
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))
from smoke import ask_and_read, demo_password, sign_in

# Distinct questions, so the model's prompt cache cannot answer a repeat in a fraction of a second.
QUESTIONS = {
    "alice": [
        "How many days of annual leave do I get?",
        "What is the salary band for an E2 engineer?",
        "What is the hotel cap in London?",
        "How much is the daily meal allowance when travelling?",
        "Is alcohol reimbursed on expense claims?",
        "Within how many days must expense claims be submitted?",
        "Can unused annual leave be carried over?",
        "Does sick leave need a doctor's note?",
    ],
    "bob": [
        "未使用的年假可以结转吗？",
        "每年有多少天年假？",
        "病假需要医生证明吗？",
        "What is the salary band for an E3 engineer?",
        "How many days of sick leave need no note?",
        "What is the salary range for E1?",
        "年假最多可以结转几天？",
        "Who approves salary changes?",
    ],
    "charlie": [
        "When is the office closed?",
        "What are the salary bands for engineers?",  # refused: charlie may not see them
        "公司什么时候放假？",
        "Is the office open on Friday?",
        "What is the hotel cap in Paris?",  # refused
        "Where are company notices published?",
        "When does the office reopen after the holidays?",
        "How many days of annual leave do I get?",  # refused
    ],
}


def person(url: str, user: str, questions: list[str]) -> list[tuple[str, float]]:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    sign_in(opener, url, user, demo_password(user, None))
    return [ask_and_read(opener, url, question) for question in questions]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--people", type=int, default=3)
    parser.add_argument("--questions", type=int, default=4, help="questions each person asks, one after another")
    args = parser.parse_args()
    users = [list(QUESTIONS)[i % len(QUESTIONS)] for i in range(args.people)]
    started = time.monotonic()
    with ThreadPoolExecutor(args.people) as pool:
        futures = [pool.submit(person, args.url, user, QUESTIONS[user][: args.questions]) for user in users]
        results = [result for future in futures for result in future.result()]
    wall = time.monotonic() - started
    print("| people at once | answers | wall s | answers/min | p50 s | p95 s |\n|---|---|---|---|---|---|")
    seconds = sorted(s for _, s in results)
    p95 = seconds[min(len(seconds) - 1, round(0.95 * (len(seconds) - 1)))]
    print(
        f"| {args.people} | {len(results)} | {wall:.0f} | {60 * len(results) / wall:.1f} | "
        f"{statistics.median(seconds):.1f} | {p95:.1f} |"
    )
    for verdict in sorted({v for v, _ in results}):
        times = [s for v, s in results if v == verdict]
        print(f"  {verdict}: {len(times)} answers, median {statistics.median(times):.1f} s")


if __name__ == "__main__":
    main()
