#!/usr/bin/env python3
"""Checks, in double precision, the Winograd matrices of Sources/CZooDNNL/zoo_plan_kernels.c.

F(4x4, 3x3) and F(2x2, 5x5) share the interpolation points 0, 1, -1, 2, -2 and infinity, and so
the input transform B^T. G's row for point p is f_p * (1, p, p^2, ...) (the infinity row picks the
last tap); A^T's row i is (p^i for each point, then 1 only in the last row). For random inputs,
the 1-D output A^T [(G g) * (B^T d)] must equal the direct correlation sum_k d[i + k] g[k].
Prints the largest error of each and exits 1 if one is above 1e-12.

    python3 Tools/winograd_matrices.py
"""
import random
import sys

BT = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
      [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]
POINTS = [0, 1, -1, 2, -2]
SCALES = [1 / 4, -1 / 6, -1 / 6, 1 / 24, 1 / 24]


def g_matrix(r):
    rows = [[f * p ** k for k in range(r)] for p, f in zip(POINTS, SCALES)]
    return rows + [[0] * (r - 1) + [1]]


def at_matrix(m):
    return [[p ** i for p in POINTS] + [1 if i == m - 1 else 0] for i in range(m)]


def apply(matrix, vector):
    return [sum(a * b for a, b in zip(row, vector)) for row in matrix]


worst_all = 0.0
rng = random.Random(0)
for m, r in [(4, 3), (2, 5)]:
    worst = 0.0
    for _ in range(1000):
        d = [rng.gauss(0, 1) for _ in range(6)]
        g = [rng.gauss(0, 1) for _ in range(r)]
        product = [a * b for a, b in zip(apply(g_matrix(r), g), apply(BT, d))]
        y = apply(at_matrix(m), product)
        direct = [sum(d[i + k] * g[k] for k in range(r)) for i in range(m)]
        worst = max(worst, max(abs(a - b) for a, b in zip(y, direct)))
    print(f"F({m}, {r}): largest error {worst:.2e}")
    worst_all = max(worst_all, worst)
sys.exit(0 if worst_all < 1e-12 else 1)
