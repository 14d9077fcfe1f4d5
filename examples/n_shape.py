"""A DAG that is not series-parallel (the "N": a->c, a->d, b->d) with known task durations.

Nested Parallel states alone would make c wait for b or d wait for all of a's branch; the compiler
adds a join so each task starts as soon as its own dependencies are done.
"""

import time

from orchestration import Param, Workflow

n_shape = Workflow("n_shape", params={"scale": Param(float, default=0.02, description="Seconds per unit of work")})


def work(ctx, units):
    time.sleep(units * ctx.params.scale)
    return {"task": ctx.task, "units": units}


@n_shape.task
def fetch_orders(ctx):
    return work(ctx, 1)


@n_shape.task
def fetch_customers(ctx):
    return work(ctx, 3)


@n_shape.task
def order_stats(ctx, fetch_orders):
    return work(ctx, 4)


@n_shape.task
def join_customers(ctx, fetch_orders, fetch_customers):
    return work(ctx, 1)


@n_shape.task
def report(order_stats, join_customers):
    return {"done": [order_stats["task"], join_customers["task"]]}
