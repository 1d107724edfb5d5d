"""One argon2id hash with 1Auth's parameters (19 MiB, t=2, p=1) in the C
reference implementation (argon2-cffi), median of 30 on one idle core: the
"one OWASP hash" the sign-in flow target of issue 10 was written against.
Prints one JSON line."""
import json
import statistics
import time

from argon2.low_level import Type, hash_secret_raw

times = []
for _ in range(30):
    start = time.perf_counter()
    hash_secret_raw(b"correct horse battery staple", b"0123456789abcdef", time_cost=2,
                    memory_cost=19456, parallelism=1, hash_len=32, type=Type.ID)
    times.append(time.perf_counter() - start)
print(json.dumps({"reference_hash_ms": round(statistics.median(times) * 1000, 2)}))
