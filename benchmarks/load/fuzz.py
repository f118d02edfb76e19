"""The `fuzz` scenario: schemathesis against the API through nginx, then hypothesis on the image decoder."""

import re
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings

from benchmarks.uploads import any_upload
from src.ml import ImageError, decode_image

from .stack import ADMIN_TOKEN, ONE_ADDRESS, Deployment, stack
from .traffic import Requests, warm_up


def scenario_fuzz(deployment: Deployment, requests: Requests, args) -> bool:
    print(
        f"\nFuzzing: schemathesis ({args.fuzz_examples} examples an operation and phase), "
        "then hypothesis on the decoder"
    )
    # Every request comes from 127.0.0.1: the fuzzer's thousands would otherwise meet the rate limit.
    with stack(deployment, 4, "fuzz", settings=ONE_ADDRESS) as running:
        warm_up(running, requests, args.clients)
        memory_before = running.worker_rss_mb()
        started = time.perf_counter()
        # No 5xx and no hang (a request timeout) is what this run judges; tests/api/test_fuzzing.py checks
        # the answers against the document. One schemathesis worker: with several threads, hypothesis's
        # parsing of its own lambdas trips over a CPython 3.11 ast race ("AST constructor recursion depth").
        fuzz = subprocess.run(
            [
                str(Path(sys.executable).with_name("schemathesis")),
                "run",
                f"http://127.0.0.1:{running.port}/api/openapi.json",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                str(args.fuzz_examples),
                "--request-timeout",
                "5",
                "--workers",
                "1",
                "--seed",
                "5",
                "--header",
                f"Authorization: Bearer {ADMIN_TOKEN}",
            ],
            cwd=deployment.folder,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        fuzz_seconds = time.perf_counter() - started
        memory_after = running.worker_rss_mb()
        server_errors = running.log_count("Exception on ")
    cases = re.search(r"(\d+) generated, (.*)", fuzz.stdout)
    print(
        f"  schemathesis: {cases[1] if cases else '?'} requests generated in {fuzz_seconds:.0f} s: "
        f"{cases[2].strip() if cases else 'no summary'}; exit {fuzz.returncode}"
    )
    print(f"  tracebacks in the service's log: {server_errors}")
    print(
        f"  worker memory (RSS, MB) before: {', '.join(f'{m:.0f}' for m in memory_before)}; "
        f"after: {', '.join(f'{m:.0f}' for m in memory_after)}"
    )
    if fuzz.returncode != 0:
        print(fuzz.stdout[-6000:])
    decoder_ok = fuzz_decoder(args.decoder_examples)
    grown = max(memory_after) - max(memory_before)
    return fuzz.returncode == 0 and server_errors == 0 and decoder_ok and grown < 100


def fuzz_decoder(examples: int) -> bool:
    """Hypothesis on decode_image in this process: only ImageError or a grey image, and the peak
    memory it needs."""
    max_pixels = 4_000_000
    outcomes = {"decoded": 0, "ImageError": 0}
    failures = []
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(any_upload)
    def decode(data: bytes) -> None:
        try:
            grey = decode_image(data, max_pixels=max_pixels)
        except ImageError:
            outcomes["ImageError"] += 1
            return
        except Exception as error:
            failures.append(f"{type(error).__name__}: {error}")
            return
        assert grey.dtype == np.uint8 and grey.ndim == 2 and grey.size <= max_pixels
        outcomes["decoded"] += 1

    with warnings.catch_warnings():
        # Pillow warns about the damage it reads past before it gives up.
        warnings.filterwarnings("ignore", category=UserWarning, module="PIL")
        decode()
    peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"  hypothesis on decode_image: {sum(outcomes.values()) + len(failures)} inputs in "
        f"{time.perf_counter() - started:.0f} s: {outcomes['decoded']} decoded, {outcomes['ImageError']} ImageError, "
        f"{len(failures)} other exceptions {failures[:3]}; peak memory of this process {peak_before:.0f} -> "
        f"{peak_after:.0f} MB"
    )
    return not failures
