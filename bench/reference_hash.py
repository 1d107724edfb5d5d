"""One argon2id hash with 1Auth's parameters (19 MiB, t=2, p=1) in the C
reference implementation (argon2-cffi): the "one OWASP hash" the sign-in
flow target of issue 10 was written against. Measures the median of 30 on
one idle core, and the rate at which the reference hashes when every core
hashes at once (one process per core: cores share caches and memory
bandwidth, so this rate, not cores ÷ one hash, is what the reference itself
reaches on this machine). Prints one JSON line."""
import json
import os
import statistics
import time
from multiprocessing import Pool

from argon2.low_level import Type, hash_secret_raw


def one_hash(_=None):
    start = time.perf_counter()
    hash_secret_raw(b"correct horse battery staple", b"0123456789abcdef", time_cost=2,
                    memory_cost=19456, parallelism=1, hash_len=32, type=Type.ID)
    return time.perf_counter() - start


def main():
    times = [one_hash() for _ in range(30)]
    cores = os.cpu_count() or 1
    rounds = 40 * cores
    with Pool(cores) as pool:
        pool.map(one_hash, range(2 * cores))  # warm every worker
        start = time.perf_counter()
        pool.map(one_hash, range(rounds), chunksize=1)
        elapsed = time.perf_counter() - start
    print(json.dumps({
        "reference_hash_ms": round(statistics.median(times) * 1000, 2),
        "reference_all_cores_per_s": round(rounds / elapsed, 1),
    }))


if __name__ == "__main__":
    main()
